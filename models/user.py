"""Users and their roles."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr
from sqlalchemy import CheckConstraint, Column, String
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Role(StrEnum):
    """What a user may do; see ``services.auth.permissions`` for the table."""

    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class User(SQLModel, table=True):
    """A person who signs in. ``email`` is stored lower-cased, so uniqueness ignores case."""

    __tablename__ = "users"
    # The service lower-cases emails; the database refuses any that slipped through otherwise.
    __table_args__ = (CheckConstraint("email = lower(email)", name="ck_users_email_lowercase"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(sa_column=Column(String(320), unique=True, nullable=False, index=True))
    full_name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=255)
    role: Role = Field(default=Role.VIEWER, sa_column=Column(
        SAEnum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]), nullable=False))
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserCreate(SQLModel):
    """What registration takes."""

    model_config = {"extra": "forbid"}

    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=1, max_length=256)
    full_name: str = Field(default="", max_length=200)


class UserUpdate(SQLModel):
    """What an admin may change about another user."""

    model_config = {"extra": "forbid"}

    role: Role | None = None
    is_active: bool | None = None
    full_name: str | None = Field(default=None, max_length=200)


class UserPublic(SQLModel):
    """A user as the API and UI show it: never the password hash."""

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UsersPublic(SQLModel):
    data: list[UserPublic]
    count: int
