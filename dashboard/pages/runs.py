"""/runs/[id] — one run: timeline, steps, output documents, diff against the previous run;
/workflows/[id]/runs — a workflow's runs, newest first."""

from __future__ import annotations

import reflex as rx

from components.ai import hint_text
from components.cards import empty_state
from components.charts import PLOT_CONFIG
from components.documents import safe_markdown
from components.forms import form_alert
from components.layout import protected_page
from components.pager import pager
from components.step_log import step_log
from state.run_viewer import DiffRow, DocumentView, RunListState, RunRow, RunViewerState

V = RunViewerState
L = RunListState
RUN_COLOURS = (("succeeded", "green"), ("failed", "red"), ("cancelled", "gray"), ("waiting", "purple"), "blue")
BOX = {"border": f"1px solid {rx.color('gray', 5)}", "border_radius": "var(--radius-3)", "padding": "12px",
       "width": "100%"}


def _section(title: str, *children: rx.Component, label: str) -> rx.Component:
    return rx.vstack(rx.heading(title, size="3", as_="h2"), *children, spacing="2", width="100%",
                     role="region", aria_label=label)


def _step_row(step: rx.Var[dict[str, str]]) -> rx.Component:
    node_id = step["node_id"]
    return rx.fragment(
        rx.table.row(
            rx.table.cell(rx.button(rx.cond(V.selected_step == node_id, rx.icon("chevron-down", size=12),
                                            rx.icon("chevron-right", size=12)), rx.code(node_id), variant="ghost",
                                    size="1", on_click=V.toggle_step(node_id), aria_label="Details of " + node_id)),
            rx.table.cell(step["node_type"]),
            rx.table.cell(rx.badge(step["status"], color_scheme=rx.match(step["status"], *RUN_COLOURS))),
            rx.table.cell(step["duration"]), rx.table.cell(step["attempts"]), rx.table.cell(step["tokens"]),
            rx.table.cell(step["cost"]),
        ),
        rx.cond(V.selected_step == node_id, rx.table.row(rx.table.cell(rx.vstack(
            rx.cond(step["error"] != "", rx.callout(step["error"], icon="circle-alert", color_scheme="red",
                                                    size="1", width="100%")),
            rx.grid(
                rx.vstack(rx.text("Input", size="1", weight="bold"),
                          rx.code_block(step["input"], language="json", wrap_long_lines=True, width="100%"),
                          width="100%", min_width="0"),
                rx.vstack(rx.text("Output", size="1", weight="bold"),
                          rx.box(safe_markdown(step["content"]), max_height="360px", overflow_y="auto",
                                 width="100%"),
                          width="100%", min_width="0", class_name="step-output"),
                columns="2", spacing="3", width="100%"),
            step_log(step["logs"]),
            spacing="2", width="100%"), col_span=7))),
    )


def _steps() -> rx.Component:
    return _section("Steps", rx.cond(
        V.steps.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                "Node", "Type", "Status", "Duration", "Attempts", "Tokens", "Cost")])),
            rx.table.body(rx.foreach(V.steps, _step_row)), variant="surface", width="100%", size="1"),
        hint_text("No step has started yet."),
    ), label="Steps")


def _document(document: DocumentView, index: rx.Var[int]) -> rx.Component:
    return rx.card(rx.vstack(
        rx.hstack(rx.icon("file-text", size=16), rx.text(document.title, weight="bold"),
                  rx.text("from ", document.node_id, size="1", color=rx.color("gray", 10)), rx.spacer(),
                  rx.button(rx.icon("copy", size=12), "Copy", size="1", variant="soft",
                            on_click=rx.set_clipboard(document.content), aria_label="Copy " + document.title),
                  rx.button(rx.icon("download", size=12), "Download", size="1", variant="soft",
                            on_click=V.download_document(index), aria_label="Download " + document.title),
                  width="100%", align="center"),
        rx.box(safe_markdown(document.content), max_height="420px", overflow_y="auto", width="100%"),
        spacing="2", width="100%"), width="100%")


def _documents() -> rx.Component:
    return _section("Output documents", rx.cond(
        V.documents.length() > 0, rx.vstack(rx.foreach(V.documents, _document), width="100%", spacing="3"),
        hint_text("This run wrote no document (add an Output node to keep its result)."),
    ), label="Output documents")


