// React Flow canvas for the workflow builder, wrapped by components/flow.py.
// Nodes and edges are kept in React state here, so dragging never waits for the server: only
// finished gestures (drag end, delete, connect, click, drop from the palette) are sent to Python.
// Run badges come in a separate, small `statuses` prop merged here, so a step event never resends
// the whole graph; keyboard shortcuts (undo, redo, save) are reported as events.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background, Controls, Handle, MiniMap, Position, ReactFlow, applyEdgeChanges, applyNodeChanges,
} from "@xyflow/react";
import {
  Bell, Box, Check, Clock, FileCode, FileOutput, FileText, GitBranch, Globe, Layers, Loader, LogIn, Merge,
  ScanText, Sparkles, Timer, UserCheck, X,
} from "lucide-react";
import "@xyflow/react/dist/style.css";

const ICONS = {
  "log-in": LogIn, "file-output": FileOutput, sparkles: Sparkles, "scan-text": ScanText, "file-code": FileCode,
  "git-branch": GitBranch, globe: Globe, bell: Bell, "user-check": UserCheck, timer: Timer, merge: Merge,
  layers: Layers, box: Box, "file-text": FileText,
};

const STATUS = {
  queued: { colour: "#64748b", Icon: Clock, label: "queued" },
  running: { colour: "#2563eb", Icon: Loader, label: "running", spin: true },
  retrying: { colour: "#d97706", Icon: Loader, label: "retrying", spin: true },
  waiting: { colour: "#9333ea", Icon: UserCheck, label: "waiting for approval" },
  succeeded: { colour: "#16a34a", Icon: Check, label: "succeeded" },
  failed: { colour: "#dc2626", Icon: X, label: "failed" },
  skipped: { colour: "#94a3b8", Icon: Clock, label: "skipped" },
  cancelled: { colour: "#94a3b8", Icon: X, label: "cancelled" },
};

const SPIN_CSS = "@keyframes dwc-spin{from{transform:rotate(0)}to{transform:rotate(360deg)}}";

function StatusBadge({ status, text, title }) {
  const look = STATUS[status];
  if (!look) return null;
  const { Icon } = look;
  return (
    <span data-testid="node-status" data-status={status} title={title || text || look.label}
      style={{ display: "inline-flex", alignItems: "center", gap: 3, fontSize: 10, padding: "1px 6px",
        borderRadius: 999, color: "white", background: look.colour, whiteSpace: "nowrap", maxWidth: 120,
        minWidth: 0 }}>
      <Icon size={10} style={{ flexShrink: 0, ...(look.spin ? { animation: "dwc-spin 1s linear infinite" } : {}) }} />
      <span style={{ overflow: "hidden", textOverflow: "ellipsis" }}>{text || look.label}</span>
    </span>
  );
}

