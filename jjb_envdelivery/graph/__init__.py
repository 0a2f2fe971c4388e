"""The pipeline graph of an organisation: jobs, the repositories that start them, and the
scm/trigger/artifact/generates edges between them; its checks and its pictures."""

from .build import build_graph
from .checks import GraphCheckError, GraphProblem, Level, check, check_or_raise, check_warnings
from .model import Edge, Graph, Node, Reference

__all__ = [
    "Edge", "Graph", "GraphCheckError", "GraphProblem", "Level", "Node", "Reference", "build_graph", "check",
    "check_or_raise", "check_warnings",
]
