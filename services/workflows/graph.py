"""The workflow graph contract (nodes with a type and config, edges between them) and its shape.

This is the JSON the builder and the API exchange; ``validation`` checks it against the node
catalogue, this module only knows its structure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
MAX_NODES = 2000


class Position(BaseModel):
    x: float = 0.0
    y: float = 0.0


class NodeSpec(BaseModel):
    """A node of the graph. Its id doubles as the name templates use for its output."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NODE_ID_PATTERN, description="Letters, digits and _; templates refer to it by this name.")
    type: str = Field(min_length=1, max_length=50)
    config: dict[str, Any] = Field(default_factory=dict)
    position: Position | None = None
    label: str = Field(default="", max_length=200)


class EdgeSpec(BaseModel):
    """``source`` feeds ``target``; ``source_handle`` picks a branch of a condition node."""

    model_config = ConfigDict(extra="forbid")

    source: str
    target: str
    source_handle: str | None = Field(default=None, max_length=50)
    id: str | None = Field(default=None, max_length=200)


class Graph(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeSpec] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[EdgeSpec] = Field(default_factory=list, max_length=MAX_NODES * 4)

    @cached_property
    def nodes_by_id(self) -> dict[str, NodeSpec]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def incoming(self) -> dict[str, list[EdgeSpec]]:
        result: dict[str, list[EdgeSpec]] = {node.id: [] for node in self.nodes}
        for edge in self.edges:
            result.setdefault(edge.target, []).append(edge)
        return result

    @cached_property
    def outgoing(self) -> dict[str, list[EdgeSpec]]:
        result: dict[str, list[EdgeSpec]] = {node.id: [] for node in self.nodes}
        for edge in self.edges:
            result.setdefault(edge.source, []).append(edge)
        return result

    def topological_order(self) -> list[str] | None:
        """Node ids with every node after its sources (Kahn's algorithm), or None if there is a cycle."""
        indegree = dict.fromkeys(self.nodes_by_id, 0)
        for edge in self.edges:
            if edge.source in indegree and edge.target in indegree:
                indegree[edge.target] += 1
        ready = deque(node_id for node_id, degree in indegree.items() if degree == 0)
        order: list[str] = []
        while ready:
            node_id = ready.popleft()
            order.append(node_id)
            for edge in self.outgoing.get(node_id, []):
                if edge.target in indegree:
                    indegree[edge.target] -= 1
                    if indegree[edge.target] == 0:
                        ready.append(edge.target)
        return order if len(order) == len(indegree) else None

    def ancestors(self, node_id: str) -> set[str]:
        """Every node whose output can flow into ``node_id``."""
        seen: set[str] = set()
        stack = [edge.source for edge in self.incoming.get(node_id, [])]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(edge.source for edge in self.incoming.get(current, []))
        return seen

    def descendants(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and every node downstream of them."""
        seen: set[str] = set()
        stack = list(node_ids)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(edge.target for edge in self.outgoing.get(current, []))
        return seen

    def nodes_of_type(self, node_type: str) -> list[NodeSpec]:
        return [node for node in self.nodes if node.type == node_type]