const DwcNode = memo(function DwcNode({ id, data, selected }) {
  const Icon = ICONS[data.icon] || Box;
  const errors = data.errors || [];
  const handles = data.handles || [];
  const border = errors.length ? "#dc2626" : selected ? "#4f46e5" : "#cbd5e1";
  return (
    <div data-testid="flow-node" data-node-id={id} data-node-type={data.type} data-invalid={errors.length ? "true" : "false"}
      style={{ minWidth: 180, maxWidth: 240, background: "var(--color-panel-solid, white)", color: "inherit",
        border: `2px solid ${border}`, borderRadius: 10, boxShadow: selected ? "0 0 0 3px #c7d2fe" : "none",
        fontSize: 12 }}>
      {data.accepts_input && <Handle type="target" position={Position.Left} id="in" data-testid="handle-in" />}
      <div style={{ display: "flex", alignItems: "center", gap: 6, padding: "6px 8px",
        borderBottom: "1px solid #e2e8f0", borderLeft: `4px solid ${data.colour}`, borderRadius: "8px 8px 0 0" }}>
        <Icon size={14} color={data.colour} />
        <strong style={{ flex: 1, minWidth: 48, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
          {data.title}
        </strong>
        <StatusBadge status={data.status} text={data.status_text} title={data.status_title} />
      </div>
      <div style={{ padding: "4px 8px", color: "#64748b", fontFamily: "monospace" }}>{id}</div>
      {errors.length > 0 && (
        <ul data-testid="node-errors" style={{ margin: 0, padding: "2px 8px 6px 20px", color: "#dc2626" }}>
          {errors.slice(0, 3).map((message, i) => <li key={i}>{message}</li>)}
        </ul>
      )}
      {handles.map((handle, i) => (
        <Handle key={handle} type="source" position={Position.Right} id={handle}
          data-testid={`handle-out-${handle}`}
          style={{ top: `${((i + 1) * 100) / (handles.length + 1)}%`,
            background: handle === "true" ? "#16a34a" : handle === "false" ? "#dc2626" : undefined }}>
          {handles.length > 1 && (
            <span style={{ position: "absolute", left: 10, top: -7, fontSize: 9, color: "#64748b" }}>{handle}</span>
          )}
        </Handle>
      ))}
    </div>
  );
});

const NODE_TYPES = { dwc: DwcNode };
const SNAP = [20, 20];
const DROP_TYPE = "application/x-dwc-node-type";

// Palette items only need draggable="true" and data-palette-type: one listener for all of them.
if (typeof document !== "undefined" && !window.__dwcPaletteDrag) {
  window.__dwcPaletteDrag = true;
  document.addEventListener("dragstart", (event) => {
    const item = event.target.closest && event.target.closest("[data-palette-type]");
    if (item) {
      event.dataTransfer.setData(DROP_TYPE, item.dataset.paletteType);
      event.dataTransfer.effectAllowed = "copy";
    }
  });
}

function mergeNodes(previous, incoming) {
  // Server nodes replace ours, but what React Flow measured and selected stays (no flicker).
  const before = new Map(previous.map((node) => [node.id, node]));
  return (incoming || []).map((node) => {
    const old = before.get(node.id);
    return old ? { ...node, measured: old.measured, selected: old.selected } : node;
  });
}

function withStatuses(nodes, statuses) {
  if (!statuses || !Object.keys(statuses).length) return nodes;
  return nodes.map((node) => {
    const badge = statuses[node.id];
    return badge ? {
      ...node, data: { ...node.data, status: badge.status, status_text: badge.text, status_title: badge.title },
    } : node;
  });
}

function isTyping(target) {
  const tag = target && target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
}

// ctrl/cmd+z undo, ctrl/cmd+shift+z or ctrl/cmd+y redo, ctrl/cmd+s save. Undo inside a text field
// stays the browser's own; save works everywhere (and never opens the browser's "save page" dialog).
function useShortcuts(readOnly, call) {
  useEffect(() => {
    if (readOnly) return undefined;
    const onKey = (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      if (key === "s") {
        event.preventDefault();
        call("onSave");
      } else if (!isTyping(event.target) && (key === "y" || (key === "z" && event.shiftKey))) {
        event.preventDefault();
        call("onRedo");
      } else if (!isTyping(event.target) && key === "z") {
        event.preventDefault();
        call("onUndo");
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [readOnly, call]);
}

const FIT_VIEW_OPTIONS = { padding: 0.2, maxZoom: 1 };
const PRO_OPTIONS = { hideAttribution: true };
const DELETE_KEYS = ["Backspace", "Delete"];
// Edges in the theme's mid grey: React Flow's own dark-mode grey is barely visible on a dark page.
const FRAME_STYLE = { width: "100%", height: "100%", contain: "strict", "--xy-edge-stroke": "var(--gray-9)" };
const miniMapColour = (node) => (node.data && node.data.colour) || "#94a3b8";

export function DwcFlow(props) {
  const { nodes: serverNodes, edges: serverEdges, statuses, readOnly, snapToGrid, fitView, colorMode } = props;
  // Reflex hands new handler functions on every render of the page; the canvas calls the latest
  // through this ref, so its own callbacks stay stable and a page update (say, the side panel
  // filling in) does not re-render React Flow and its nodes.
  const latest = useRef(props);
  latest.current = props;
  const call = useCallback((name, ...args) => {
    const handler = latest.current[name];
    if (handler) handler(...args);
  }, []);
  const [nodes, setNodes] = useState(() => serverNodes || []);
  const [edges, setEdges] = useState(() => serverEdges || []);
  const flow = useRef(null);
  const shown = useMemo(() => withStatuses(nodes, statuses), [nodes, statuses]);

  useEffect(() => setNodes((previous) => mergeNodes(previous, serverNodes)), [serverNodes]);
  useEffect(() => setEdges(serverEdges || []), [serverEdges]);
  useShortcuts(readOnly, call);

  const nodesChanged = useCallback((changes) => {
    setNodes((current) => applyNodeChanges(changes, current));
    const removed = changes.filter((c) => c.type === "remove").map((c) => ({ type: "remove", id: c.id }));
    if (removed.length) call("onNodesChange", removed);
  }, [call]);

  const edgesChanged = useCallback((changes) => {
    setEdges((current) => applyEdgeChanges(changes, current));
    const removed = changes.filter((c) => c.type === "remove").map((c) => ({ type: "remove", id: c.id }));
    if (removed.length) call("onEdgesChange", removed);
  }, [call]);

  const connected = useCallback((c) => {
    call("onConnect", { source: c.source, target: c.target, source_handle: c.sourceHandle || null });
  }, [call]);

  const dragStopped = useCallback((_event, _node, dragged) => {
    call("onNodeDragStop",
      (dragged || []).map((n) => ({ id: n.id, x: Math.round(n.position.x), y: Math.round(n.position.y) })));
  }, [call]);

  const dropped = useCallback((event) => {
    const type = event.dataTransfer.getData(DROP_TYPE);
    if (!type || !flow.current || latest.current.readOnly) return;
    event.preventDefault();
    const at = flow.current.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    call("onDropNode", { type, x: Math.round(at.x), y: Math.round(at.y) });
  }, [call]);

  const draggedOver = useCallback((event) => {
    if (!latest.current.readOnly) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  }, []);

  // Only selections of several elements are reported (and the moment one ends): a single click is
  // already onNodeClick, and one event per click keeps selecting a node cheap.
  const reportedMany = useRef(false);
  const selectionChanged = useCallback(({ nodes: picked, edges: pickedEdges }) => {
    const many = (picked || []).length + (pickedEdges || []).length > 1;
    if (!many && !reportedMany.current) return;
    reportedMany.current = many;
    call("onSelectionChange", { nodes: (picked || []).map((n) => n.id), edges: (pickedEdges || []).map((e) => e.id) });
  }, [call]);

  const initialised = useCallback((instance) => { flow.current = instance; }, []);
  const nodeClicked = useCallback((_event, node) => call("onNodeClick", node.id), [call]);
  const paneClicked = useCallback(() => call("onPaneClick"), [call]);

  // The same element while nothing it shows changed: React skips the whole canvas subtree.
  return useMemo(() => (
    <div style={FRAME_STYLE} data-testid="flow-canvas" data-read-only={readOnly ? "true" : "false"}>
      <style>{SPIN_CSS}</style>
      <ReactFlow
        nodes={shown} edges={edges} nodeTypes={NODE_TYPES} onInit={initialised}
        onNodesChange={nodesChanged} onEdgesChange={edgesChanged} onConnect={readOnly ? undefined : connected}
        onNodeClick={nodeClicked} onPaneClick={paneClicked} onSelectionChange={selectionChanged}
        onNodeDragStop={dragStopped} onDrop={dropped} onDragOver={draggedOver}
        nodesDraggable={!readOnly} nodesConnectable={!readOnly} elementsSelectable
        deleteKeyCode={readOnly ? null : DELETE_KEYS}
        snapToGrid={snapToGrid} snapGrid={SNAP} fitView={fitView} fitViewOptions={FIT_VIEW_OPTIONS}
        minZoom={0.1} proOptions={PRO_OPTIONS} colorMode={colorMode || "light"}>
        <Background variant="dots" gap={20} size={1} />
        <MiniMap pannable zoomable nodeColor={miniMapColour} />
        <Controls showInteractive={!readOnly} />
      </ReactFlow>
    </div>
  ), [shown, edges, readOnly, snapToGrid, fitView, colorMode, initialised, nodesChanged, edgesChanged, connected, nodeClicked,
    paneClicked, selectionChanged, dragStopped, dropped, draggedOver]);
}
