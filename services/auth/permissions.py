"""Roles and what they allow: the single check both the API and the UI call."""

from __future__ import annotations

from enum import StrEnum

from models.user import Role
from services import errors


class Permission(StrEnum):
    VIEW = "view"                      # read workflows, runs, analytics
    EDIT_WORKFLOWS = "edit_workflows"  # create, edit and run workflows
    USE_AI = "use_ai"                  # call AI providers directly (generate, analyze): it spends money
    SEND_NOTIFICATIONS = "send_notifications"  # send notifications, manage templates
    MANAGE_USERS = "manage_users"      # list users, change roles, deactivate
    ADMINISTER = "administer"          # cache, services, settings


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.EDITOR: frozenset({Permission.VIEW, Permission.EDIT_WORKFLOWS, Permission.USE_AI,
                              Permission.SEND_NOTIFICATIONS}),
    Role.ADMIN: frozenset(Permission),
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


def require(role: Role, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless ``role`` carries ``permission``."""
    if not allows(role, permission):
        raise errors.PermissionDenied(
            f"Your role ({role.value}) does not allow this; ask an admin for access.",
            details={"required": permission.value},
        )
