"""Settings a plugin declares, and the check of what a user wrote against them.

A provider lists its settings (``Provider.SETTINGS``), so the org file's
``environments.provider.settings`` is checked when the org file loads, with file and line,
not when an environment job first runs. The same check serves a provider constructed directly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import yaml

from .yaml_nodes import NodeReader, describe, type_name

KINDS = (str, int, float, bool, list, dict)

# Keys that would hold a secret: the org file is in a repository, so they are refused with a hint.
CREDENTIAL_KEYS = {"user", "username", "password", "passwd", "token", "api-token", "api-key", "secret",
                   "credentials"}


@dataclass(frozen=True)
class Setting:
    """One setting: its key, what it must be, and its default when left out.

    `type` is one of str, int, float, bool, list, dict or a tuple of them; a float setting
    accepts a whole number. A default of None means "absent unless given".
    """

    name: str
    type: type | tuple = str
    required: bool = False
    default: object = None
    help: str = ""
    choices: tuple = ()

    def __post_init__(self):
        if not set(self.kinds) <= set(KINDS):
            raise TypeError(f"setting {self.name!r}: type must be among {', '.join(k.__name__ for k in KINDS)}")
        if self.required and self.default is not None:
            raise TypeError(f"setting {self.name!r}: a required setting has no default")
        if self.default is not None and check_value(self, self.default)[1]:
            raise TypeError(f"setting {self.name!r}: the default {self.default!r} is not a valid value")

    @property
    def kinds(self) -> tuple:
        return self.type if isinstance(self.type, tuple) else (self.type,)


def check_value(setting: Setting, value) -> tuple[object, str | None]:
    """The value to use, or a message saying what is wrong with it."""
    kinds = setting.kinds
    if isinstance(value, bool):
        ok = bool in kinds
    elif isinstance(value, int) and float in kinds and int not in kinds:
        value, ok = float(value), True
    else:
        ok = isinstance(value, kinds)
    if not ok:
        return None, f"expected {type_name(setting.type)}, got {describe(value)}"
    if isinstance(value, str) and not value.strip():
        return None, "must not be empty"
    if setting.choices and value not in setting.choices:
        return None, f"{value!r} is not one of: {', '.join(map(str, setting.choices))}"
    return value, None


def unknown_key(key, declared: tuple[Setting, ...]) -> str:
    known = ", ".join(s.name for s in declared) or "none (this provider takes no settings)"
    message = f"unknown key {key!r}; expected one of: {known}"
    if str(key).lower().replace("_", "-") in CREDENTIAL_KEYS:
        message += (" (credentials never go in the org file: name the environment variable or Jenkins "
                    "credential that holds them)")
    return message


def missing_key(setting: Setting) -> str:
    return f"required key is missing ({setting.help})" if setting.help else "required key is missing"


def _with_defaults(declared: tuple[Setting, ...], values: dict) -> dict:
    for setting in declared:
        if setting.name not in values and setting.default is not None:
            values[setting.name] = copy.deepcopy(setting.default)
    return values


def read_settings(reader: NodeReader, node, declared: tuple[Setting, ...], field: str,
                  parent=None) -> dict | None:
    """Check a settings mapping node (None when left out; then `parent` carries the line of a
    missing required setting). Returns the values with defaults filled in, or None after
    recording every problem with the reader."""
    problems = len(reader.problems)
    pairs = []
    if node is not None:
        if not isinstance(node, yaml.MappingNode):
            reader.problem(node, field, "expected a mapping")
            return None
        pairs = node.value
    by_name = {s.name: s for s in declared}
    values: dict = {}
    for key_node, value_node in pairs:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        where = f"{field}.{key}"
        if key not in by_name:
            reader.problem(key_node, where, unknown_key(key, declared))
        elif key in values:
            reader.problem(key_node, where, f"duplicate key {key!r}")
        else:
            value, message = check_value(by_name[key], reader.plain(value_node))
            if message:
                reader.problem(value_node, where, message)
            values[key] = value
    for setting in declared:
        if setting.required and setting.name not in values:
            reader.problem(node if node is not None else parent, f"{field}.{setting.name}", missing_key(setting))
    return _with_defaults(declared, values) if len(reader.problems) == problems else None


def apply_settings(declared: tuple[Setting, ...], settings: dict, field: str = "settings") -> tuple[dict, list[str]]:
    """The plain-data form of `read_settings` (a provider constructed without an org file):
    the values with defaults, and every problem as ``field.key: message``."""
    problems, values = [], {}
    by_name = {s.name: s for s in declared}
    for key, raw in settings.items():
        if key not in by_name:
            problems.append(f"{field}.{key}: {unknown_key(key, declared)}")
            continue
        value, message = check_value(by_name[key], raw)
        if message:
            problems.append(f"{field}.{key}: {message}")
        values[key] = value
    problems += [f"{field}.{s.name}: {missing_key(s)}" for s in declared if s.required and s.name not in settings]
    return _with_defaults(declared, values), problems
