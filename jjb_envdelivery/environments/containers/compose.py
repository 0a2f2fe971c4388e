"""The Compose file of a variant: the part of the Compose format (compose-spec.io) the container
provider can run, read with every problem at once and the rest refused by key.

Supported (Compose spec, "Services", "Networks", "Volumes", "Interpolation", "Fragments",
"Extension"; https://docs.docker.com/reference/compose-file/)::

    name: shop                               # optional project name; `version` is ignored
    x-defaults: &defaults                    # x-* keys are ignored: anchors for `<<` merges
      user: "1000:1000"
    services:                                # required; started in dependency order
      web:                                   # lower-case name: it becomes part of container names
        <<: *defaults                        # YAML merge: keys written here win
        image: ${REGISTRY}/web:${RELEASE}    # required; only the given variables are known
        command: serve --port 8080           # a string is split like a shell; or a list
        entrypoint: ["/bin/web"]
        environment: [DB_URL=postgres://db/shop]   # or a mapping; null is ""
        networks: [front, back]              # or a mapping of name: null / {}; default: [default]
        volumes:
          - web-data:/var/lib/web:ro         # short syntax, or long: {type: volume, source, target, read_only}
        depends_on:                          # a list (service_started) or a mapping with a condition
          db: {condition: service_healthy}   # service_started | service_healthy | service_completed_successfully
        ports: [8080, "8443/tcp"]            # container ports only: each deploy picks free loopback ports
        healthcheck:
          test: ["CMD", "curl", "-f", "http://localhost:8080/health"]   # or CMD-SHELL, a string, NONE
          interval: 10s                      # durations: 1m30s, 500ms, 2h, or seconds as a number
          timeout: 2s
          retries: 5
          start_period: 30s
        working_dir: /srv/web
      db:
        image: ${REGISTRY}/db:${RELEASE:-current}
        networks: [back]
        volumes: [db-data:/var/lib/postgresql/data]
        healthcheck: {test: pg_isready, interval: 2s}
    networks: {front: {}, back: }            # names only: drivers, IPAM and external are refused
    volumes: {web-data: {}, db-data: }       # named volumes only

Interpolation (``${VAR}``, ``$VAR``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``,
``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}``, ``$$`` for ``$``) applies to every string
value read (not to keys, nor under the ignored ``x-*`` keys), and knows only the variables the
provider gives (never this process's environment). Unlike Compose, a variable neither given nor
defaulted is a problem, not an empty string: an image reference with an empty tag is worse than a
refusal.

Refused, by key with file and line: bind mounts and anything else that reaches the host
(``privileged``, ``network_mode``, ``devices``...), ``build``, published host ports, and every key
not listed above. Problems are reported as ``ConfigError`` lines ``path:line: field: message``; a
file nothing can be checked in (not UTF-8, too large, nested too deeply, an alias bomb) is one
such problem (``NodeReader``'s bounds).
"""

from __future__ import annotations

import heapq
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from ...errors import ConfigError, EnvDeliveryError, Problem
from ...model.yaml_nodes import NodeReader

