"""Builder responsiveness in Chromium against the production build (it starts the app itself).

* click→DOM: the time from a click to the DOM change it causes, measured inside the page with
  ``performance.now()`` and a MutationObserver (the same clock Reflex's own 12.6 ms figure uses),
  for three builder interactions — select a node (its settings panel opens), click the empty canvas
  (the panel closes), toggle a checkbox setting — on a small workflow, repeated ``--clicks`` times.
* open: from navigation start (``performance.timeOrigin``) until a ``--nodes``-node workflow is drawn
  *and* a click on one of its nodes has opened its panel (interactive), median of ``--opens``.

Baselines measured in the same run with the same harness: click→DOM on a static page whose click
handler edits the DOM directly (the harness's own floor), and opening a 3-node workflow (what any
builder page costs before its graph grows).

    .venv/bin/python bench/ui.py --clicks 60 --nodes 200 --opens 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import app_start_failure, free_port, start_prod_app, stop_process_group  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
EMAIL, PASSWORD = "bench-admin@example.com", "violet-harbour-compass-19"
PANEL = '[aria-label="Node settings"]'

# Click ``selector`` and resolve with the milliseconds until ``done`` (a JS expression) holds after a mutation.
CLICK_TO_DOM_JS = """
async ([selector, done]) => {
  const holds = new Function("return (" + done + ");");
  const target = document.querySelector(selector);
  if (!target) throw new Error("nothing matches " + selector);
  return await new Promise((resolve, reject) => {
    let observer;
    const timer = setTimeout(() => { observer.disconnect(); reject(new Error("no DOM change for " + selector)); },
                             10000);
    const started = performance.now();
    observer = new MutationObserver(() => {
      if (holds()) { const spent = performance.now() - started; observer.disconnect(); clearTimeout(timer);
                     resolve(spent); }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    target.click();
  });
}
"""

# Installed before any page script: note when the app shell is drawn, when the canvas appears (the
# workflow arrived), when it holds ``count`` nodes (then click one at once) and when the settings
# panel shows that node (interactive); all in ms since navigation start, in window.__dwcOpen.
OPEN_JS = """
(() => {
  const count = %d, probe = %r, marks = window.__dwcOpen = {};
  const observer = new MutationObserver(() => {
    const now = performance.now();
    if (marks.shell === undefined && document.querySelector('nav[aria-label="Main"]')) marks.shell = now;
    if (marks.canvas === undefined && document.querySelector(".react-flow")) marks.canvas = now;
    if (marks.nodes === undefined && document.querySelectorAll(".react-flow__node").length >= count) {
      marks.nodes = now;
      const node = document.querySelector('[data-node-id="' + probe + '"]');
      if (node) node.click();
    }
    if (marks.nodes !== undefined && marks.interactive === undefined) {
      const code = document.querySelector('%s code');
      if (code && code.textContent === probe) { marks.interactive = now; observer.disconnect(); }
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();
"""

STATIC_PAGE = """<!doctype html><button id="b">toggle</button><div id="out">0</div>
<script>document.getElementById("b").onclick = () => {
  const out = document.getElementById("out"); out.textContent = String(Number(out.textContent) + 1); };</script>"""


def grid_graph(count: int) -> dict[str, Any]:
    """``count`` nodes in rows of 20: an input, templates chained along each row, an output at the end."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "input", "config": {"fields": ["topic"]},
                                    "position": {"x": 0, "y": 0}}]
    edges: list[dict[str, str]] = []
    for i in range(1, count - 1):
        nodes.append({"id": f"n{i}", "type": "template", "config": {"template": f"step {i}: {{{{ params.topic }}}}"},
                      "position": {"x": (i % 20) * 260, "y": (i // 20) * 160}})
        edges.append({"source": f"n{i - 1}", "target": f"n{i}"})
    nodes.append({"id": f"n{count - 1}", "type": "output", "config": {}, "position": {"x": 20 * 260, "y": 0}})
    edges.append({"source": f"n{count - 2}", "target": f"n{count - 1}"})
    return {"nodes": nodes, "edges": edges}


SMALL_GRAPH: dict[str, Any] = {
    "nodes": [{"id": "in", "type": "input", "config": {"fields": ["topic"]}, "position": {"x": 0, "y": 0}},
              {"id": "fetch", "type": "http_request", "config": {"url": "https://example.com/{{ params.topic }}"},
               "position": {"x": 260, "y": 0}},
              {"id": "draft", "type": "template", "config": {"template": "{{ fetch.content }}"},
               "position": {"x": 520, "y": 0}}],
    "edges": [{"source": "in", "target": "fetch"}, {"source": "fetch", "target": "draft"}]}


def start_app(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")}
    # Autosave would store versions in the middle of the measurement: keep it out of the way.
    env.update({"DWC_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "BUILDER_AUTOSAVE_SECONDS": "3600"})
    return start_prod_app(port, env, log_path)


def api_workflows(url: str, nodes: int) -> tuple[int, int]:
    """The admin account, then the small workflow and the big one; their ids."""
    registered = httpx.post(f"{url}/api/v3/auth/register", json={"email": EMAIL, "password": PASSWORD}, timeout=30)
    assert registered.status_code == 201, registered.text
    token = httpx.post(f"{url}/api/v3/auth/login", json={"email": EMAIL, "password": PASSWORD},
                       timeout=30).json()["access_token"]
    with httpx.Client(base_url=f"{url}/api/v3", headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
        ids = []
        for name, graph in (("bench small", SMALL_GRAPH), (f"bench {nodes} nodes", grid_graph(nodes))):
            created = api.post("/workflows", json={"name": name, "graph": graph})
            assert created.status_code == 201, created.text
            ids.append(int(created.json()["id"]))
    return ids[0], ids[1]


def panel_shows(node_id: str) -> str:
    """JS: the settings panel names ``node_id``."""
    return f"(document.querySelector('{PANEL} code') || {{}}).textContent === '{node_id}'"


def measure(page: Any, selector: str, done: str) -> float:
    return float(page.evaluate(CLICK_TO_DOM_JS, [selector, done]))


def builder_clicks(page: Any, rounds: int) -> dict[str, list[float]]:
    """Select a node, click the empty canvas, toggle a checkbox setting: each ``rounds`` times."""
    results: dict[str, list[float]] = {"select": [], "pane": [], "toggle": []}
    checkbox = f'{PANEL} button[role="checkbox"]'
    for i in range(rounds):
        node_id = ("in", "draft")[i % 2]
        results["select"].append(measure(page, f'[data-node-id="{node_id}"]', panel_shows(node_id)))
        results["pane"].append(measure(page, ".react-flow__pane", f"!document.querySelector('{PANEL} code')"))
        page.evaluate("document.querySelector('[data-node-id=\"fetch\"]').click()")
        page.wait_for_selector(checkbox)
        state = page.get_attribute(checkbox, "data-state")
        results["toggle"].append(measure(page, checkbox,
                                         f"document.querySelector('{checkbox}').dataset.state !== '{state}'"))
        page.evaluate("document.querySelector('.react-flow__pane').click()")
        page.wait_for_selector(f"{PANEL} code", state="detached")
    return results


def open_ms(context: Any, url: str, count: int, probe: str) -> dict[str, float]:
    """Marks (shell, canvas, nodes, interactive) in ms since navigation start, for one fresh tab."""
    page = context.new_page()
    page.add_init_script(OPEN_JS % (count, probe, PANEL))
    page.goto(url)
    page.wait_for_function("window.__dwcOpen.interactive !== undefined", timeout=60_000)
    marks = page.evaluate("window.__dwcOpen")
    page.close()
    return {name: float(value) for name, value in marks.items()}


def describe(opens: list[dict[str, float]]) -> str:
    return ", ".join(f"{name} {statistics.median(o[name] for o in opens):.0f}"
                     for name in ("shell", "canvas", "nodes", "interactive"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=40, help="rounds of each builder interaction")
    parser.add_argument("--nodes", type=int, default=200, help="size of the big workflow opened")
    parser.add_argument("--opens", type=int, default=5, help="times each workflow is opened (after one warm-up)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the app to start")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="dwc-bench-ui-"))
    port = free_port()
    url = f"http://localhost:{port}"
    server = start_app(port, data_dir, data_dir / "server.log")
    try:
        failure = app_start_failure(url, server, args.timeout, data_dir / "server.log")
        if failure:
            sys.exit(failure)
        small_id, big_id = api_workflows(url, args.nodes)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            # The measuring probes are string predicates (eval), which the app's CSP refuses to page scripts.
            context = browser.new_context(base_url=url, viewport={"width": 1440, "height": 900}, bypass_csp=True)
            page = context.new_page()
            page.set_content(STATIC_PAGE)
            baseline = [measure(page, "#b", "document.getElementById('out').textContent !== '0'")
                        if i == 0 else measure(page, "#b", f"document.getElementById('out').textContent === '{i + 1}'")
                        for i in range(args.clicks)]

            page.goto("/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Main").wait_for()
            page.goto(f"/workflows/{small_id}")
            page.wait_for_selector('[data-node-id="draft"]')
            builder_clicks(page, 3)  # warm-up: code paths, JIT, the first websocket deltas
            clicks = builder_clicks(page, args.clicks)

            big_probe = f"n{args.nodes // 2}"
            open_ms(context, f"/workflows/{small_id}", 3, "draft")  # warm-up: bundles in the HTTP cache
            small_opens = [open_ms(context, f"/workflows/{small_id}", 3, "draft") for _ in range(args.opens)]
            big_opens = [open_ms(context, f"/workflows/{big_id}", args.nodes, big_probe) for _ in range(args.opens)]
            page.goto(f"/workflows/{big_id}")
            page.wait_for_selector(f'[data-node-id="{big_probe}"]')
            big_select = [measure(page, f'[data-node-id="n{n}"]', panel_shows(f"n{n}"))
                          for n in range(1, args.clicks + 1)]
            browser.close()
    finally:
        stop_process_group(server)
    shutil.rmtree(data_dir, ignore_errors=True)

    every_click = clicks["select"] + clicks["pane"] + clicks["toggle"]
    for name, values in clicks.items():
        print(f"builder {name}: median {statistics.median(values):.1f} ms, p90 "
              f"{statistics.quantiles(values, n=10)[-1]:.1f} ms over {len(values)}")
    print(f"select a node with {args.nodes} on the canvas: median {statistics.median(big_select):.1f} ms")
    print(f"open 3 nodes, median ms since navigation: {describe(small_opens)}")
    print(f"open {args.nodes} nodes, median ms since navigation: {describe(big_opens)}")
    print(f"baseline_static_click_to_dom_ms_median={statistics.median(baseline):.2f}")
    print(f"baseline_open_3_nodes_ms={statistics.median(o['interactive'] for o in small_opens):.0f}")
    print(f"ui_click_to_dom_ms_median={statistics.median(every_click):.1f}")
    print(f"ui_click_to_dom_{args.nodes}_nodes_ms_median={statistics.median(big_select):.1f}")
    print(f"ui_open_{args.nodes}_nodes_ms={statistics.median(o['interactive'] for o in big_opens):.0f}")


if __name__ == "__main__":
    main()
