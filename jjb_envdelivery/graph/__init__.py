"""The pipeline graph of an organisation: jobs, the repositories that start them, and the
scm/trigger/artifact/generates edges between them; its checks and its pictures."""

from .build import build_graph, graph_of_organisation
from .checks import GraphCheckError, Problem, check, check_or_raise, check_organisation, check_scopes
from .model import Edge, Graph, Node, Reference

__all__ = [
    "Edge", "Graph", "GraphCheckError", "Node", "Problem", "Reference", "build_graph", "check",
    "check_or_raise", "check_organisation", "check_scopes", "graph_of_organisation",
]
