"""/workflows — every workflow with its last run and success rate; create (blank or from the gallery),
duplicate, archive, export and import."""

from __future__ import annotations

import reflex as rx

from components.ai import hint_text
from components.cards import empty_state
from components.forms import form_alert
from components.layout import protected_page
from components.pager import pager
from components.top_layer import dialog_content
from state.workflows import STATUS_CHOICES, TemplateCard, WorkflowRowView, WorkflowsState

S = WorkflowsState
UPLOAD_ID = "workflow-import"
RUN_COLOURS = (("succeeded", "green"), ("failed", "red"), ("running", "blue"), ("waiting", "purple"), "gray")


def _template_card(template: TemplateCard) -> rx.Component:
    return rx.card(rx.vstack(
        rx.hstack(rx.icon("file-stack", size=16, color=rx.color("accent", 10)),
                  rx.text(template.name, weight="bold", size="2"), align="center"),
        rx.text(template.description, size="1", color=rx.color("gray", 11)),
        rx.hstack(rx.foreach(template.tags, lambda tag: rx.badge(tag, variant="soft", size="1")), wrap="wrap"),
        rx.button("Use template", size="1", variant="soft", on_click=S.create_from_template(template.key),
                  aria_label="Use template " + template.name),
        spacing="2", height="100%", justify="between",
    ), width="100%")


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=14), "New workflow")),
        dialog_content(
            rx.dialog.title("New workflow"),
            rx.form(rx.hstack(
                rx.input(name="name", placeholder="Name, e.g. Release notes", aria_label="Workflow name",
                         width="100%"),
                rx.button("Create blank", type="submit"), width="100%"),
                rx.text(rx.checkbox("Private: only I and the admins see it", name="private", margin_top="8px"),
                        as_="label", size="2"),
                on_submit=S.create_blank),
            rx.text("Or start from a template", size="2", weight="medium", margin_top="16px", as_="p"),
            rx.grid(rx.foreach(S.templates, _template_card), columns="2", spacing="3", margin_top="8px",
                    role="region", aria_label="Template gallery"),
            max_width="720px",
        ),
    )


def _import_button() -> rx.Component:
    return rx.upload.root(
        rx.button(rx.icon("upload", size=14), "Import JSON", variant="soft", type="button"),
        id=UPLOAD_ID, accept={"application/json": [".json"]}, max_files=1, no_drag=True,
        on_drop=S.import_files(rx.upload_files(upload_id=UPLOAD_ID)),
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.input(placeholder="Search by name or tag…", value=S.search, on_change=S.set_search.debounce(250),
                 aria_label="Search workflows", width="280px"),
        rx.select(list(STATUS_CHOICES), value=S.status_filter, on_change=S.set_status_filter,
                  aria_label="Status"),
        rx.cond(S.tag_filter != "", rx.badge("tag: ", S.tag_filter, rx.icon("x", size=12, cursor="pointer",
                                                                          on_click=S.filter_by_tag("")))),
        rx.spacer(),
        rx.cond(S.can_edit, rx.hstack(_import_button(), _create_dialog(), spacing="2")),
        width="100%", align="center", wrap="wrap",
    )


def _row(row: WorkflowRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(
            rx.link(row.name, href="/workflows/" + row.id.to_string(), weight="medium"),
            rx.cond(row.private, rx.tooltip(rx.icon("lock", size=13, aria_label="private"),
                                            content="Private: only its owner and the admins see it")),
            align="center", spacing="1")),
        rx.table.cell(rx.hstack(rx.foreach(row.tags, lambda tag: rx.badge(
            tag, variant="soft", size="1", cursor="pointer", on_click=S.filter_by_tag(tag))), wrap="wrap")),
        rx.table.cell(rx.badge(row.status, variant="outline")),
        rx.table.cell(rx.vstack(rx.link(rx.badge(row.last_run, color_scheme=rx.match(row.last_run, *RUN_COLOURS)),
                                        href="/workflows/" + row.id.to_string() + "/runs",
                                        aria_label="Runs of " + row.name),
                                rx.text(row.last_run_at, size="1", color=rx.color("gray", 10)), spacing="1")),
        rx.table.cell(row.success_rate),
        rx.table.cell(rx.hstack(
            rx.icon_button(rx.icon("download", size=14), size="1", variant="ghost", on_click=S.export(row.id),
                           aria_label="Export " + row.name),
            rx.cond(S.can_edit, rx.hstack(
                rx.icon_button(rx.icon("copy", size=14), size="1", variant="ghost", on_click=S.duplicate(row.id),
                               aria_label="Duplicate " + row.name),
                rx.cond(row.private,
                        rx.icon_button(rx.icon("lock-open", size=14), size="1", variant="ghost",
                                       on_click=S.set_private(row.id, False),
                                       aria_label="Share " + row.name + " with the workspace"),
                        rx.icon_button(rx.icon("lock", size=14), size="1", variant="ghost",
                                       on_click=S.set_private(row.id, True),
                                       aria_label="Make " + row.name + " private")),
                rx.cond(row.status != "archived", rx.icon_button(
                    rx.icon("archive", size=14), size="1", variant="ghost", color_scheme="red",
                    on_click=S.archive(row.id), aria_label="Archive " + row.name)),
                spacing="2")),
            spacing="2")),
        align="center",
    )


def _table() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        rx.vstack(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                    "Name", "Tags", "Status", "Last run (UTC)", "Success rate", "")])),
                rx.table.body(rx.foreach(S.rows, _row)),
                variant="surface", width="100%"),
            pager(S),
            width="100%", spacing="2"),
        empty_state("workflow", "No workflows match",
                    "Create one — blank or from a template — or change the search and filters."),
    )


@protected_page(route="/workflows", title="Workflows", on_load=[S.load])
def workflows() -> rx.Component:
    return rx.vstack(
        rx.cond(S.created_id != "", rx.callout(
            rx.text("Workflow ", S.created_id, " was saved. ",
                    rx.link("Open it in the builder", href="/workflows/" + S.created_id), "."),
            icon="circle-check", color_scheme="green", role="status", width="100%")),
        form_alert(S.error),
        form_alert(S.notice, color="green", icon="circle-check"),
        _filters(),
        _table(),
        rx.cond(~S.can_edit, hint_text("Your role can look at workflows; editors create and change them.")),
        spacing="4", width="100%",
    )