WHAT = "Compose file"
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# An image reference as the engine parses one ([registry[:port]/]path[:tag][@digest], the grammar
# of github.com/distribution/reference); never read as an option (no leading '-').
_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
IMAGE = re.compile(rf"(?:{_HOST}(?:\.{_HOST})*(?::\d+)?/)?{_PART}(?:/{_PART})*(?::\w[\w.-]{{0,127}})?"
                   r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?", re.ASCII)
MAX_IMAGE = 512  # checked first: the pattern backtracks on long text, and no reference is this long
USER = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*(:[a-zA-Z0-9_][a-zA-Z0-9_.-]*)?$")

TOP_KEYS = {"services": True, "networks": False, "volumes": False, "name": False, "version": False}
SERVICE_KEYS = {"image": True, "command": False, "entrypoint": False, "environment": False, "networks": False,
                "volumes": False, "depends_on": False, "healthcheck": False, "ports": False, "working_dir": False,
                "user": False}
# Keys that would let a template reach the host or other environments: said why, not just "unknown".
DANGEROUS = {
    "privileged": "it gives the container the host's devices and every capability",
    "cap_add": "extra capabilities let a container act on the host's kernel",
    "devices": "it exposes host devices to the container",
    "pid": "it shares a process namespace outside the environment",
    "ipc": "it shares an IPC namespace outside the environment",
    "network_mode": "a service joins only its environment's own networks",
    "security_opt": "it weakens the container's confinement",
    "userns_mode": "it shares the host's user namespace",
    "volumes_from": "it mounts another container's volumes; use named volumes of this file",
    "build": "images come from the registry the deliver jobs push to; build them there",
}
HEALTHCHECK_KEYS = {"test": False, "interval": False, "timeout": False, "retries": False, "start_period": False,
                    "disable": False}
LONG_MOUNT_KEYS = {"type": True, "source": False, "target": True, "read_only": False}
LONG_PORT_KEYS = {"target": True, "protocol": False}
DEPENDENCY_KEYS = {"condition": False}
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")

LOOPBACK = ("deploys publish each port on a free loopback port so several environments can run at once; "
            "give only the container port")
ONLY_NAMED = "templates can capture only named volumes"
BIND = f"{ONLY_NAMED}; a bind mount would expose the host"
UNSUPPORTED = "not supported by the container provider"
MAX_DURATION = 24 * 3600.0
MAX_RETRIES = 1000
MAX_INTERPOLATION_NESTING = 16

_CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP = (_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
MAP, SEQ, MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"
# What the safe loader resolves by itself; an explicit other tag (!reset, !!binary) is refused.
SCALAR_TAGS = {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP}


@dataclass(frozen=True)
class HealthCheck:
    """How the provider tells a service is up (Compose spec: services, healthcheck)."""

    test: tuple[str, ...]  # exec form: a shell test is ("/bin/sh", "-c", text)
    interval: float = 5.0  # seconds
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True)
class Mount:
    """A named volume mounted in a service's container."""

    volume: str  # a named volume of the file's top-level `volumes`
    target: str  # absolute path in the container
    read_only: bool = False


@dataclass(frozen=True)
class Service:
    """One service of the file, its values interpolated."""

    name: str
    image: str
    command: tuple[str, ...] | None = None  # None: the image's own
    entrypoint: tuple[str, ...] | None = None
    environment: tuple[tuple[str, str], ...] = ()
    networks: tuple[str, ...] = ("default",)
    mounts: tuple[Mount, ...] = ()
    depends_on: tuple[tuple[str, str], ...] = ()  # (service, condition)
    healthcheck: HealthCheck | None = None
    ports: tuple[int, ...] = ()  # container ports to publish
    working_dir: str | None = None
    user: str | None = None
    line: int = 0  # line of the service's key


@dataclass(frozen=True)
class ComposeFile:
    """A checked Compose file."""

    path: Path
    services: tuple[Service, ...]  # in file order
    networks: tuple[str, ...]  # declared, then "default" when a service uses it undeclared
    volumes: tuple[str, ...]

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"{self.path}: no service {name!r}")

    def start_order(self) -> list[str]:
        """Service names, each after its dependencies; ties in file order (a stable topological
        sort). ``load_compose`` refuses cycles, so every service is in it."""
        index = {s.name: i for i, s in enumerate(self.services)}
        waiting = {s.name: {d for d, _ in s.depends_on if d in index} for s in self.services}
        dependents: dict[str, list[str]] = {name: [] for name in index}
        for name, deps in waiting.items():
            for dep in deps:
                dependents[dep].append(name)
        ready = [index[name] for name, deps in waiting.items() if not deps]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            name = self.services[heapq.heappop(ready)].name
            order.append(name)
            for other in dependents[name]:
                waiting[other].discard(name)
                if not waiting[other]:
                    heapq.heappush(ready, index[other])
        return order


def load_compose(path: Path, variables: Mapping[str, str]) -> ComposeFile:
    """Read and check a Compose file, interpolating ``${...}`` with `variables` only. Every problem
    names file, line and field, all reported at once as a ``ConfigError``."""
    path = Path(path)
    reader = NodeReader(path, what=f"a {WHAT}")
    try:
        root = reader.compose()
    except EnvDeliveryError as exc:
        # A whole-file refusal is one problem of the same ConfigError, so callers catch one type.
        raise ConfigError([_whole_file_problem(path, str(exc))], what=WHAT) from None
    if root is None and not reader.problems:
        reader.problem(None, "", "the file is empty; expected at least 'services'")
    compose = _Loader(reader, variables).load(root) if root is not None else None
    if reader.problems or compose is None:
        # An alias read twice reports its problem twice: once is enough.
        raise ConfigError(list(dict.fromkeys(reader.problems)), what=WHAT)
    return compose


def dump_compose(compose_dict: dict) -> str:
    """YAML text of a plain Compose dict (``env export``). Its strings are taken as literal values:
    each ``$`` is written ``$$``, so Compose (or ``load_compose``) reads back the same value
    instead of interpolating it again."""
    return yaml.safe_dump(_escape_dollars(compose_dict), sort_keys=False, default_flow_style=False)


