"""/documents — the library: drop files to upload and extract, search with highlighted snippets, preview
the sanitised rendering, compare versions, export, and run a workflow on the selected documents."""

from __future__ import annotations

import reflex as rx
from reflex.event import parse_args_spec, passthrough_event_spec

from components.cards import empty_state
from components.documents import PROSE_STYLE
from components.forms import form_alert
from components.layout import protected_page
from components.pager import pager
from state.document_uploads import DocumentUploadsState, UploadRowView
from state.documents import BatchItemView, DiffRowView, DocumentRowView, DocumentsState, VersionView

S = DocumentsState
U = DocumentUploadsState
UPLOAD_ID = "document-upload"
ACCEPT = {"application/pdf": [".pdf"], "text/markdown": [".md", ".markdown"], "text/plain": [".txt"],
          "text/html": [".html", ".htm"],
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document": [".docx"],
          "application/vnd.openxmlformats-officedocument.presentationml.presentation": [".pptx"],
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"]}
STATUS_COLOURS = (("ready", "green"), ("failed", "red"), ("processing", "blue"), ("extracting", "blue"),
                  ("uploading", "blue"), "gray")
DIFF_COLOURS = (("added", rx.color("green", 3)), ("removed", rx.color("red", 3)), ("changed", rx.color("amber", 3)),
                "transparent")


def _dropped(expression: str) -> rx.Var:
    """``expression`` over the dropped files, in the on_drop handler where the upload's files are bound."""
    placeholders, _ = parse_args_spec(passthrough_event_spec(list[rx.UploadFile]))
    return rx.Var(f"{placeholders[0]}.map((f) => {expression})")


def _upload_row(row: UploadRowView) -> rx.Component:
    return rx.hstack(
        rx.icon("file", size=14), rx.text(row.name, size="2", weight="medium", truncate=True, max_width="280px"),
        rx.text(row.size, size="1", color=rx.color("gray", 10)),
        rx.progress(value=rx.cond(row.status == "ready", 100, row.percent), max=100, width="160px",
                    aria_label="Progress of " + row.name),
        rx.badge(rx.cond((row.status == "uploading") | (row.status == "extracting"),
                         row.status + " " + row.percent.to_string() + "%", row.status),
                 color_scheme=rx.match(row.status, *STATUS_COLOURS), variant="soft"),
        rx.cond(row.error != "", rx.text(row.error, size="1", color=rx.color("red", 11))),
        align="center", spacing="3", width="100%", role="listitem", aria_label=row.name)


def _drop_zone() -> rx.Component:
    # The browser sends the files' names and sizes ahead of their bytes, so each gets its row at once.
    on_drop = U.receive_files(rx.upload_files_chunk(upload_id=UPLOAD_ID), _dropped("f.name").to(list[str]),
                              _dropped("f.size").to(list[int]))
    return rx.vstack(
        rx.upload.root(
            rx.vstack(rx.icon("upload", size=24, color=rx.color("accent", 10)),
                      rx.text("Drop PDF, DOCX, PPTX, XLSX, HTML, Markdown or text files here, or click to choose",
                              size="2"),
                      align="center", spacing="2", padding="20px", width="100%"),
            id=UPLOAD_ID, multiple=True, accept=ACCEPT, on_drop=on_drop,  # the state enforces the file count
            border=f"2px dashed {rx.color('gray', 7)}", border_radius="12px", width="100%", cursor="pointer",
            aria_label="Upload documents"),
        form_alert(U.upload_error),
        rx.cond(U.uploads.length() > 0, rx.card(rx.vstack(
            rx.vstack(rx.foreach(U.uploads, _upload_row), role="list", aria_label="Uploads", width="100%",
                      spacing="2"),
            rx.cond(~U.uploads_active, rx.button("Clear finished", size="1", variant="soft",
                                                 on_click=U.clear_finished)),
            width="100%", spacing="2"), width="100%")),
        width="100%", spacing="2")


def _status(row: DocumentRowView) -> rx.Component:
    return rx.cond(
        row.status == "processing",
        rx.hstack(rx.progress(value=row.progress, max=100, width="60px"), rx.text(row.progress, "%", size="1"),
                  align="center"),
        rx.tooltip(rx.badge(row.status, color_scheme=rx.match(row.status, *STATUS_COLOURS)), content=rx.cond(
            row.error != "", row.error, row.status)))


def _row(row: DocumentRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.checkbox(checked=S.selected.contains(row.id), aria_label="Select " + row.title,
                                  on_change=lambda checked: S.toggle_selected(row.id, checked))),
        rx.table.cell(rx.vstack(
            rx.link(row.title, on_click=S.open_preview(row.id), weight="medium", cursor="pointer"),
            rx.cond(row.snippet != "", rx.text(row.snippet, size="1", color=rx.color("gray", 11))),
            rx.cond(row.error != "", rx.text(row.error, size="1", color=rx.color("red", 11))),
            spacing="1")),
        rx.table.cell(row.kind), rx.table.cell(row.size), rx.table.cell(row.pages),
        rx.table.cell(rx.hstack(rx.foreach(row.tags, lambda tag: rx.badge(
            tag, variant="soft", size="1", cursor="pointer", on_click=S.filter_by_tag(tag))), wrap="wrap")),
        rx.table.cell(row.updated), rx.table.cell(_status(row)),
        rx.table.cell(rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="ghost", color_scheme="red",
                                     on_click=S.delete(row.id), aria_label="Delete " + row.title)),
        align="center")


