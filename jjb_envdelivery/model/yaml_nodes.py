"""Read YAML as nodes that remember their line, so every problem can name file and line."""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.events import AliasEvent

from ..errors import EnvDeliveryError, Problem, utf8_problem

_MISSING = object()


class BoundedComposer:
    """A mixin for a PyYAML loader: refuses a document nested deeper than ``max_nesting`` or
    larger than ``max_expanded_size`` (nodes plus scalar characters) once its aliases are
    expanded, calling ``refuse(mark, breach, message)``, which must raise; `breach` is one of
    ``NESTING``, ``RECURSIVE``, ``EXPANDED_SIZE``, for a subclass to word its own message.

    The composer is where aliases become shared nodes; sizing each shared node once but
    counting it once per use refuses a billion-laughs document in time proportional to its
    text, before a constructor (or JJB) copies it. Bounding the nesting keeps PyYAML's
    recursive composer and constructor below Python's recursion limit.
    """

    max_nesting: int = 64
    max_expanded_size: int = 1 << 23
    _nesting = 0

    NESTING, RECURSIVE, EXPANDED_SIZE = "nesting", "recursive", "expanded-size"

    def refuse(self, mark, breach: str, message: str):
        raise NotImplementedError

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            return super().compose_node(parent, index)
        self._nesting += 1
        try:
            if self._nesting > self.max_nesting:
                self._refuse_nesting(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1

    def compose_document(self):
        node = super().compose_document()
        if node is not None:
            self._check_expanded(node)
        return node

    def _refuse_nesting(self, mark):
        self.refuse(mark, self.NESTING, f"nesting deeper than the limit of {self.max_nesting} levels")

    def _check_expanded(self, root) -> None:
        """Size and depth of the document with its aliases expanded. Aliases nest too (``&b [*a]``,
        ``&c [*b]``...): a node met again deeper than before is refused by its known height."""
        limit = self.max_expanded_size
        sizes: dict[int, tuple[int, int]] = {}  # id -> (expanded size, height)
        open_nodes: set[int] = set()

        def walk(node, depth: int) -> tuple[int, int]:
            key = id(node)
            if key in open_nodes:
                self.refuse(node.start_mark, self.RECURSIVE,
                            "an alias refers to a node that contains it; recursive structures are not allowed")
            known = sizes.get(key)
            if known is None:
                if depth > self.max_nesting:
                    self._refuse_nesting(node.start_mark)
                open_nodes.add(key)
                total = 1 + len(node.value) if isinstance(node, yaml.ScalarNode) else 1
                height = 1
                for child in _children(node):
                    child_size, child_height = walk(child, depth + 1)
                    total += child_size
                    height = max(height, child_height + 1)
                    if total > limit:
                        self.refuse(node.start_mark, self.EXPANDED_SIZE, "with its aliases expanded this grows "
                                    f"beyond the limit of {limit} (nodes plus scalar characters)")
                open_nodes.discard(key)
                known = sizes[key] = (total, height)
            if depth + known[1] - 1 > self.max_nesting:
                self._refuse_nesting(node.start_mark)
            return known

        walk(root, 1)


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _TooMuch(Exception):
    """A document beyond the reader's bounds: one line, already naming file and line."""


class _BoundedSafeLoader(BoundedComposer, yaml.SafeLoader):
    """PyYAML's safe loader within a NodeReader's bounds."""

    def __init__(self, text: str, reader: NodeReader):
        super().__init__(text)
        self.path, self.max_nesting, self.max_expanded_size = reader.path, reader.max_nesting, reader.max_expanded_size

    def refuse(self, mark, breach: str, message: str):
        raise _TooMuch(str(Problem(self.path, mark.line + 1, "", message)))


class NodeReader:
    """Collects problems while turning YAML nodes into plain values.

    Every accessor records a :class:`Problem` and returns ``None`` instead of raising, so
    one pass reports everything wrong with a file.
    """

    # Bounds on one file: these are hand-written settings files, far below any of them.
    max_bytes = 1 << 20
    max_nesting = 64
    max_expanded_size = 1 << 20

    def __init__(self, path: Path, what: str = "a YAML file"):
        self.path = path
        self.what = what  # names the kind of file in a whole-file refusal
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def compose(self) -> yaml.Node | None:
        """The document's root node (None if empty or not YAML, recorded as a problem).

        A file nothing can be checked in (not UTF-8, too large, nested too deeply, or growing
        too large through its aliases) raises a one-line ``EnvDeliveryError`` instead."""
        try:
            size = self.path.stat().st_size  # before reading: a huge file is refused unread
            if size <= self.max_bytes:
                data = self.path.read_bytes()
        except OSError as exc:
            self.problems.append(Problem(self.path, None, "", f"cannot read the file: {exc.strerror}"))
            return None
        if size > self.max_bytes:
            raise EnvDeliveryError(f"{self.path}: {self.what} of {size} bytes, more than the limit of {self.max_bytes}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            problem = utf8_problem(self.path) or f"{self.path}: not UTF-8"
            raise EnvDeliveryError(f"{problem}; {self.what} must be UTF-8 text") from None
        try:
            loader = _BoundedSafeLoader(text, self)
        except yaml.reader.ReaderError as exc:
            # The reader refuses control characters (NUL, BEL...) before parsing starts.
            line = text.count("\n", 0, exc.position) + 1
            self.problems.append(Problem(self.path, line, "", f"not valid YAML: character {exc.character:#06x} "
                                         "(control characters are not allowed)"))
            return None
        try:
            return loader.get_single_node()
        except _TooMuch as exc:
            raise EnvDeliveryError(str(exc)) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            self.problems.append(Problem(self.path, line, "", f"not valid YAML: {exc.problem}"))
            return None
        finally:
            loader.dispose()

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
