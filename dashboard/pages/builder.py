"""/workflows/[id] — the builder: palette, canvas, the selected node's settings, save and versions, runs."""

from __future__ import annotations

import reflex as rx

from components.ai import hint_text
from components.documents import safe_markdown
from components.flow import flow
from components.forms import form_alert
from components.layout import protected_page
from components.step_log import step_log
from components.top_layer import dialog_content
from state.builder import BuilderState, VersionRow
from state.builder_runs import BuilderRunState
from state.node_forms import FormField
from state.node_palette import PaletteGroup, PaletteItem, PaletteState
from state.run_document_upload import RunDocumentUploadState

S = BuilderState
R = BuilderRunState
U = RunDocumentUploadState
RUN_UPLOAD_ID = "run-document-upload"
RUN_COLOURS = (("succeeded", "green"), ("failed", "red"), ("cancelled", "gray"), ("waiting", "purple"), "blue")
VIEWER_HINT = "Read-only: your role can look at this workflow and its runs; editors change and run it."


def _palette_item(item: PaletteItem) -> rx.Component:
    return rx.box(
        rx.hstack(rx.icon("grip-vertical", size=12, color=rx.color("gray", 9)),
                  rx.text(item.title, size="2", weight="medium"), align="center", spacing="1"),
        rx.text(item.description, size="1", color=rx.color("gray", 10), line_clamp=2),
        draggable=True, custom_attrs={"data-palette-type": item.type}, role="button",
        aria_label="Add " + item.title, on_click=S.add_node(item.type), cursor="grab", padding="6px 8px",
        border=f"1px solid {rx.color('gray', 5)}", border_radius="var(--radius-2)", width="100%",
        _hover={"background": rx.color("accent", 3)},
    )


def _palette_group(group: PaletteGroup) -> rx.Component:
    return rx.vstack(rx.text(group.category, size="1", weight="bold", color=rx.color("gray", 11)),
                     rx.foreach(group.node_types, _palette_item), spacing="1", width="100%")


def _palette() -> rx.Component:
    return rx.vstack(
        rx.input(placeholder="Search nodes…", value=PaletteState.query, on_change=PaletteState.set_query.debounce(150),
                 aria_label="Search node types", width="100%", size="1"),
        rx.foreach(PaletteState.groups, _palette_group),
        hint_text("Click or drag a node onto the canvas."),
        spacing="3", width="200px", min_width="200px", max_height="640px", overflow_y="auto",
        role="region", aria_label="Node palette",
    )


def _field_input(field: FormField) -> rx.Component:
    disabled = ~S.can_edit
    key = S.selected_id + "-" + field.name
    text_args = {"default_value": field.value, "on_blur": lambda value: S.set_field(field.name, value),
                 "id": "field-" + field.name, "disabled": disabled, "width": "100%", "key": key}
    return rx.match(
        field.kind,
        ("textarea", rx.text_area(rows="4", font_family="monospace", **text_args)),
        ("boolean", rx.checkbox(field.label, checked=field.checked, id="field-" + field.name, disabled=disabled,
                                on_change=lambda checked: S.set_field(field.name, checked))),
        ("select", rx.select(field.options, value=field.value, disabled=disabled, width="100%",
                             on_change=lambda value: S.set_field(field.name, value), aria_label=field.label)),
        ("number", rx.input(type="number", **text_args)),
        rx.input(**text_args),
    )


def _field(field: FormField) -> rx.Component:
    return rx.vstack(
        rx.cond(field.kind != "boolean",
                rx.el.label(rx.text(field.label, rx.cond(field.required, " *", ""), size="2", weight="medium"),
                            html_for="field-" + field.name)),
        _field_input(field),
        rx.cond(field.description != "", hint_text(field.description)),
        rx.cond(field.hint != "", rx.text(field.hint, size="1", color=rx.color("indigo", 11))),
        spacing="1", width="100%",
    )


