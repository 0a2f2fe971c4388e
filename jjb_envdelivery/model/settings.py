"""Settings a plugin declares, and the check of what a user wrote against them.

A provider lists its settings (``Provider.SETTINGS``), so the org file's
``environments.provider.settings`` is checked when the org file loads, with file and line,
not when an environment job first runs. The same check serves a provider constructed directly.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

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


# The credentials-binding kinds a plugin may ask for (JJB's ``credentials-binding`` types) and the
# variable options each takes: UsernamePasswordMultiBinding binds usernameVariable and
# passwordVariable, StringBinding and FileBinding one variable (credentials-binding-plugin
# impl/UsernamePasswordMultiBinding.java:48-51, Binding.java:51).
BINDING_KINDS = {
    "username-password-separated": ("username", "password"),
    "text": ("variable",),
    "file": ("variable",),
}
KIND_WORDS = {"username-password-separated": "username/password", "text": "secret text", "file": "secret file"}
ENV_VARIABLE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CredentialNeed:
    """The Jenkins credential a plugin reads from environment variables, so that the jobs that
    run it bind one (the org file names its ID): the credentials-binding `kind`, and for each
    of the kind's variable options the setting that names the variable, e.g.
    ``CredentialNeed("username-password-separated", {"username": "user-env", "password": "token-env"})``.
    """

    kind: str
    variables: dict = field(hash=False)
    help: str = ""

    def __post_init__(self):
        slots = BINDING_KINDS.get(self.kind)
        if slots is None:
            raise TypeError(f"credential kind {self.kind!r} is not one of {', '.join(BINDING_KINDS)}")
        if set(self.variables) != set(slots):
            raise TypeError(f"a {self.kind} credential names the settings for {', '.join(slots)}, "
                            f"not {', '.join(self.variables) or 'none'}")

    def describe(self, settings: dict) -> str:
        """What the plugin reads, for messages:
        "a username/password credential (username in SKYTAP_USER, password in SKYTAP_TOKEN)"."""
        where = ", ".join(f"{slot} in {settings.get(setting)}" for slot, setting in self.variables.items())
        return f"a {KIND_WORDS[self.kind]} credential ({where})"


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


def _check(declared: tuple[Setting, ...], pairs, missing_at) -> tuple[dict, list[tuple[object, str, str]]]:
    """`pairs`: (key, value, key_at, value_at), where `*_at` is what a problem is reported at;
    returns the given values and every problem as (at, key, message)."""
    by_name = {s.name: s for s in declared}
    values: dict = {}
    problems = []
    for key, raw, key_at, value_at in pairs:
        if key not in by_name:
            problems.append((key_at, key, unknown_key(key, declared)))
        elif key in values:
            problems.append((key_at, key, f"duplicate key {key!r}"))
        else:
            value, message = check_value(by_name[key], raw)
            if message:
                problems.append((value_at, key, message))
            values[key] = value
    problems += [(missing_at, s.name, missing_key(s)) for s in declared if s.required and s.name not in values]
    return values, problems


def read_settings(reader: NodeReader, node, declared: tuple[Setting, ...], field: str,
                  parent=None) -> dict | None:
    """Check a settings mapping node (None when left out; then `parent` carries the line of a
    missing required setting). Returns the values with defaults filled in, or None after
    recording every problem with the reader."""
    if node is not None and not isinstance(node, yaml.MappingNode):
        reader.problem(node, field, "expected a mapping")
        return None
    pairs = [(k.value if isinstance(k, yaml.ScalarNode) else None, reader.plain(v), k, v)
             for k, v in (node.value if node is not None else [])]
    values, problems = _check(declared, pairs, node if node is not None else parent)
    for at, key, message in problems:
        reader.problem(at, f"{field}.{key}", message)
    return None if problems else _with_defaults(declared, values)


def apply_settings(declared: tuple[Setting, ...], settings: dict, field: str = "settings") -> tuple[dict, list[str]]:
    """The plain-data form of `read_settings` (a provider constructed without an org file):
    the values with defaults, and every problem as ``field.key: message``."""
    values, problems = _check(declared, [(key, raw, None, None) for key, raw in settings.items()], None)
    return _with_defaults(declared, values), [f"{field}.{key}: {message}" for _, key, message in problems]
