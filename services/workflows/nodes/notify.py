"""Send a notification about the run. Until the notification service lands it records, not sends."""

from __future__ import annotations

from pydantic import Field

from services.workflows.nodes.base import NodeConfig, NodeContext, NodeOutput, NodeType

NOT_SENT_NOTE = ("notification service not available yet: the message was rendered and recorded in this step's "
                 "output, but not sent")


class NotifyConfig(NodeConfig):
    channel: str = Field(default="in_app", max_length=30, description="in_app, email, slack, webhook, ...")
    to: str = Field(default="", max_length=500, description="Recipient (template); default: the run's owner.")
    subject: str = Field(default="", max_length=500, description="Subject (template).")
    message: str = Field(default="{{ params }}", description="Body (template).")
    priority: str = Field(default="normal", pattern="^(low|normal|high|urgent)$")


class NotifyNode(NodeType[NotifyConfig]):
    type_name = "notify"
    display_name = "Notify"
    description = "Sends a message on a notification channel (recorded only until notifications are available)."
    category = "Integrations"
    icon = "bell"
    config_model = NotifyConfig
    template_fields = ("to", "subject", "message")

    async def run(self, config: NotifyConfig, ctx: NodeContext) -> NodeOutput:
        message = ctx.render(config.message)
        return NodeOutput(content=message, metadata={"delivered": False, "note": NOT_SENT_NOTE},
                          fields={"channel": config.channel, "to": ctx.render(config.to),
                                  "subject": ctx.render(config.subject), "priority": config.priority})