def _table() -> rx.Component:
    return rx.cond(
        S.rows.length() > 0,
        rx.vstack(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                    "", "Title", "Type", "Size", "Pages", "Tags", "Updated (UTC)", "Status", "")])),
                rx.table.body(rx.foreach(S.rows, _row)), variant="surface", width="100%",
                aria_label="Documents"),
            pager(S),
            width="100%", spacing="2"),
        rx.cond(S.loading, rx.center(rx.spinner(), width="100%", padding="32px"),
                empty_state("file-text", "No documents here yet",
                            "Drop files above to add them, or clear the search and tag filter.")))


def _version_option(version: VersionView) -> rx.Component:
    return rx.select.item(version.label, value=version.number.to_string())


def _diff_row(row: DiffRowView) -> rx.Component:
    background = rx.match(row.kind, *DIFF_COLOURS)
    return rx.grid(rx.code(row.left, background=background, white_space="pre-wrap", variant="ghost"),
                   rx.code(row.right, background=background, white_space="pre-wrap", variant="ghost"),
                   columns="2", spacing="2", width="100%")


def _preview() -> rx.Component:
    return rx.cond(S.preview_id != "", rx.card(rx.vstack(
        rx.hstack(rx.heading(S.preview_title, size="4"), rx.spacer(),
                  rx.menu.root(rx.menu.trigger(rx.button(rx.icon("download", size=14), "Export", variant="soft",
                                                         size="1")),
                               rx.menu.content(*[rx.menu.item(label, on_click=S.export(fmt)) for fmt, label in (
                                   ("md", "Markdown"), ("html", "HTML"), ("docx", "Word (DOCX)"), ("pdf", "PDF"))])),
                  rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", on_click=S.close_preview,
                                 aria_label="Close preview"),
                  width="100%", align="center"),
        rx.tabs.root(
            rx.tabs.list(rx.tabs.trigger("Preview", value="preview"), rx.tabs.trigger("Versions", value="versions")),
            rx.tabs.content(rx.box(rx.html(S.preview_html), class_name="document-preview", padding_top="12px",
                                   role="region", aria_label="Document preview", style=PROSE_STYLE), value="preview"),
            rx.tabs.content(rx.vstack(
                rx.hstack(rx.select.root(rx.select.trigger(placeholder="From version", aria_label="From version"),
                                         rx.select.content(rx.foreach(S.versions, _version_option)),
                                         value=S.diff_from, on_change=S.set_diff_from),
                          rx.select.root(rx.select.trigger(placeholder="To version", aria_label="To version"),
                                         rx.select.content(rx.foreach(S.versions, _version_option)),
                                         value=S.diff_to, on_change=S.set_diff_to), spacing="2"),
                rx.cond(S.diff_rows.length() > 0,
                        rx.vstack(rx.foreach(S.diff_rows, _diff_row), width="100%", spacing="1", role="region",
                                  aria_label="Version diff"),
                        rx.text("Pick two versions to compare them side by side.", size="2",
                                color=rx.color("gray", 10))),
                spacing="3", padding_top="12px", width="100%"), value="versions"),
            default_value="preview", width="100%"),
        width="100%", spacing="3"), width="100%"))


def _batch_item(item: BatchItemView) -> rx.Component:
    return rx.hstack(rx.code(item.document_id[:8]), rx.badge(item.status, color_scheme=rx.match(
        item.status, ("succeeded", "green"), ("failed", "red"), ("refused", "red"), "blue")),
        rx.text(item.error, size="1", color=rx.color("red", 11)), align="center")


def _batch_bar() -> rx.Component:
    return rx.cond(S.selected.length() > 0, rx.card(rx.vstack(
        rx.hstack(rx.text(S.selected.length(), " selected", weight="medium"),
                  rx.select.root(rx.select.trigger(placeholder="Choose a workflow", aria_label="Workflow to run"),
                                 rx.select.content(rx.foreach(S.workflow_choices,
                                                              lambda choice: rx.select.item(choice, value=choice))),
                                 value=S.batch_workflow, on_change=S.set_batch_workflow),
                  rx.button(rx.icon("play", size=14), "Run workflow on these", on_click=S.run_batch),
                  align="center", spacing="3", wrap="wrap"),
        rx.cond(S.batch_total > 0, rx.vstack(
            rx.hstack(rx.progress(value=S.batch_percent, max=100, width="240px"),
                      rx.text(S.batch_done, " of ", S.batch_total, " done", size="1"), align="center"),
            rx.foreach(S.batch_items, _batch_item), spacing="1", role="status", aria_label="Batch progress")),
        spacing="2"), width="100%"))


@protected_page(route="/documents", title="Documents", on_load=[S.load])
def documents() -> rx.Component:
    return rx.vstack(
        form_alert(S.error),
        form_alert(S.notice, color="green", icon="circle-check"),
        _drop_zone(),
        rx.hstack(rx.input(placeholder="Search titles and text…", value=S.search, aria_label="Search documents",
                           on_change=S.set_search.debounce(300), width="320px"),
                  rx.cond(S.tag_filter != "", rx.badge("tag: ", S.tag_filter, rx.icon(
                      "x", size=12, cursor="pointer", on_click=S.filter_by_tag("")))),
                  width="100%", align="center"),
        _batch_bar(),
        rx.grid(_table(), _preview(), columns=rx.cond(S.preview_id != "", "3fr 2fr", "1fr"), spacing="4",
                width="100%"),
        spacing="4", width="100%")
