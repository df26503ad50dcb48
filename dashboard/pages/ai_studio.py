"""/ai — AI Studio: write a prompt, stream the answer, analyse text, re-run or save what worked."""

from __future__ import annotations

import reflex as rx

from components.ai import CTRL_ENTER_SUBMITS, answer_box, hint_text, keyword_chips, labelled, sentiment_gauge
from components.forms import form_alert
from components.layout import protected_page
from state.ai_studio import ANALYSIS_CHOICES, AIStudioState, HistoryEntry, ProviderOption

S = AIStudioState
VIEWER_HINT = "Your role can look around AI Studio; editors and admins generate and analyse. Ask an admin for access."


def _provider_item(option: ProviderOption) -> rx.Component:
    return rx.select.item(rx.cond(option.configured, option.label, option.label + " (not configured)"),
                          value=option.name, disabled=~option.configured)


def _settings_card() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading("Settings", size="3", as_="h2"),
        labelled("Provider", rx.select.root(
            rx.select.trigger(aria_label="Provider", width="100%"),
            rx.select.content(rx.foreach(S.providers, _provider_item)),
            value=S.provider, on_change=S.set_provider, disabled=S.generating,
        ), hint=rx.cond(S.unconfigured_note != "", hint_text(S.unconfigured_note))),
        rx.cond(S.provider_is_offline,
                hint_text("Builtin works offline: it digests the prompt's own text instead of writing new prose.")),
        labelled("Model", rx.select.root(
            rx.select.trigger(aria_label="Model", width="100%"),
            rx.select.content(rx.foreach(S.models, lambda model: rx.select.item(model, value=model))),
            value=S.model, on_change=S.set_model, disabled=S.generating,
        )),
        labelled("System prompt", rx.text_area(id="system", value=S.system, on_change=S.set_system, rows="3",
                                               placeholder="You are a concise technical writer.", width="100%"),
                 html_for="system"),
        labelled("Temperature", rx.hstack(
            rx.slider(value=[S.temperature], min=0, max=2, step=0.1, on_change=S.set_temperature.throttle(100),
                      aria_label="Temperature", width="100%"),
            rx.text(S.temperature, size="2", min_width="32px", text_align="right"),
            align="center", width="100%")),
        labelled("Max tokens", rx.input(id="max_tokens", type="number", min=1, max=32000, value=S.max_tokens,
                                        on_change=S.set_max_tokens, width="100%"), html_for="max_tokens"),
        spacing="4", width="100%",
    ), width="100%")


def _variable_input(name: rx.Var[str]) -> rx.Component:
    return rx.hstack(
        rx.code(name, min_width="96px"),
        rx.input(value=S.variable_values.get(name, ""), on_change=lambda value: S.set_variable(name, value),
                 aria_label="Value for " + name, placeholder="Value", width="100%"),
        align="center", width="100%",
    )


def _prompt_form() -> rx.Component:
    return rx.form(rx.vstack(
        labelled("Prompt", rx.text_area(
            id="prompt", name="prompt", value=S.prompt, on_change=S.set_prompt, rows="8", width="100%",
            placeholder="Write a launch note about {{ topic }} for the team.",
            custom_attrs={"on_key_down": CTRL_ENTER_SUBMITS},
        ), html_for="prompt", hint=hint_text("Write {{ name }} for a variable. Ctrl+Enter generates.")),
        rx.cond(S.variable_names.length() > 0,
                rx.vstack(rx.text("Variables", size="2", weight="medium"),
                          rx.foreach(S.variable_names, _variable_input), spacing="2", width="100%")),
        form_alert(S.generate_error),
        form_alert(S.notice, color="green", icon="circle-check"),
        rx.hstack(
            rx.button(rx.icon("sparkles", size=16), "Generate", type="submit", loading=S.generating,
                      disabled=~S.can_use_ai),
            rx.cond(S.generating, rx.button(rx.icon("square", size=14), "Stop", type="button", variant="soft",
                                            color_scheme="red", on_click=S.stop)),
            rx.spacer(),
            rx.button(rx.icon("workflow", size=16), "Save as workflow node", type="button", variant="soft",
                      on_click=S.save_as_workflow, disabled=~S.can_use_ai | S.generating),
            width="100%", align="center", wrap="wrap",
        ),
        spacing="3", width="100%",
    ), on_submit=S.generate, width="100%")


def _answer_card() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading("Answer", size="3", as_="h2"),
        answer_box(S.output, S.generating, "Nothing generated yet. Write a prompt and press Generate."),
        rx.cond(S.output_note != "", rx.text(S.output_note, size="2", color=rx.color("amber", 11), role="status")),
        rx.cond(S.answer_usage != "", rx.text(S.answer_usage, id="ai-usage", size="1", color=rx.color("gray", 11))),
        spacing="3", width="100%",
    ), width="100%")


