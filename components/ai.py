"""AI pieces: a labelled control, the sentiment gauge, keyword chips, and the streamed answer box."""

from __future__ import annotations

import reflex as rx

from components.documents import safe_markdown

# Ctrl+Enter (Cmd+Enter on a Mac) submits the form around a textarea; plain Enter adds a line.
CTRL_ENTER_SUBMITS = rx.Var(
    "((e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) "
    "{ e.preventDefault(); e.currentTarget.form?.requestSubmit(); } })"
)


def labelled(label: str, control: rx.Component, *, html_for: str = "",
             hint: rx.Component | None = None) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=html_for) if html_for
        else rx.text(label, size="2", weight="medium"),
        control,
        hint if hint is not None else rx.fragment(),
        spacing="1", width="100%", align="start",
    )


def hint_text(text: rx.Var[str] | str) -> rx.Component:
    return rx.text(text, size="1", color=rx.color("gray", 10))


def sentiment_gauge(label: rx.Var[str], score: rx.Var[float], marker: rx.Var[str],
                    score_text: rx.Var[str]) -> rx.Component:
    """A bar from negative (-1) to positive (+1) with a marker at the score, and the label as a badge."""
    color = rx.match(label, ("positive", "green"), ("negative", "red"), "gray")
    return rx.vstack(
        rx.hstack(rx.text("Sentiment", size="2", weight="medium"),
                  rx.badge(label, color_scheme=color, size="2", id="sentiment-label"),
                  rx.text(score_text, size="2", color=rx.color("gray", 11)), align="center", spacing="2"),
        rx.box(
            rx.box(position="absolute", left=marker, top="-4px", width="4px", height="16px",
                   transform="translateX(-50%)", border_radius="2px", background=rx.color("gray", 12)),
            position="relative", height="8px", width="100%", border_radius="9999px",
            background="linear-gradient(90deg, var(--red-9), var(--gray-6), var(--green-9))",
            aria_label="Sentiment score", aria_valuemin=-1, aria_valuemax=1, aria_valuenow=score,
            custom_attrs={"role": "meter"},  # ARIA 1.2's role for a gauge; Reflex's role list predates it
        ),
        rx.hstack(hint_text("negative"), rx.spacer(), hint_text("neutral"), rx.spacer(), hint_text("positive"),
                  width="100%"),
        spacing="2", width="100%",
    )


def keyword_chips(keywords: rx.Var[list[str]]) -> rx.Component:
    return rx.flex(
        rx.foreach(keywords, lambda keyword: rx.badge(keyword, variant="soft", size="2", role="listitem")),
        wrap="wrap", gap="2", role="list", aria_label="Keywords", width="100%",
    )


def answer_box(text: rx.Var[str], busy: rx.Var[bool], empty: str) -> rx.Component:
    """The streamed answer, rendered as Markdown (raw HTML stays text), or as written under "Markdown"."""
    return rx.box(
        rx.cond(
            text != "",
            rx.tabs.root(
                rx.tabs.list(rx.tabs.trigger("Preview", value="preview"), rx.tabs.trigger("Markdown", value="raw"),
                             size="1"),
                rx.tabs.content(safe_markdown(text), value="preview", padding_top="8px"),
                rx.tabs.content(rx.text(text, white_space="pre-wrap", font_family="var(--code-font-family)",
                                        size="2"), value="raw", padding_top="8px"),
                default_value="preview", width="100%"),
            rx.cond(busy, rx.hstack(rx.spinner(size="2"), hint_text("Waiting for the first words…"), align="center"),
                    hint_text(empty)),
        ),
        id="ai-output", role="region", aria_label="Answer", aria_busy=busy, width="100%", min_height="160px",
        max_height="520px", overflow_y="auto", padding="12px", border_radius="var(--radius-3)",
        border=f"1px solid {rx.color('gray', 6)}", background=rx.color("gray", 2),
    )
