"""The pipeline graph of an organisation: jobs, the repositories that start them, and the
scm/trigger/artifact/generates edges between them; its checks and its pictures."""

from .build import build_graph
from .checks import GraphCheckError, GraphProblem, check, check_or_raise
from .model import Edge, Graph, Node, Reference

__all__ = [
    "Edge", "Graph", "GraphCheckError", "GraphProblem", "Node", "Reference", "build_graph", "check",
    "check_or_raise",
]
