"""The explicit list of node types. A duplicate name fails at import, not at run time."""

from __future__ import annotations

from typing import Any

from services import errors
from services.workflows.nodes.ai_analyze import AIAnalyzeNode
from services.workflows.nodes.ai_generate import AIGenerateNode
from services.workflows.nodes.base import NodeType
from services.workflows.nodes.condition import ConditionNode
from services.workflows.nodes.delay import DelayNode
from services.workflows.nodes.http_request import HttpRequestNode
from services.workflows.nodes.human_approval import HumanApprovalNode
from services.workflows.nodes.input import InputNode
from services.workflows.nodes.load_document import LoadDocumentNode
from services.workflows.nodes.map import MapNode
from services.workflows.nodes.merge import MergeNode
from services.workflows.nodes.notify import NotifyNode
from services.workflows.nodes.output import OutputNode
from services.workflows.nodes.template import TemplateNode

NODE_TYPES: tuple[type[NodeType[Any]], ...] = (
    InputNode, OutputNode, AIGenerateNode, AIAnalyzeNode, TemplateNode, ConditionNode, HttpRequestNode,
    NotifyNode, HumanApprovalNode, DelayNode, MergeNode, MapNode, LoadDocumentNode,
)


def build_registry(types: tuple[type[NodeType[Any]], ...]) -> dict[str, NodeType[Any]]:
    """One instance per type name; refuses a name registered twice."""
    registry: dict[str, NodeType[Any]] = {}
    for node_type in types:
        if node_type.type_name in registry:
            raise RuntimeError(f"node type {node_type.type_name!r} is registered twice")
        registry[node_type.type_name] = node_type()
    return registry


REGISTRY = build_registry(NODE_TYPES)


def get_node_type(name: str) -> NodeType[Any]:
    node_type = REGISTRY.get(name)
    if node_type is None:
        raise errors.ValidationFailed(f"unknown node type {name!r}; known types: {', '.join(sorted(REGISTRY))}")
    return node_type


def catalogue() -> list[dict[str, Any]]:
    """Every node type with its JSON Schema, for the builder's palette and forms."""
    return [node_type.catalogue_entry() for node_type in REGISTRY.values()]
