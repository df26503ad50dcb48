"""The notification center's settings tabs: the template editor with its live preview, and preferences."""

from __future__ import annotations

import reflex as rx

from components.ai import hint_text, labelled
from components.forms import form_alert
from models.notification import ANY
from state.notification_preferences import CHANNEL_NAMES, TIMEZONES, PreferencesState
from state.notification_templates import TemplateRow, TemplatesState

T = TemplatesState
P = PreferencesState
_CHANNEL_NAMES = rx.Var.create(CHANNEL_NAMES)


def _field_error(name: str) -> rx.Component:
    message = T.template_field_errors.get(name, "")
    return rx.cond(message != "", rx.text(message, size="1", color=rx.color("red", 11), role="alert",
                                          id=f"template-{name}-error"))


def _template_button(row: TemplateRow) -> rx.Component:
    chosen = T.selected == row.name
    return rx.button(
        rx.vstack(rx.text(row.name, weight="medium", size="2"),
                  rx.text(row.channel, " · v", row.version, " · ", row.saved, size="1", color=rx.color("gray", 10)),
                  spacing="0", align="start"),
        variant=rx.cond(chosen, "soft", "ghost"), width="100%", justify="start", height="auto", padding_y="8px",
        on_click=T.select_template(row.name), aria_pressed=chosen,
    )


def _template_list() -> rx.Component:
    return rx.card(rx.vstack(
        rx.hstack(rx.heading("Templates", size="3", as_="h2"), rx.spacer(),
                  rx.button(rx.icon("plus", size=14), "New", size="1", variant="soft", on_click=T.new_template),
                  width="100%", align="center"),
        rx.cond(T.template_rows.length() > 0,
                rx.vstack(rx.foreach(T.template_rows, _template_button), spacing="1", width="100%"),
                hint_text("No templates yet. Write one on the right and save it.")),
        spacing="3", width="100%",
    ), width="100%")


def _template_form() -> rx.Component:
    return rx.card(rx.vstack(
        rx.cond(T.editing_existing,
                rx.heading(T.selected, " · version ", T.version, size="3", as_="h2"),
                labelled("Name", rx.input(id="template_name", value=T.name, on_change=T.set_name,
                                          placeholder="run-finished", width="100%"), html_for="template_name",
                         hint=_field_error("name"))),
        labelled("Channel", rx.select.root(
            rx.select.trigger(aria_label="Template channel", width="100%"),
            rx.select.content(rx.foreach(T.channel_names, lambda c: rx.select.item(c, value=c))),
            value=T.channel, on_change=T.set_channel)),
        labelled("Subject", rx.input(id="template_subject", value=T.subject, on_change=T.set_subject,
                                     debounce_timeout=250, placeholder="{{ workflow }} finished", width="100%"),
                 html_for="template_subject", hint=_field_error("subject")),
        labelled("Body", rx.text_area(id="template_body", value=T.body, on_change=T.set_body, debounce_timeout=250,
                                      rows="8", width="100%", placeholder="Hello {{ name }}, your run finished."),
                 html_for="template_body", hint=_field_error("body")),
        labelled("Sample variables (JSON)", rx.text_area(
            id="template_samples", value=T.sample_json, on_change=T.set_sample_json, debounce_timeout=250, rows="4",
            width="100%", font_family="var(--code-font-family)"), html_for="template_samples",
            hint=_field_error("sample_variables")),
        form_alert(T.template_error),
        form_alert(T.template_notice, color="green", icon="circle-check"),
        rx.hstack(rx.button(rx.icon("save", size=14), "Save template", on_click=T.save),
                  hint_text("Saving a change adds a version; sends name the newest unless they pin one."),
                  align="center", spacing="3", wrap="wrap"),
        spacing="3", width="100%",
    ), width="100%")


def _preview() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading("Preview", size="3", as_="h2"),
        hint_text("Rendered with the sample variables as you type."),
        rx.cond(T.preview_error != "",
                rx.callout(T.preview_error, icon="circle-alert", color_scheme="amber", size="1", width="100%")),
        rx.box(
            rx.cond(T.body != "",
                    rx.vstack(rx.text(T.preview_subject, weight="bold", size="2", id="preview-subject"),
                              rx.text(T.preview_body, size="2", white_space="pre-wrap", id="preview-body"),
                              spacing="2", width="100%"),
                    hint_text("Write a body to see it rendered.")),
            role="region", aria_label="Template preview", width="100%", padding="12px",
            border=f"1px solid {rx.color('gray', 6)}", border_radius="var(--radius-3)", background=rx.color("gray", 2),
        ),
        spacing="2", width="100%",
    ), width="100%")


