"""Read YAML as nodes that remember their line, so every problem can name file and line."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import Problem

_MISSING = object()


class NodeReader:
    """Collects problems while turning YAML nodes into plain values.

    Every accessor records a :class:`Problem` and returns ``None`` instead of raising, so
    one pass reports everything wrong with a file.
    """

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def compose(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self.problems.append(Problem(self.path, None, "", f"cannot read the file: {exc.strerror}"))
            return None
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            self.problems.append(Problem(self.path, line, "", f"not valid YAML: {exc.problem}"))
            return None

    def problem(self, node: yaml.Node | None, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(self.path, line, field, message))

    def mapping(self, node, field: str, keys: dict[str, bool]) -> dict[str, yaml.Node] | None:
        """A mapping's values by key; `keys` maps each allowed key to whether it is required."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, field, f"expected a mapping with keys {', '.join(keys)}, got {_kind(node)}")
            return None
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{field}.{key}" if field else str(key)
            if key not in keys:
                allowed = ", ".join(keys)
                self.problem(key_node, where, f"unknown key {key!r}; expected one of: {allowed}")
            elif key in values:
                self.problem(key_node, where, f"duplicate key {key!r}")
            else:
                values[key] = value_node
        for key, required in keys.items():
            if required and key not in values:
                self.problem(node, f"{field}.{key}" if field else key, "required key is missing")
        return values

    def scalar(self, node, field: str, kind: type | tuple = str, default=_MISSING):
        if node is None:
            return None if default is _MISSING else default
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, field, f"expected {type_name(kind)}, got {_kind(node)}")
            return None
        value = self._constructor.construct_object(node)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.problem(node, field, f"expected {type_name(kind)}, got {value!r}")
            return None
        if isinstance(value, str) and not value.strip():
            self.problem(node, field, "must not be empty")
            return None
        return value

    def sequence(self, node, field: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, f"expected a list, got {_kind(node)}")
            return None
        return list(node.value)

    def string_list(self, node, field: str) -> list[tuple[str, yaml.Node]] | None:
        items = self.sequence(node, field)
        if items is None:
            return None
        values = []
        for index, item in enumerate(items):
            value = self.scalar(item, f"{field}[{index}]")
            if value is not None:
                values.append((value, item))
        return values

    def plain(self, node) -> object:
        """Any YAML value as plain Python data (provider settings, environment configurations)."""
        return self._constructor.construct_document(node) if node is not None else None


def _kind(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        return f"the scalar {node.value!r}" if node.value else "an empty value"
    return "nothing"


def type_name(kind) -> str:
    """`kind` (a type or a tuple of types) as a message says it: "a string or a whole number"."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def describe(value) -> str:
    """A plain value as a message says what it got: containers by kind, scalars as written."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "an empty value" if value is None else repr(value)
