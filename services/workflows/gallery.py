"""The template gallery: ready-made document workflows a user starts from, each a graph that validates.

Templates are plain data (name, description, tags, graph) so the list page can show them and
``create_from_template`` turns one into a new draft through the ordinary ``service.create``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.user import User
from models.workflow import Workflow, WorkflowCreate
from services import errors
from services.workflows import service as workflows


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    icon: str
    tags: tuple[str, ...]
    graph: dict[str, Any] = field(default_factory=dict)


def _node(node_id: str, node_type: str, x: float, y: float, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config, "position": {"x": x, "y": y}}


def _edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"source": source, "target": target}
    if handle is not None:
        edge["source_handle"] = handle
    return edge


def _chain(*node_ids: str) -> list[dict[str, Any]]:
    return [_edge(a, b) for a, b in itertools.pairwise(node_ids)]


BLOG_POST = Template(
    key="blog-post", name="Blog post from outline", icon="file-pen-line", tags=("content", "ai"),
    description="Turns a topic and an outline into a drafted, polished blog post saved as a document.",
    graph={"nodes": [
        _node("brief", "input", 0, 80, fields=["topic", "outline"], optional_fields=["audience"]),
        _node("draft", "ai_generate", 280, 80, system="You are a clear, friendly technical writer.",
              prompt="Write a blog post about {{ brief.topic }} following this outline:\n{{ brief.outline }}\n"
                     "Audience: {{ brief.audience | default('general readers') }}."),
        _node("polish", "ai_generate", 560, 80, temperature=0.3,
              prompt="Edit this draft for clarity and a strong opening; keep its structure.\n\n{{ draft.content }}"),
        _node("post", "output", 840, 80, format="markdown", title="{{ brief.topic }}"),
    ], "edges": _chain("brief", "draft", "polish", "post")},
)

REPORT_EMAIL = Template(
    key="report-summary-email", name="Summarise and email a report", icon="mail", tags=("reports", "email"),
    description="Summarises a pasted report, keeps the summary as a document and emails it to a recipient.",
    graph={"nodes": [
        _node("report", "input", 0, 80, fields=["content", "recipient"]),
        _node("summary", "ai_analyze", 280, 80, analyses=["summary", "keywords"]),
        _node("email_body", "template", 560, 80,
              template="Summary of the report\n\n{{ summary.content }}\n\nKey phrases: {{ summary.keywords }}"),
        _node("send", "notify", 840, 0, channel="email", to="{{ report.recipient }}",
              subject="Report summary", message="{{ email_body.content }}"),
        _node("saved", "output", 840, 160, format="text", title="Report summary"),
    ], "edges": [*_chain("report", "summary", "email_body", "send"), _edge("email_body", "saved")]},
)

SUPPORT_ROUTING = Template(
    key="support-ticket-routing", name="Classify and route support tickets", icon="git-branch",
    tags=("support", "routing"),
    description="Reads a ticket's tone: unhappy customers are escalated at once, the rest get a drafted reply.",
    graph={"nodes": [
        _node("ticket", "input", 0, 120, fields=["content", "customer"]),
        _node("classify", "ai_analyze", 260, 120, analyses=["sentiment", "keywords"]),
        _node("is_upset", "condition", 520, 120, expression='classify.sentiment.label == "negative"'),
        _node("escalate", "notify", 800, 0, channel="in_app", subject="Escalated ticket from {{ ticket.customer }}",
              priority="high", message="{{ ticket.content }}"),
        _node("reply", "ai_generate", 800, 240, temperature=0.4,
              prompt="Draft a helpful, brief reply to {{ ticket.customer }} about:\n{{ ticket.content }}"),
        _node("reply_doc", "output", 1080, 240, format="markdown", title="Reply to {{ ticket.customer }}"),
    ], "edges": [*_chain("ticket", "classify", "is_upset"), _edge("is_upset", "escalate", "true"),
                 _edge("is_upset", "reply", "false"), _edge("reply", "reply_doc")]},
)

TRANSLATE_REVIEW = Template(
    key="translate-review", name="Translate and review with approval", icon="languages",
    tags=("translation", "approval"),
    description="Translates a document, waits for a reviewer's approval, then publishes the translation.",
    graph={"nodes": [
        _node("source", "input", 0, 80, fields=["content", "language"]),
        _node("translate", "ai_generate", 280, 80, temperature=0.2,
              system="You are a professional translator. Keep formatting and tone.",
              prompt="Translate into {{ source.language }}:\n\n{{ source.content }}"),
        _node("review", "human_approval", 560, 80,
              instructions="Check the {{ source.language }} translation reads naturally before it is published."),
        _node("published", "output", 840, 80, format="markdown", title="Translation ({{ source.language }})",
              source="{{ translate.content }}"),
    ], "edges": _chain("source", "translate", "review", "published")},
)

WEEKLY_DIGEST = Template(
    key="weekly-digest", name="Weekly digest from webhook input", icon="newspaper", tags=("digest", "webhook"),
    description="Takes the week's items posted by a webhook, writes a digest and shares it with the team.",
    graph={"nodes": [
        _node("webhook", "input", 0, 80, fields=["content"], optional_fields=["week"]),
        _node("digest", "ai_generate", 280, 80,
              prompt="Write a short weekly digest ({{ webhook.week | default('this week') }}) with headings "
                     "from these items:\n\n{{ webhook.content }}"),
        _node("share", "notify", 560, 0, channel="in_app", subject="Weekly digest", message="{{ digest.content }}"),
        _node("archive", "output", 560, 160, format="markdown", title="Weekly digest"),
    ], "edges": [*_chain("webhook", "digest", "share"), _edge("digest", "archive")]},
)

TEMPLATES: tuple[Template, ...] = (BLOG_POST, REPORT_EMAIL, SUPPORT_ROUTING, TRANSLATE_REVIEW, WEEKLY_DIGEST)
_BY_KEY = {template.key: template for template in TEMPLATES}


def get_template(key: str) -> Template:
    template = _BY_KEY.get(key)
    if template is None:
        raise errors.NotFound(f"There is no workflow template {key!r}; choose one from the gallery.")
    return template


async def create_from_template(actor: User, key: str, *, session: AsyncSession, name: str = "") -> Workflow:
    """A new draft workflow whose version 1 is the template's graph."""
    template = get_template(key)
    data = WorkflowCreate(name=name.strip() or template.name, description=template.description,
                          tags=list(template.tags), graph=template.graph)
    return await workflows.create(actor, data, session=session)