def _step_output() -> rx.Component:
    step = R.steps[S.selected_id]
    return rx.cond(R.steps.contains(S.selected_id), rx.vstack(
        rx.hstack(rx.heading("Last run", size="2", as_="h3"), rx.spacer(),
                  rx.cond(R.can_retry_from_node, rx.button(
                      rx.icon("rotate-ccw", size=12), "Re-run from here", size="1", variant="soft",
                      on_click=R.retry_run(S.selected_id), loading=R.acting)), width="100%", align="center"),
        rx.hstack(rx.badge(step["status"]), rx.text(step["duration"], size="1"),
                  rx.text("attempts ", step["attempts"], size="1"), wrap="wrap", spacing="2"),
        rx.text("Tokens ", step["tokens"], " · cost ", step["cost"], size="1", color=rx.color("gray", 11)),
        rx.cond(step["error"] != "", rx.callout(step["error"], icon="circle-alert", color_scheme="red", size="1")),
        step_log(step["logs"]),
        rx.el.details(rx.el.summary(rx.text("Input", size="1", as_="span")),
                      rx.code_block(step["input"], language="json", wrap_long_lines=True, font_size="11px"),
                      width="100%"),
        rx.box(safe_markdown(step["content"]), id="step-output", max_height="260px", overflow_y="auto",
               width="100%", padding="8px", border=f"1px solid {rx.color('gray', 5)}",
               border_radius="var(--radius-2)"),
        spacing="2", width="100%", role="region", aria_label="Node output",
    ))


def _multi_selection() -> rx.Component:
    return rx.vstack(
        rx.heading(S.multi_selected.length(), " nodes selected", size="3", as_="h2"),
        rx.text(S.multi_selected.join(", "), size="1", font_family="monospace"),
        rx.cond(S.can_edit, rx.button(rx.icon("trash-2", size=14), "Delete selected", color_scheme="red",
                                      variant="soft", size="1", on_click=S.delete_selected)),
        hint_text("Ctrl+click adds a node to the selection; the Delete key removes them too."),
        spacing="2", width="100%",
    )


def _side_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.multi_selected.length() > 1,
            _multi_selection(),
        rx.cond(
            S.selected_id != "",
            rx.vstack(
                rx.hstack(rx.heading(S.selected_type, size="3", as_="h2"), rx.spacer(),
                          rx.code(S.selected_id), align="center", width="100%"),
                rx.cond(S.node_errors.contains(S.selected_id),
                        rx.callout(rx.foreach(S.node_errors[S.selected_id], lambda m: rx.text(m, size="1")),
                                   icon="circle-alert", color_scheme="red", size="1", width="100%")),
                _step_output(),
                rx.vstack(
                    rx.el.label(rx.text("Label", size="2", weight="medium"), html_for="field-label"),
                    rx.input(default_value=S.selected_label, on_blur=S.set_label, id="field-label",
                             key=S.selected_id + "-label", disabled=~S.can_edit, width="100%"),
                    spacing="1", width="100%"),
                rx.foreach(S.fields, _field),
                spacing="3", width="100%",
            ),
            hint_text("Select a node to see its settings and, after a run, its output."),
        )),
        width="300px", min_width="300px", max_height="640px", overflow_y="auto", padding="12px",
        border=f"1px solid {rx.color('gray', 5)}", border_radius="var(--radius-3)",
        role="region", aria_label="Node settings",
    )


def _canvas() -> rx.Component:
    return rx.box(
        flow(nodes=S.nodes, edges=S.edges, statuses=R.badges, read_only=~S.can_edit, snap_to_grid=True,
             fit_view=True, color_mode=rx.color_mode_cond("light", "dark"), on_nodes_change=S.nodes_changed,
             on_edges_change=S.edges_changed,
             on_node_drag_stop=S.nodes_moved, on_connect=S.connect, on_drop_node=S.drop_node,
             on_node_click=S.select_node, on_pane_click=S.clear_selection,
             on_selection_change=S.selection_changed, on_undo=S.undo, on_redo=S.redo, on_save=S.save),
        height="640px", flex="1", min_width="0", border=f"1px solid {rx.color('gray', 5)}",
        border_radius="var(--radius-3)", overflow="hidden",
    )


