"""Send a notification about the run through the notification service (linked to this run and node)."""

from __future__ import annotations

import uuid

from pydantic import Field

from models.notification import Priority
from models.run import Run
from services import errors
from services.db import open_session
from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType


class NotifyConfig(NodeConfig):
    channel: str = Field(default="in_app", max_length=30, description="in_app, email, slack, webhook, ...")
    to: str = Field(default="", max_length=500, description="Recipient (template); default: the run's owner.")
    subject: str = Field(default="", max_length=500, description="Subject (template).")
    message: str = Field(default="{{ params }}", description="Body (template).")
    priority: str = Field(default="normal", pattern="^(low|normal|high|urgent)$")
    category: str = Field(default="workflow", min_length=1, max_length=50)


class NotifyNode(NodeType[NotifyConfig]):
    type_name = "notify"
    display_name = "Notify"
    description = "Sends a message on a notification channel; the delivery is linked to this run and node."
    category = "Integrations"
    icon = "bell"
    config_model = NotifyConfig
    template_fields = ("to", "subject", "message")

    async def run(self, config: NotifyConfig, ctx: NodeContext) -> NodeOutput:
        from services.notifications import service as notifications
        from services.notifications.schemas import SendContext, SendRequest

        message, to, subject = ctx.render(config.message), ctx.render(config.to), ctx.render(config.subject)
        try:
            run_id: uuid.UUID | None = uuid.UUID(ctx.run_id)
        except ValueError:
            run_id = None
        async with open_session() as session:
            run = await session.get(Run, run_id) if run_id else None
            context = SendContext(run_id=run_id, node_id=ctx.node_id,
                                  default_user_id=run.created_by if run is not None else None)
            # Rendered text is sent as is: escape Jinja so the service does not render it a second time.
            request = SendRequest(channel=config.channel, recipient=to, subject=_literal(subject),
                                  message=_literal(message), priority=Priority(config.priority),
                                  category=config.category, idempotency_key=f"run:{ctx.run_id}:{ctx.node_id}")
            try:
                result = await notifications.send(None, request, session=session, context=context)
            except errors.ValidationFailed as exc:
                raise errors.ExecutionFailed(f"the notification was refused: {exc.message}") from exc
        ctx.log.add(f"{config.channel} notification to {to or 'the run starter'}: {result.status.value}")
        return NodeOutput(content=message, metadata={"notification_id": str(result.notification_id),
                                                     "delivery_status": result.status.value},
                          fields={"channel": config.channel, "to": to, "subject": subject,
                                  "priority": config.priority, "notification_id": str(result.notification_id)})


def _literal(text: str) -> str:
    return "{% raw %}" + text.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}") + "{% endraw %}" \
        if "{" in text or "%" in text else text
