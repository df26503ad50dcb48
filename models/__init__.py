"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from models.ai_usage import AIUsage
from models.analytics import AnalyticsEvent, EventType
from models.audit import AuditLog
from models.document import Document, DocumentSource, DocumentStatus, DocumentVersion
from models.notification import (
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
    NotificationTemplate,
    Priority,
)
from models.refresh_token import RefreshToken
from models.run import Run, RunStatus, Step, StepStatus, Trigger
from models.trigger import RunFinishedTrigger, Schedule, WebhookTrigger
from models.user import Role, User
from models.workflow import Workflow, WorkflowStatus, WorkflowVersion

__all__ = ["AIUsage", "AnalyticsEvent", "AuditLog", "Delivery", "DeliveryStatus", "Document", "DocumentSource",
           "DocumentStatus", "DocumentVersion",
           "EventType", "Notification", "NotificationPreference", "NotificationTemplate", "Priority", "RefreshToken",
           "Role", "Run", "RunFinishedTrigger", "RunStatus", "Schedule", "Step", "StepStatus", "Trigger", "User",
           "WebhookTrigger", "Workflow", "WorkflowStatus", "WorkflowVersion"]
