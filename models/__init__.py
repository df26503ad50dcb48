"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from models.audit import AuditLog
from models.refresh_token import RefreshToken
from models.user import Role, User

__all__ = ["AuditLog", "RefreshToken", "Role", "User"]