def _history_row(entry: HistoryEntry) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry.at, white_space="nowrap"),
        rx.table.cell(rx.badge(entry.provider, variant="soft")),
        rx.table.cell(rx.text(entry.prompt, size="2", max_width="150px", overflow="hidden",
                              text_overflow="ellipsis", white_space="nowrap")),
        rx.table.cell(rx.text(entry.first_line, size="2", max_width="170px", overflow="hidden",
                              text_overflow="ellipsis", white_space="nowrap")),
        rx.table.cell(rx.hstack(
            rx.button("Re-run", size="1", variant="soft", on_click=S.rerun(entry.id),
                      disabled=S.generating | ~S.can_use_ai),
            rx.button("Copy", size="1", variant="ghost", on_click=[rx.set_clipboard(entry.output), S.show_copied]),
            spacing="2")),
        align="center",
    )


def _history() -> rx.Component:
    return rx.vstack(
        rx.heading("History", size="3", as_="h2"),
        rx.cond(
            S.history.length() > 0,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("When (UTC)", "Provider", "Prompt", "Answer begins", "")])),
                rx.table.body(rx.foreach(S.history, _history_row)),
                variant="surface", width="100%",
            ),
            hint_text("Your generations in this tab are listed here, to re-run or copy."),
        ),
        spacing="2", width="100%", role="region", aria_label="Generation history",
    )


def _generate_tab() -> rx.Component:
    return rx.grid(
        rx.vstack(rx.card(_prompt_form(), width="100%"), _answer_card(), _history(), spacing="4", width="100%",
                  grid_column=rx.breakpoints(initial="auto", md="span 2")),
        _settings_card(),
        columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%", align_items="start",
    )


def _kind_checkbox(kind: str) -> rx.Component:
    return rx.checkbox(kind.capitalize(), checked=S.analyze_kinds.contains(kind),
                       on_change=lambda checked: S.toggle_kind(kind, checked), disabled=~S.can_use_ai)


def _analysis_results() -> rx.Component:
    return rx.cond(
        S.analyzed,
        rx.vstack(
            rx.cond(S.sentiment_label != "",
                    sentiment_gauge(S.sentiment_label, S.sentiment_score, S.sentiment_marker, S.sentiment_score_text)),
            rx.cond(S.keywords.length() > 0,
                    rx.vstack(rx.text("Keywords", size="2", weight="medium"), keyword_chips(S.keywords), width="100%")),
            rx.cond(S.summary != "",
                    rx.vstack(rx.text("Summary", size="2", weight="medium"),
                              rx.text(S.summary, size="2", id="analysis-summary"), width="100%")),
            spacing="4", width="100%",
        ),
        hint_text("Results appear here: the tone as a gauge, the key phrases, and a short summary."),
    )


def _analyze_tab() -> rx.Component:
    return rx.grid(
        rx.card(rx.form(rx.vstack(
            labelled("Text to analyse", rx.text_area(
                id="analyze_text", name="analyze_text", value=S.analyze_text, on_change=S.set_analyze_text, rows="10",
                width="100%", placeholder="Paste a review, an email or a report…",
                custom_attrs={"on_key_down": CTRL_ENTER_SUBMITS},
            ), html_for="analyze_text"),
            rx.hstack(*[_kind_checkbox(kind) for kind in ANALYSIS_CHOICES], spacing="4", wrap="wrap"),
            form_alert(S.analyze_error),
            rx.hstack(rx.button(rx.icon("scan-text", size=16), "Analyze", type="submit", loading=S.analyzing,
                                disabled=~S.can_use_ai),
                      hint_text("Runs offline with the builtin provider."), align="center", spacing="3"),
            spacing="3", width="100%",
        ), on_submit=S.analyze, width="100%"), width="100%"),
        rx.card(rx.vstack(rx.heading("Results", size="3", as_="h2"), _analysis_results(), spacing="3", width="100%"),
                width="100%"),
        columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%", align_items="start",
    )


@protected_page(route="/ai", title="AI Studio", on_load=[S.load])
def ai_studio() -> rx.Component:
    return rx.vstack(
        rx.cond(~S.can_use_ai, rx.callout(VIEWER_HINT, icon="info", width="100%")),
        rx.tabs.root(
            rx.tabs.list(rx.tabs.trigger("Generate", value="generate"), rx.tabs.trigger("Analyze", value="analyze")),
            rx.tabs.content(_generate_tab(), value="generate", padding_top="16px"),
            rx.tabs.content(_analyze_tab(), value="analyze", padding_top="16px"),
            default_value="generate", width="100%",
        ),
        spacing="4", width="100%",
    )