def _escape_dollars(value):
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):  # keys are never interpolated
        return {key: _escape_dollars(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_dollars(item) for item in value]
    return value


def _whole_file_problem(path: Path, message: str) -> Problem:
    """NodeReader's one-line refusal (``path[:line]: message``) as a Problem."""
    match = re.match(re.escape(str(path)) + r"(?::(\d+))?: (.*)\Z", message, re.S)
    if match is None:
        return Problem(path, None, "", message)
    return Problem(path, int(match[1]) if match[1] else None, "", match[2])


# -- interpolation (Compose spec, "Interpolation") -----------------------------------------------

class InterpolationError(ValueError):
    """A ``${...}`` that cannot be resolved; the message says which and why."""


_VARIABLE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_BRACE_TOKEN = re.compile(r"\$\$|\$\{|\}")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def interpolate(text: str, variables: Mapping[str, str], _depth: int = 0) -> str:
    """`text` with Compose's ``$`` expressions resolved from `variables` only. A ``$`` that starts
    no expression is kept, as Compose keeps it."""
    if _depth > MAX_INTERPOLATION_NESTING:
        raise InterpolationError(f"interpolation nested deeper than {MAX_INTERPOLATION_NESTING} levels")
    out: list[str] = []
    i = 0
    while (start := text.find("$", i)) >= 0:
        out.append(text[i:start])
        following = text[start + 1:start + 2]
        if following == "$":
            out.append("$")
            i = start + 2
        elif following == "{":
            end = _closing_brace(text, start + 2)
            if end is None:
                raise InterpolationError(f"'${{' without its closing '}}' in {text[start:start + 40]!r}")
            out.append(_braced(text[start + 2:end], variables, _depth))
            i = end + 1
        elif match := _VARIABLE.match(text, start + 1):
            out.append(_lookup(match[0], variables))
            i = match.end()
        else:
            out.append("$")
            i = start + 1
    out.append(text[i:])
    return "".join(out)


def _closing_brace(text: str, start: int) -> int | None:
    depth = 1
    for token in _BRACE_TOKEN.finditer(text, start):
        if token[0] == "${":
            depth += 1
        elif token[0] == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    return None


def _braced(body: str, variables: Mapping[str, str], depth: int) -> str:
    match = _VARIABLE.match(body)
    if match is None:
        raise InterpolationError(f"'${{{body}}}': expected a variable name (letters, digits and '_')")
    name, rest = match[0], body[match.end():]
    if not rest:
        return _lookup(name, variables)
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise InterpolationError(f"'${{{body}}}' is not supported; Compose's forms are ${{VAR}}, ${{VAR:-default}}, "
                                 "${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}")
    argument = rest[len(operator):]
    is_set = name in variables
    usable = is_set if not operator.startswith(":") else is_set and variables[name] != ""
    if operator.endswith("-"):
        return variables[name] if usable else interpolate(argument, variables, depth + 1)
    if operator.endswith("+"):
        return interpolate(argument, variables, depth + 1) if usable else ""
    if not usable:
        state = "not set" if operator == "?" else "not set or empty"
        reason = interpolate(argument, variables, depth + 1)
        raise InterpolationError(f"variable {name!r} is {state}" + (f": {reason}" if reason else ""))
    return variables[name]


def _lookup(name: str, variables: Mapping[str, str]) -> str:
    if name in variables:
        return variables[name]
    known = f"known are: {', '.join(sorted(variables))}" if variables else "no variables are given"
    raise InterpolationError(f"unknown variable {name!r} (give a default: ${{{name}:-value}}); {known}")


# -- durations (Compose spec, "Specifying durations") ---------------------------------------------

_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:us|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds of a Compose duration ("1m30s", "500ms", "2h") or a plain number of seconds; None
    if it is neither."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(value) * _UNITS[unit] for value, unit in _DURATION_PART.findall(text))


# -- the loader ---------------------------------------------------------------------------------

def _kind(node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        return "an empty value" if node.tag == NULL else f"{node.value!r}"
    return "nothing"


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or "/" in source or "\\" in source


class _Loader:
    """One pass over the document, recording problems with the NodeReader.

    Mappings are read here rather than with ``NodeReader.mapping``: Compose files take ``x-*``
    keys anywhere, ``<<`` merges (of ``x-*`` anchors), and the refused keys say why."""

    def __init__(self, reader: NodeReader, variables: Mapping[str, str]):
        self.r = reader
        # A variable given as None is not given: its ${...} is reported, not a TypeError.
        self.variables = {key: str(value) for key, value in variables.items() if value is not None}
        self.broken_healthchecks: set[str] = set()  # already reported; no "has no healthcheck" too

    # -- generic accessors, each recording a problem and returning None -----------------------

    def _tag_ok(self, node, field: str) -> bool:
        allowed = SCALAR_TAGS if isinstance(node, yaml.ScalarNode) else {MAP, SEQ}
        if node.tag in allowed:
            return True
        self.r.problem(node, field, f"the YAML tag {_tag_name(node.tag)} is not supported")
        return False

    def pairs(self, node, field: str, expected: str) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
        """(key, key node, value node) of a mapping, ``<<`` merges resolved: a key written in the
        mapping wins over a merged one, an earlier merged mapping over a later (YAML merge)."""
        if not isinstance(node, yaml.MappingNode):
            self.r.problem(node, field, f"expected {expected}, got {_kind(node)}")
            return None
        if not self._tag_ok(node, field):
            return None
        merged: list[tuple[str, yaml.Node, yaml.Node]] = []
        written: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    merged += self.pairs(source, f"{field}.<<" if field else "<<", "a mapping to merge") or []
            elif not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in SCALAR_TAGS:
                self.r.problem(key_node, field, f"a key must be a plain string, got {_kind(key_node)}")
            elif key_node.value in written:
                self.r.problem(key_node, f"{field}.{key_node.value}" if field else key_node.value,
                               f"duplicate key {key_node.value!r}")
            else:
                written[key_node.value] = (key_node.value, key_node, value_node)
        result, seen = [], set(written)
        for item in merged:
            if item[0] not in seen:
                seen.add(item[0])
                result.append(item)
        return result + list(written.values())

    def keys(self, node, field: str, keys: dict[str, bool],
             refused: Mapping[str, str] | None = None) -> dict[str, yaml.Node] | None:
        """A mapping's values by key, as ``NodeReader.mapping``, also taking ``x-*`` keys (ignored)
        and giving the reason for each key of `refused`."""
        pairs = self.pairs(node, field, f"a mapping with keys {', '.join(keys)}")
        if pairs is None:
            return None
        values: dict[str, yaml.Node] = {}
        for key, key_node, value_node in pairs:
            where = f"{field}.{key}" if field else key
            if key.startswith("x-"):
                continue
            if refused and key in refused:
                self.r.problem(key_node, where, f"not supported: {refused[key]}")
            elif key not in keys:
                self.r.problem(key_node, where, f"unknown key {key!r}, {UNSUPPORTED}; "
                               f"supported are: {', '.join(keys)}, x-*")
            else:
                values[key] = value_node
        for key, required in keys.items():
            if required and key not in values:
                self.r.problem(node, f"{field}.{key}" if field else key, "required key is missing")
        return values

    def items(self, node, field: str) -> list[tuple[str, yaml.Node]] | None:
        """A list's items with their fields (``field[i]``)."""
        items = self.r.sequence(node, field)
        if items is None or not self._tag_ok(node, field):
            return None
        return [(f"{field}[{i}]", item) for i, item in enumerate(items)]

    def text(self, node, field: str, *, what: str = "a string", numbers: bool = False,
             empty: bool = False) -> str | None:
        """A string value, interpolated; with `numbers`, a number as written counts as one."""
        if not isinstance(node, yaml.ScalarNode):
            self.r.problem(node, field, f"expected {what}, got {_kind(node)}")
            return None
        if not self._tag_ok(node, field):
            return None
        if node.tag == STR:
            value = self.interpolated(node, field)
        elif numbers and node.tag in (INT, FLOAT):
            value = node.value
        else:
            self.r.problem(node, field, f"expected {what}, got {_kind(node)}")
            return None
        if value is None:
            return None
        if "\0" in value:
            self.r.problem(node, field, "must not contain a NUL character")
            return None
        if not empty and not value.strip():
            self.r.problem(node, field, "must not be empty")
            return None
        return value

    def interpolated(self, node, field: str) -> str | None:
        try:
            return interpolate(node.value, self.variables)
        except InterpolationError as exc:
            self.r.problem(node, field, str(exc))
            return None

    def boolean(self, node, field: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL:
            return yaml.constructor.SafeConstructor.bool_values[node.value.lower()]
        if isinstance(node, yaml.ScalarNode) and node.tag == STR:
            value = self.interpolated(node, field)  # "${READ_ONLY}": a string, as Compose reads it
            if value in ("true", "false"):
                return value == "true"
            if value is None:
                return None
        self.r.problem(node, field, f"expected true or false, got {_kind(node)}")
        return None

    def whole(self, node, field: str, low: int, high: int, what: str) -> int | None:
        """A whole number in low..high, written as one or as a string (after interpolation)."""
        text = self.text(node, field, what=what, numbers=True)
        if text is None:
            return None
        if not re.fullmatch(r"\d+", text.strip()) or not low <= int(text) <= high:
            self.r.problem(node, field, f"expected {what} from {low} to {high}, got {text!r}")
            return None
        return int(text)

    def name(self, key: str, key_node, field: str, kind: str) -> bool:
        if NAME.match(key):
            return True
        self.r.problem(key_node, field, f"{key!r} is not a {kind} name: letters, digits, '.', '_' and '-', "
                       "starting with a letter or digit")
        return False

    def empty_entry(self, node, field: str, what: str) -> None:
        """A value that may only be null or ``{}``: every key in it is refused by name."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return
        pairs = self.pairs(node, field, f"nothing or {{}} for {what}")
        for key, key_node, _ in pairs or []:
            if not key.startswith("x-"):
                self.r.problem(key_node, f"{field}.{key}", f"{UNSUPPORTED}; {what} is a name only")

    # -- the file -------------------------------------------------------------------------------

    def load(self, root) -> ComposeFile | None:
        top = self.keys(root, "", TOP_KEYS)
        if top is None:
            return None
        if "name" in top:
            project = self.text(top["name"], "name")
            if project is not None and not PROJECT_NAME.match(project):
                self.r.problem(top["name"], "name", f"{project!r} is not a project name: lower-case letters, "
                               "digits, '_' and '-', starting with a letter or digit")
        networks = self.declared(top.get("networks"), "networks", "network")
        volumes = self.declared(top.get("volumes"), "volumes", "volume")
        services: list[Service] = []
        dependencies: dict[str, list[tuple[str, str, yaml.Node]]] = {}
        pairs = self.pairs(top["services"], "services", "a mapping of services") if "services" in top else None
        if pairs is not None and not pairs:
            self.r.problem(top["services"], "services", "expected at least one service")
        for name, key_node, node in pairs or []:
            field = f"services.{name}"
            if not SERVICE_NAME.match(name):
                self.r.problem(key_node, field, f"{name!r} is not a service name: lower-case letters, digits, "
                               "'.', '_' and '-', starting with a letter or digit (it becomes part of container "
                               "names)")
            service, depends = self.service(name, key_node, node, networks, volumes)
            services.append(service)
            dependencies[name] = depends
        services = self.check_dependencies(services, dependencies)
        used = {n for s in services for n in s.networks}
        all_networks = tuple(networks) + (("default",) if "default" in used and "default" not in networks else ())
        return ComposeFile(self.r.path, tuple(services), all_networks, tuple(volumes))

    def declared(self, node, field: str, kind: str) -> list[str]:
        """Top-level networks or volumes: names, each with nothing or ``{}``."""
        if node is None or isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return []
        names = []
        for key, key_node, value in self.pairs(node, field, f"a mapping of {kind} names") or []:
            if key.startswith("x-"):
                continue
            if self.name(key, key_node, f"{field}.{key}", kind):
                names.append(key)
                self.empty_entry(value, f"{field}.{key}", f"a {kind}")
        return names

    # -- one service ----------------------------------------------------------------------------

    def service(self, name: str, key_node, node, networks: list[str],
                volumes: list[str]) -> tuple[Service, list[tuple[str, str, yaml.Node]]]:
        """The service and its dependencies, to check once every service is read. With a problem
        recorded the file is refused anyway; the service still counts as one for the checks across
        services, so they do not add "not a service of this file"."""
        field = f"services.{name}"
        line = key_node.start_mark.line + 1
        keys = self.keys(node, field, SERVICE_KEYS, DANGEROUS)
        if keys is None:
            return Service(name=name, image="", line=line), []
        image = self.text(keys["image"], f"{field}.image") if "image" in keys else None
        if image is not None and (len(image) > MAX_IMAGE or not IMAGE.fullmatch(image)):
            self.r.problem(keys["image"], f"{field}.image", f"{image!r} is not an image reference "
                           "(registry/repository:tag or repository@digest)")
            image = None
        fields: dict = {}
        for key in ("command", "entrypoint"):
            if key in keys:
                fields[key] = self.argv(keys[key], f"{field}.{key}")
        if "environment" in keys:
            fields["environment"] = self.environment(keys["environment"], f"{field}.environment")
        if "networks" in keys:
            fields["networks"] = self.service_networks(keys["networks"], f"{field}.networks", networks)
        if "volumes" in keys:
            fields["mounts"] = self.mounts(keys["volumes"], f"{field}.volumes", volumes)
        depends = self.depends_on(keys["depends_on"], f"{field}.depends_on") if "depends_on" in keys else []
        if "healthcheck" in keys:
            before = len(self.r.problems)
            fields["healthcheck"] = self.healthcheck(keys["healthcheck"], f"{field}.healthcheck")
            if len(self.r.problems) > before:
                self.broken_healthchecks.add(name)
        if "ports" in keys:
            fields["ports"] = self.ports(keys["ports"], f"{field}.ports")
        if "working_dir" in keys:
            path = self.text(keys["working_dir"], f"{field}.working_dir")
            if path is not None and not path.startswith("/"):
                self.r.problem(keys["working_dir"], f"{field}.working_dir", f"{path!r} must be an absolute path")
            fields["working_dir"] = path
        if "user" in keys:
            user = self.text(keys["user"], f"{field}.user", numbers=True)
            if user is not None and not USER.match(user):
                self.r.problem(keys["user"], f"{field}.user", f"{user!r} is not a user: name or uid, "
                               "optionally :group or :gid")
            fields["user"] = user
        fields = {key: value for key, value in fields.items() if value is not None}
        return Service(name=name, image=image or "", line=line, **fields), depends

    def argv(self, node, field: str) -> tuple[str, ...] | None:
        """command / entrypoint: a string split like a shell, or a list kept as is; ``""`` or
        ``[]`` is empty, which Compose takes as "not the image's own" (spec: services, command)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return None
        if isinstance(node, yaml.SequenceNode):
            words = [self.text(item, where, numbers=True, empty=True) for where, item in self.items(node, field) or []]
            return tuple(words) if None not in words else None
        text = self.text(node, field, what="a string or a list of strings", empty=True)
        if text is None:
            return None
        try:
            return tuple(shlex.split(text))
        except ValueError as exc:
            self.r.problem(node, field, f"cannot be split into words like a shell would: {exc}")
            return None

    def environment(self, node, field: str) -> tuple[tuple[str, str], ...] | None:
        found: list[tuple[str, str, yaml.Node]] = []
        if isinstance(node, yaml.SequenceNode):
            for where, item in self.items(node, field) or []:
                text = self.text(item, where, what="KEY=value")
                if text is None:
                    continue
                key, equals, value = text.partition("=")
                if not equals:
                    self.r.problem(item, where, f"{text!r} has no value: Compose would take it from the host's "
                                   f"environment, which templates never read; write {text}=value")
                    continue
                found.append((key, value, item))
        else:
            for key, key_node, value_node in self.pairs(node, field, "a mapping or a list of KEY=value") or []:
                value = self.env_value(value_node, f"{field}.{key}")
                if value is not None:
                    found.append((key, value, key_node))
        pairs, seen = [], set()
        for key, value, where_node in found:
            if not re.fullmatch(r"[^=\s\0]+", key):
                self.r.problem(where_node, f"{field}.{key}", f"{key!r} is not a variable name "
                               "(no '=', spaces or NUL)")
            elif key in seen:
                self.r.problem(where_node, f"{field}.{key}", f"duplicate variable {key!r}")
            else:
                seen.add(key)
                pairs.append((key, value))
        return tuple(pairs)

    def env_value(self, node, field: str) -> str | None:
        """A mapping value as the container sees it: null is "", numbers and booleans as written."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return ""
        if isinstance(node, yaml.ScalarNode) and node.tag in SCALAR_TAGS - {STR}:
            return node.value
        return self.text(node, field, what="a string, number or boolean", empty=True)

    def service_networks(self, node, field: str, declared: list[str]) -> tuple[str, ...] | None:
        if isinstance(node, yaml.SequenceNode):
            named = [(self.text(item, where), item, where) for where, item in self.items(node, field) or []]
        else:
            named = []
            for key, key_node, value in self.pairs(node, field, "a list or a mapping of networks") or []:
                named.append((key, key_node, f"{field}.{key}"))
                self.empty_entry(value, f"{field}.{key}", "a service's network")
            if not isinstance(node, yaml.MappingNode):
                return None
        if not named:
            self.r.problem(node, field, "expected at least one network")
        names: list[str] = []
        for name, name_node, where in named:
            if name is None:
                continue
            if name != "default" and name not in declared:
                known = ", ".join(["default", *declared])
                self.r.problem(name_node, where, f"network {name!r} is not declared in the top-level networks; "
                               f"known are: {known}")
            elif name in names:
                self.r.problem(name_node, where, f"duplicate network {name!r}")
            else:
                names.append(name)
        return tuple(names)

    def mounts(self, node, field: str, declared: list[str]) -> tuple[Mount, ...]:
        mounts: list[Mount] = []
        for where, item in self.items(node, field) or []:
            if isinstance(item, yaml.MappingNode):
                mount = self.long_mount(item, where, declared)
            else:
                mount = self.short_mount(item, where, declared)
            if mount is None:
                continue
            if any(m.target == mount.target for m in mounts):
                self.r.problem(item, where, f"{mount.target!r} is mounted twice")
            else:
                mounts.append(mount)
        return tuple(mounts)

    def short_mount(self, node, field: str, declared: list[str]) -> Mount | None:
        """``VOLUME:/path[:ro|rw]`` (spec: services, volumes, short syntax)."""
        text = self.text(node, field, what="VOLUME:/path or a mapping")
        if text is None:
            return None
        parts = text.split(":")
        if len(parts) == 1:
            self.r.problem(node, field, f"{text!r} is an anonymous volume: {ONLY_NAMED}; declare one in the "
                           "top-level volumes and write NAME:/path")
            return None
        if _is_path(parts[0]):
            self.r.problem(node, field, f"{text!r} is a bind mount: {BIND}")
            return None
        if len(parts) > 3:
            self.r.problem(node, field, f"{text!r}: expected VOLUME:/path or VOLUME:/path:ro")
            return None
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("ro", "rw"):
            self.r.problem(node, field, f"mode {mode!r} is not supported; expected ro or rw")
            return None
        return self.mount(node, field, parts[0], parts[1], mode == "ro", declared)

    def long_mount(self, node, field: str, declared: list[str]) -> Mount | None:
        """``{type: volume, source, target, read_only}`` (spec: services, volumes, long syntax)."""
        keys = self.keys(node, field, LONG_MOUNT_KEYS)
        if keys is None:
            return None
        kind = self.text(keys["type"], f"{field}.type") if "type" in keys else None
        source = self.text(keys["source"], f"{field}.source") if "source" in keys else None
        target = self.text(keys["target"], f"{field}.target") if "target" in keys else None
        read_only = self.boolean(keys["read_only"], f"{field}.read_only") if "read_only" in keys else False
        if kind is None:
            return None
        if kind in ("bind", "npipe"):
            self.r.problem(keys["type"], f"{field}.type", f"a {kind} mount: {BIND}")
            return None
        if kind != "volume":
            self.r.problem(keys["type"], f"{field}.type", f"type {kind!r} is not supported: {ONLY_NAMED} "
                           "(type: volume)")
            return None
        if "source" not in keys:
            self.r.problem(node, f"{field}.source", f"required: an anonymous volume cannot be captured; "
                           f"{ONLY_NAMED}")
            return None
        if source is None or target is None or read_only is None:
            return None
        return self.mount(keys["source"], f"{field}.source", source, target, read_only, declared,
                          target_node=keys["target"], target_field=f"{field}.target")

    def mount(self, node, field: str, source: str, target: str, read_only: bool, declared: list[str],
              target_node=None, target_field: str | None = None) -> Mount | None:
        if _is_path(source):
            self.r.problem(node, field, f"{source!r} is a host path: {BIND}")
            return None
        ok = True
        if source not in declared:
            known = f"declared are: {', '.join(declared)}" if declared else "none is declared"
            self.r.problem(node, field, f"volume {source!r} is not declared in the top-level volumes; {known}")
            ok = False
        # ',' and ':' separate the engine's --mount / -v options; '/' itself would hide the image.
        if not target.startswith("/") or target == "/" or "," in target or ":" in target:
            self.r.problem(target_node or node, target_field or field,
                           f"target {target!r} must be an absolute path other than '/', without ',' or ':'")
            ok = False
        return Mount(source, target, read_only) if ok else None

    def depends_on(self, node, field: str) -> list[tuple[str, str, yaml.Node]]:
        """(service, condition, node) (spec: services, depends_on, short and long syntax)."""
        if isinstance(node, yaml.SequenceNode):
            found = []
            for where, item in self.items(node, field) or []:
                name = self.text(item, where)
                if name is not None:
                    found.append((name, "service_started", item))
            return found
        found = []
        for name, key_node, value in self.pairs(node, field, "a list or a mapping of services") or []:
            where = f"{field}.{name}"
            condition = "service_started"
            if not (isinstance(value, yaml.ScalarNode) and value.tag == NULL):
                keys = self.keys(value, where, DEPENDENCY_KEYS)
                if keys is None:
                    continue
                if "condition" in keys:
                    condition = self.text(keys["condition"], f"{where}.condition")
                    if condition is not None and condition not in CONDITIONS:
                        self.r.problem(keys["condition"], f"{where}.condition",
                                       f"{condition!r}; expected one of: {', '.join(CONDITIONS)}")
                        continue
                    if condition is None:
                        continue
            found.append((name, condition, key_node))
        return found

    def healthcheck(self, node, field: str) -> HealthCheck | None:
        """(spec: services, healthcheck); ``disable: true`` or ``test: [NONE]`` is no healthcheck."""
        keys = self.keys(node, field, HEALTHCHECK_KEYS)
        if keys is None:
            return None
        disabled = self.boolean(keys["disable"], f"{field}.disable") if "disable" in keys else False
        if disabled:
            if "test" in keys:
                self.r.problem(keys["test"], f"{field}.test", "a test with disable: true; give one or the other")
            return None
        if "test" not in keys:
            self.r.problem(node, f"{field}.test", "required key is missing (the image's own HEALTHCHECK is "
                           "not read); or disable: true")
            return None
        test = self.health_test(keys["test"], f"{field}.test")
        values: dict = {}
        for key in ("interval", "timeout", "start_period"):
            if key in keys:
                values[key] = self.duration(keys[key], f"{field}.{key}", positive=key != "start_period")
        if "retries" in keys:
            values["retries"] = self.whole(keys["retries"], f"{field}.retries", 1, MAX_RETRIES, "a number of retries")
        if not test or None in values.values():
            return None
        return HealthCheck(test, **values)

    def health_test(self, node, field: str) -> tuple[str, ...] | None:
        """``[CMD, arg...]``, ``[CMD-SHELL, text]`` or a string (run by /bin/sh -c), ``[NONE]`` (None)."""
        if not isinstance(node, yaml.SequenceNode):
            text = self.text(node, field, what="a string or a list")
            return None if text is None else ("/bin/sh", "-c", text)
        words = [self.text(item, where, numbers=True, empty=True) for where, item in self.items(node, field) or []]
        if None in words:
            return None
        if not words or words[0] not in ("CMD", "CMD-SHELL", "NONE"):
            first = repr(words[0]) if words else "an empty list"
            self.r.problem(node, field, f"expected [CMD, command, arg...], [CMD-SHELL, text] or [NONE], "
                           f"got {first} first")
        elif words[0] == "NONE":
            if len(words) > 1:
                self.r.problem(node, field, "[NONE] takes nothing more")
        elif words[0] == "CMD-SHELL":
            if len(words) != 2 or not words[1].strip():
                self.r.problem(node, field, "expected [CMD-SHELL, text]: one shell command line")
            else:
                return ("/bin/sh", "-c", words[1])
        elif len(words) < 2 or not words[1].strip():
            self.r.problem(node, field, "expected [CMD, command, arg...]: the command is missing")
        else:
            return tuple(words[1:])
        return None

    def duration(self, node, field: str, positive: bool) -> float | None:
        text = self.text(node, field, what="a duration", numbers=True)
        if text is None:
            return None
        seconds = parse_duration(text.strip())
        if seconds is None:
            self.r.problem(node, field, f"{text!r} is not a duration: a number of seconds or units us, ms, s, "
                           "m, h (1m30s, 500ms)")
        elif seconds > MAX_DURATION or positive and seconds <= 0:
            low = "more than 0" if positive else "0"
            self.r.problem(node, field, f"{text!r}: expected from {low} to 24h")
        else:
            return seconds
        return None

    def ports(self, node, field: str) -> tuple[int, ...]:
        ports: list[int] = []
        for where, item in self.items(node, field) or []:
            if isinstance(item, yaml.MappingNode):
                keys = self.keys(item, where, LONG_PORT_KEYS, {"published": LOOPBACK, "host_ip": LOOPBACK})
                if keys is None:
                    continue
                port = self.whole(keys["target"], f"{where}.target", 1, 65535, "a port") if "target" in keys else None
                if "protocol" in keys and not self.tcp(keys["protocol"], f"{where}.protocol"):
                    continue
            else:
                port = self.short_port(item, where)
            if port is None:
                continue
            if port in ports:
                self.r.problem(item, where, f"port {port} is listed twice")
            else:
                ports.append(port)
        return tuple(ports)

    def short_port(self, node, field: str) -> int | None:
        """``8080``, ``"8080"``, ``"8080/tcp"`` (spec: services, ports, short syntax); a host part is
        refused. The text as written counts: YAML 1.1 reads ``8080:50`` as a number in base 60."""
        if isinstance(node, yaml.ScalarNode) and node.tag == INT:
            text = node.value
        else:
            text = self.text(node, field, what="a port")
            if text is None:
                return None
        port, _, protocol = text.partition("/")
        if ":" in port:
            self.r.problem(node, field, f"{text!r} has a host part: {LOOPBACK} ({port.rsplit(':', 1)[1]})")
            return None
        if "-" in port:
            self.r.problem(node, field, f"{text!r}: port ranges are not supported; list each port")
            return None
        if protocol and protocol != "tcp":
            self.r.problem(node, field, f"{text!r}: only TCP ports are published")
            return None
        if not re.fullmatch(r"\d+", port) or not 1 <= int(port) <= 65535:
            self.r.problem(node, field, f"{text!r}: expected a port from 1 to 65535, optionally with /tcp")
            return None
        return int(port)

    def tcp(self, node, field: str) -> bool:
        protocol = self.text(node, field)
        if protocol is not None and protocol != "tcp":
            self.r.problem(node, field, f"{protocol!r}: only TCP ports are published")
        return protocol == "tcp"

    # -- across services -----------------------------------------------------------------------

    def check_dependencies(self, services: list[Service],
                           dependencies: dict[str, list[tuple[str, str, yaml.Node]]]) -> list[Service]:
        """Each service's depends_on: services of the file, not itself, healthchecked when waited for
        healthy, and no cycle."""
        by_name = {s.name: s for s in services}
        edges: dict[str, list[str]] = {}
        entry_nodes: dict[tuple[str, str], yaml.Node] = {}
        result = []
        for service in services:
            field = f"services.{service.name}.depends_on"
            kept: list[tuple[str, str]] = []
            for dep, condition, node in dependencies[service.name]:
                if dep == service.name:
                    self.r.problem(node, field, f"{dep!r} cannot depend on itself")
                elif dep not in by_name:
                    known = ", ".join(n for n in by_name if n != service.name) or "none"
                    self.r.problem(node, field, f"{dep!r} is not a service of this file; others are: {known}")
                elif any(d == dep for d, _ in kept):
                    self.r.problem(node, field, f"{dep!r} is listed twice")
                else:
                    if (condition == "service_healthy" and by_name[dep].healthcheck is None
                            and dep not in self.broken_healthchecks):
                        self.r.problem(node, field, f"waits for {dep!r} to be healthy, but {dep!r} has no "
                                       "healthcheck")
                    kept.append((dep, condition))
                    entry_nodes[(service.name, dep)] = node
            edges[service.name] = [d for d, _ in kept]
            result.append(replace(service, depends_on=tuple(kept)))
        for cycle in _cycles([s.name for s in services], edges):
            self.r.problem(entry_nodes[(cycle[0], cycle[1])], f"services.{cycle[0]}.depends_on",
                           f"a dependency cycle: {' -> '.join(cycle)}")
        return result


def _cycles(order: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Dependency cycles as paths ``[a, b, a]``, one per set of services. Iterative: a chain of
    thousands of services must not reach Python's recursion limit."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    cycles, seen = [], set()
    for root in order:
        if root in state:
            continue
        state[root] = 1
        path, stack = [root], [iter(edges[root])]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                cycle = path[path.index(following):] + [following]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(edges[following]))
    return cycles