def templates_tab() -> rx.Component:
    return rx.grid(
        _template_list(),
        rx.vstack(_template_form(), _preview(), spacing="4", width="100%",
                  grid_column=rx.breakpoints(initial="auto", md="span 2")),
        columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%", align_items="start",
    )


def _pref_cell(category: rx.Var[str], channel: rx.Var[str]) -> rx.Component:
    return rx.table.cell(rx.checkbox(
        checked=P.cells[category + "|" + channel],  # every cell has a key (the state fills the grid)
        on_change=lambda on: P.toggle_cell(category, channel, on),
        aria_label=rx.cond(category == ANY, "All categories", category) + " on " + _CHANNEL_NAMES[channel]))


def _pref_row(category: rx.Var[str]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.cond(category == ANY, rx.text("All categories", weight="medium"),
                                         rx.text(category))),
        rx.foreach(P.pref_channels, lambda channel: _pref_cell(category, channel)),
    )


def _quiet_hours() -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.hstack(rx.switch(checked=P.quiet_enabled, on_change=P.set_quiet_enabled),
                                rx.text("Quiet hours", size="2", weight="medium"), align="center", spacing="2")),
        hint_text("Hold everything but urgent notifications until the quiet hours end."),
        rx.cond(P.quiet_enabled, rx.hstack(
            labelled("From", rx.input(id="quiet_start", type="time", value=P.quiet_start,
                                      on_change=P.set_quiet_start), html_for="quiet_start"),
            labelled("Until", rx.input(id="quiet_end", type="time", value=P.quiet_end, on_change=P.set_quiet_end),
                     html_for="quiet_end"),
            labelled("Time zone", rx.select.root(
                rx.select.trigger(aria_label="Time zone", min_width="220px"),
                rx.select.content(*[rx.select.item(zone, value=zone) for zone in TIMEZONES]),
                value=P.quiet_timezone, on_change=P.set_quiet_timezone)),
            spacing="3", align="end", wrap="wrap")),
        spacing="2", width="100%",
    )


def _digest_switch(channel: rx.Var[str]) -> rx.Component:
    return rx.el.label(rx.hstack(
        rx.switch(checked=P.digest_channels[channel], on_change=lambda on: P.toggle_digest(channel, on),
                  aria_label="Digest on " + _CHANNEL_NAMES[channel]),
        rx.text(_CHANNEL_NAMES[channel], size="2"), align="center", spacing="2"))


def _digest() -> rx.Component:
    return rx.vstack(
        rx.text("Digest", size="2", weight="medium"),
        hint_text("On a channel in digest mode, low-priority notifications are held and arrive together as one "
                  "message per period. Normal, high and urgent ones still arrive at once."),
        rx.hstack(rx.foreach(P.pref_channels, _digest_switch), spacing="4", wrap="wrap", role="group",
                  aria_label="Digest per channel"),
        spacing="2", width="100%",
    )


def preferences_tab() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading("Where notifications reach you", size="3", as_="h2"),
        hint_text("Untick a box to stop a category on a channel. The first row is each channel's default."),
        rx.box(rx.table.root(
            rx.table.header(rx.table.row(rx.table.column_header_cell("Category"),
                                         rx.foreach(P.pref_channels,
                                                    lambda channel: rx.table.column_header_cell(
                                                        _CHANNEL_NAMES[channel])))),
            rx.table.body(rx.foreach(P.pref_categories, _pref_row)),
            variant="surface", size="1", aria_label="Channels per category",
        ), width="100%", overflow_x="auto"),
        rx.hstack(rx.input(value=P.new_category, on_change=P.set_new_category, placeholder="billing",
                           aria_label="New category", width="200px"),
                  rx.button("Add category", variant="soft", size="2", on_click=P.add_category), align="center"),
        rx.divider(),
        _digest(),
        rx.divider(),
        _quiet_hours(),
        form_alert(P.pref_error),
        form_alert(P.pref_notice, color="green", icon="circle-check"),
        rx.button(rx.icon("save", size=14), "Save preferences", on_click=P.save),
        spacing="3", width="100%",
    ), width="100%")