def _run_document_upload() -> rx.Component:
    return rx.vstack(
        rx.upload.root(
            rx.text("Or drop a new file here (it joins your library and is chosen once extracted)", size="1",
                    color=rx.color("gray", 11)),
            id=RUN_UPLOAD_ID, multiple=False, max_files=1, padding="10px", width="100%", cursor="pointer",
            border=f"1px dashed {rx.color('gray', 7)}", border_radius="8px", aria_label="Upload a document",
            on_drop=U.upload(rx.upload_files(upload_id=RUN_UPLOAD_ID, on_upload_progress=U.upload_progress))),
        rx.cond(U.run_upload_status != "", rx.text(U.run_upload_name, " ", U.run_upload_status, size="1",
                                                   role="status", aria_label="Document upload")),
        form_alert(U.run_upload_error),
        spacing="1", width="100%")


def _run_dialog() -> rx.Component:
    return rx.dialog.root(dialog_content(
        rx.dialog.title("Run this workflow"),
        rx.dialog.description("The saved version runs with these inputs.", size="2"),
        rx.form(rx.vstack(
            rx.foreach(R.run_fields, lambda name: rx.vstack(
                rx.el.label(rx.text(name, size="2", weight="medium"), html_for="run-" + name),
                rx.text_area(name=name, id="run-" + name, rows="2", width="100%"), spacing="1", width="100%")),
            rx.foreach(R.run_document_fields, lambda name, index: rx.vstack(
                rx.el.label(rx.text(name, " (document)", size="2", weight="medium"), html_for="run-" + name),
                rx.el.select(rx.el.option("Choose a document…", value=""),
                             rx.foreach(R.run_documents, lambda d: rx.el.option(d.title, value=d.id)),
                             name=name, id="run-" + name, width="100%", value=R.run_document_values[index],
                             on_change=lambda value: R.choose_run_document(index, value)),
                spacing="1", width="100%")),
            rx.cond(R.run_document_fields.length() > 0, _run_document_upload()),
            rx.cond((R.run_fields.length() == 0) & (R.run_document_fields.length() == 0),
                    hint_text("This workflow takes no inputs.")),
            form_alert(R.run_error),
            rx.hstack(rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                      rx.button(rx.icon("play", size=14), "Start run", type="submit"), justify="end", width="100%"),
            spacing="3", width="100%"), on_submit=R.start_run, reset_on_submit=False),
    ), open=R.run_dialog_open, on_open_change=R.set_run_dialog_open)


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Workflows")), href="/workflows", size="2"),
        rx.heading(S.workflow_name, size="4", as_="h2"),
        rx.badge("version ", S.version, id="builder-version", variant="soft"),
        rx.badge(S.save_status, id="save-status", role="status",
                 color_scheme=rx.cond(S.dirty | S.saving, "amber", "green")),
        rx.link("Runs", href=S.router.url.path + "/runs", size="2"),
        rx.spacer(),
        rx.cond(S.can_edit, rx.hstack(
            rx.icon_button(rx.icon("undo-2", size=14), variant="soft", color_scheme="gray", on_click=S.undo,
                           disabled=~S.can_undo, aria_label="Undo", title="Undo (ctrl+z)"),
            rx.icon_button(rx.icon("redo-2", size=14), variant="soft", color_scheme="gray", on_click=S.redo,
                           disabled=~S.can_redo, aria_label="Redo", title="Redo (ctrl+shift+z)"),
            rx.button(rx.icon("save", size=14), "Save", on_click=S.save, disabled=~S.dirty, title="Save (ctrl+s)"),
            rx.button(rx.icon("play", size=14), "Run", variant="soft", on_click=[R.open_run_dialog, U.reset_upload],
                      loading=R.run_busy),
            spacing="2")),
        align="center", width="100%", wrap="wrap", spacing="3",
    )