def _diff_line(row: DiffRow) -> rx.Component:
    return rx.el.div(
        rx.match(row.kind, ("added", "+ "), ("removed", "- "), "  "), row.text,
        class_name="diff-" + row.kind, white_space="pre-wrap", font_family="monospace", font_size="12px",
        padding="0 6px",
        background=rx.match(row.kind, ("added", rx.color("green", 3)), ("removed", rx.color("red", 3)),
                            "transparent"),
        color=rx.match(row.kind, ("added", rx.color("green", 11)), ("removed", rx.color("red", 11)), "inherit"))


def _diff() -> rx.Component:
    return _section("Changes since the previous run", rx.cond(
        V.previous_run_id == "",
        hint_text("There is no earlier successful run of this workflow to compare with."),
        rx.vstack(
            rx.text("Compared with ", rx.link("the previous successful run", href="/runs/" + V.previous_run_id),
                    rx.cond(V.has_changes, ".", ": the output is the same."), size="2"),
            rx.cond(V.has_changes, rx.box(rx.foreach(V.diff, _diff_line), max_height="420px", overflow_y="auto",
                                          id="run-diff", **BOX)),
            rx.cond(V.diff_truncated, hint_text("The diff is long: only its first 2,000 lines are shown.")),
            width="100%", spacing="2"),
    ), label="Diff")


@protected_page(route="/runs/[id]", title="Run", on_load=[V.load])
def run_viewer() -> rx.Component:
    return rx.vstack(
        rx.cond(V.error != "", rx.vstack(form_alert(V.error),
                                         rx.link("Back to workflows", href="/workflows", size="2"), spacing="2")),
        rx.cond(V.loaded & (V.error == ""), rx.vstack(
            rx.hstack(
                rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Runs of this workflow")),
                        href="/workflows/" + V.workflow_id.to_string() + "/runs", size="2"),
                rx.heading("Run ", rx.code(V.run_id), size="4", as_="h1"),
                rx.badge(V.status, id="run-status", color_scheme=rx.match(V.status, *RUN_COLOURS)),
                rx.badge(V.trigger, variant="outline"),
                rx.text(V.summary, size="2", color=rx.color("gray", 11)),
                rx.spacer(),
                rx.link("Open in the builder", href="/workflows/" + V.workflow_id.to_string(), size="2"),
                wrap="wrap", align="center", width="100%", spacing="3"),
            form_alert(V.run_error),
            _section("Timeline", rx.cond(V.steps.length() > 0,
                                         rx.box(rx.plotly.strict(data=V.chart, config=PLOT_CONFIG, width="100%"),
                                                id="run-timeline", width="100%"),
                                         hint_text("The timeline appears once a step has started.")),
                     label="Timeline"),
            _steps(), _documents(), _diff(),
            spacing="5", width="100%")),
        rx.cond(~V.loaded & (V.error == ""), rx.center(rx.spinner(size="3"), padding="48px", width="100%")),
        spacing="4", width="100%",
    )


def _run_row(row: RunRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row.created_at, href="/runs/" + row.id)),
        rx.table.cell(rx.badge(row.status, color_scheme=rx.match(row.status, *RUN_COLOURS))),
        rx.table.cell(row.trigger), rx.table.cell(row.duration), rx.table.cell(row.tokens),
        rx.table.cell(row.cost), rx.table.cell(row.note), align="center")


@protected_page(route="/workflows/[id]/runs", title="Runs", on_load=[L.load])
def run_list() -> rx.Component:
    return rx.vstack(
        form_alert(L.error),
        rx.cond(L.loaded, rx.vstack(
            rx.hstack(rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Builder")),
                              href="/workflows/" + L.workflow_id.to_string(), size="2"),
                      rx.heading("Runs of ", L.workflow_name, size="4", as_="h1"), align="center", spacing="3"),
            rx.cond(L.rows.length() > 0, rx.vstack(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                        "Started (UTC)", "Status", "Trigger", "Duration", "Tokens", "Cost", "")])),
                    rx.table.body(rx.foreach(L.rows, _run_row)), variant="surface", width="100%"),
                pager(L),
                width="100%", spacing="2"),
                empty_state("play", "No runs yet", "Run this workflow from the builder; its runs are listed here.")),
            spacing="4", width="100%")),
        rx.cond(~L.loaded & (L.error == ""), rx.center(rx.spinner(size="3"), padding="48px", width="100%")),
        spacing="4", width="100%",
    )