def _run_panel() -> rx.Component:
    """The current run: status, a link to its full view, and what may be done to it now."""
    return rx.cond(R.run_id != "", rx.hstack(
        rx.badge("run ", R.run_status, id="run-status", color_scheme=rx.match(R.run_status, *RUN_COLOURS)),
        rx.link("Open run", rx.icon("external-link", size=12), href="/runs/" + R.run_id, size="2"),
        rx.text(R.run_notice, size="1", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.cond(R.can_decide, rx.hstack(
            rx.button(rx.icon("check", size=14), "Approve", size="1", color_scheme="green",
                      on_click=R.decide(True)),
            rx.button(rx.icon("x", size=14), "Reject", size="1", color_scheme="red", variant="soft",
                      on_click=R.decide(False)), spacing="2")),
        rx.cond(R.can_cancel, rx.button(rx.icon("circle-stop", size=14), "Cancel run", size="1", variant="soft",
                                        color_scheme="red", on_click=R.cancel_run)),
        rx.cond(R.can_retry, rx.button(rx.icon("rotate-ccw", size=14), "Retry", size="1", variant="soft",
                                       on_click=R.retry_run(""))),
        width="100%", align="center", spacing="3", padding="6px 10px", role="region", aria_label="Run",
        border=f"1px solid {rx.color('gray', 5)}", border_radius="var(--radius-3)",
    ))


def _version_row(row: VersionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell("v", row.number), rx.table.cell(row.message), rx.table.cell(row.created_at),
        rx.table.cell(rx.hstack(
            rx.cond(S.viewing_version == row.number, rx.badge("viewing", color_scheme="indigo"),
                    rx.button("View", size="1", variant="outline", on_click=S.view_version(row.number),
                              aria_label=f"View version {row.number}")),
            rx.cond((row.number != S.version) & S.may_edit,
                    rx.button("Restore", size="1", variant="soft", on_click=S.restore(row.number),
                              aria_label=f"Restore version {row.number}")),
            rx.cond(row.number == S.version, rx.badge("current", variant="soft")),
            spacing="2", align="center",
        )),
    )


def _viewing_banner() -> rx.Component:
    """While an old version is on the canvas: say so, and offer the way back or a restore."""
    return rx.cond(S.viewing_version != 0, rx.callout.root(
        rx.callout.icon(rx.icon("history", size=16)),
        rx.hstack(
            rx.callout.text("Viewing version ", S.viewing_version, " (read-only). ",
                            rx.cond(S.dirty, "Your unsaved changes are kept.", "")),
            rx.spacer(),
            rx.button(rx.icon("arrow-left", size=12), "Back to editing", size="1", variant="soft",
                      on_click=S.close_version),
            rx.cond(S.may_edit & (S.viewing_version != S.version),
                    rx.button(rx.icon("rotate-ccw", size=12), "Restore this version", size="1",
                              on_click=S.restore(S.viewing_version))),
            align="center", width="100%", spacing="2"),
        color_scheme="indigo", size="1", width="100%", role="region", aria_label="Viewing a version",
    ))


def _history() -> rx.Component:
    return rx.vstack(
        rx.heading("Version history", size="3", as_="h2"),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in ("Version", "Note", "Saved (UTC)",
                                                                                     "")])),
            rx.table.body(rx.foreach(S.versions, _version_row)),
            variant="surface", width="100%", size="1"),
        spacing="2", width="100%", role="region", aria_label="Version history",
    )


@protected_page(route="/workflows/[id]", title="Workflow builder", on_load=[S.load, R.reset_run])
def builder() -> rx.Component:
    return rx.vstack(
        form_alert(S.error),
        form_alert(S.notice, color="green", icon="circle-check"),
        rx.cond(S.loaded, rx.vstack(
            _toolbar(),
            _run_panel(),
            form_alert(R.run_error),
            _viewing_banner(),
            rx.cond(~S.may_edit, rx.callout(VIEWER_HINT, icon="eye", width="100%", size="1")),
            rx.cond(S.graph_errors.length() > 0, rx.callout(rx.foreach(S.graph_errors, lambda m: rx.text(m)),
                                                         icon="circle-alert", color_scheme="red", size="1")),
            rx.hstack(rx.cond(S.can_edit, _palette()), _canvas(), _side_panel(), spacing="3", width="100%",
                      align="start"),
            _history(),
            _run_dialog(),
            spacing="3", width="100%",
        )),
        spacing="3", width="100%",
    )
