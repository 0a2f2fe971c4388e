"""The container provider's Compose files: the supported subset read into plain values, everything
else refused by key with ``path:line: field:``, all problems at once, never a traceback, and
``${...}`` resolved from the given variables only."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.environments.containers import compose as compose_module
from jjb_envdelivery.environments.containers.compose import (
    DANGEROUS,
    ComposeFile,
    HealthCheck,
    Mount,
    Service,
    dump_compose,
    interpolate,
    load_compose,
    parse_duration,
)
from jjb_envdelivery.errors import ConfigError

VARS = {"REGISTRY": "registry.example:5000/shop", "RELEASE": "current"}

FULL = """\
name: shop
version: "3.9"
x-defaults: &defaults
  user: "1000:1000"
  working_dir: /srv
services:
  web:
    <<: *defaults
    image: ${REGISTRY}/web:${RELEASE}
    command: serve --listen "0.0.0.0:8080" --name 'the shop'
    entrypoint: ["/bin/web", "--quiet"]
    environment:
      DB_URL: postgres://db/shop
      DEBUG: true
      RATIO: 1.5
      EMPTY:
      HOME_REF: $$HOME
    networks: [front, back]
    volumes:
      - web-data:/var/lib/web:ro
      - {type: volume, source: cache, target: /var/cache/web}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
    ports: [8080, "8443", "9000/tcp", {target: 9100, protocol: tcp}]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/health"]
      interval: 1m30s
      timeout: 500ms
      retries: 5
      start_period: 2h
    working_dir: /srv/web
    x-note: ignored
  migrate:
    image: ${REGISTRY}/migrate:${RELEASE:-latest}
    command: ["migrate", "--to", 42]
    environment: [MODE=up, "ARGS=a=b"]
    depends_on: [db]
    networks:
      back:
  db:
    image: ${REGISTRY}/db:${TAG:-16}
    volumes: ["db-data:/var/lib/postgresql/data"]
    healthcheck: {test: pg_isready -U shop, interval: 2, retries: 10}
  worker:
    image: ${REGISTRY}/worker@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
networks:
  front: {}
  back:
volumes:
  web-data: {}
  cache:
  db-data: {x-comment: extensions are fine}
x-anything: {whatever: [1, 2]}
"""


def write(tmp_path: Path, text: str, name: str = "compose.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str, variables=VARS) -> ComposeFile:
    return load_compose(write(tmp_path, text), variables)


def refused(tmp_path: Path, text: str, variables=VARS) -> tuple[Path, list[str], str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_compose(path, variables)
    assert caught.value.what == "Compose file"
    return path, [str(p) for p in caught.value.problems], str(caught.value)


def line_of(text: str, marker: str) -> int:
    """The 1-based line of `text` that is `marker`, else the first that contains it."""
    lines = textwrap.dedent(text).splitlines()
    exact = [i for i, line in enumerate(lines, 1) if line == marker]
    return exact[0] if exact else next(i for i, line in enumerate(lines, 1) if marker in line)


def assert_problem(tmp_path: Path, text: str, marker: str, field: str, fragment: str, variables=VARS) -> list[str]:
    """`text` is refused with a problem at the line of `marker`, for `field`, saying `fragment`."""
    path, problems, _ = refused(tmp_path, text, variables)
    prefix = f"{path}:{line_of(text, marker)}: {field}: "
    assert any(p.startswith(prefix) and fragment in p for p in problems), (prefix, fragment, problems)
    return problems


def web(extra: str = "", top: str = "") -> str:
    """A one-service file: `extra` under the service (after its image), `top` at top level."""
    return "services:\n  web:\n    image: nginx:1\n" + textwrap.indent(textwrap.dedent(extra), "    ") + \
        textwrap.dedent(top)


# -- the supported subset -----------------------------------------------------------------------

def test_full_example(tmp_path):
    compose = load(tmp_path, FULL)
    assert compose.path == tmp_path / "compose.yaml"
    assert compose.networks == ("front", "back", "default")  # db and worker use "default" implicitly
    assert compose.volumes == ("web-data", "cache", "db-data")
    assert [s.name for s in compose.services] == ["web", "migrate", "db", "worker"]
    assert compose.service("web") == Service(
        name="web",
        image="registry.example:5000/shop/web:current",
        command=("serve", "--listen", "0.0.0.0:8080", "--name", "the shop"),
        entrypoint=("/bin/web", "--quiet"),
        environment=(("DB_URL", "postgres://db/shop"), ("DEBUG", "true"), ("RATIO", "1.5"), ("EMPTY", ""),
                     ("HOME_REF", "$HOME")),
        networks=("front", "back"),
        mounts=(Mount("web-data", "/var/lib/web", True), Mount("cache", "/var/cache/web", False)),
        depends_on=(("db", "service_healthy"), ("migrate", "service_completed_successfully")),
        healthcheck=HealthCheck(("curl", "-f", "http://localhost:8080/health"), interval=90.0, timeout=0.5,
                                retries=5, start_period=7200.0),
        ports=(8080, 8443, 9000, 9100),
        working_dir="/srv/web",  # written in the service: wins over the merged default
        user="1000:1000",  # merged from x-defaults
        line=line_of(FULL, "  web:"),
    )
    assert compose.service("migrate") == Service(
        name="migrate", image="registry.example:5000/shop/migrate:current", command=("migrate", "--to", "42"),
        environment=(("MODE", "up"), ("ARGS", "a=b")), networks=("back",), depends_on=(("db", "service_started"),),
        line=line_of(FULL, "  migrate:"))
    assert compose.service("db") == Service(
        name="db", image="registry.example:5000/shop/db:16", mounts=(Mount("db-data", "/var/lib/postgresql/data"),),
        healthcheck=HealthCheck(("/bin/sh", "-c", "pg_isready -U shop"), interval=2.0, retries=10),
        line=line_of(FULL, "  db:"))
    assert compose.service("worker").healthcheck == HealthCheck(("/bin/sh", "-c", "test -f /tmp/ready"))
    assert compose.service("worker").image == "registry.example:5000/shop/worker@sha256:" + "0123abcd" * 8
    with pytest.raises(KeyError, match="no service 'nope'"):
        compose.service("nope")


def test_the_docstring_example_loads(tmp_path):
    """The module documents its format with an example: it must stay a valid file."""
    example = compose_module.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    compose = load(tmp_path, example)
    assert [s.name for s in compose.services] == ["web", "db"]
    assert compose.start_order() == ["db", "web"]
    assert compose.service("web").user == "1000:1000"


def as_dict(compose: ComposeFile) -> dict:
    """A loaded file as a plain Compose dict in the long forms, as ``env export`` writes one."""
    services = {}
    for s in compose.services:
        d: dict = {"image": s.image, "networks": list(s.networks)}
        for key in ("command", "entrypoint"):
            if getattr(s, key) is not None:
                d[key] = list(getattr(s, key))
        if s.environment:
            d["environment"] = dict(s.environment)
        if s.mounts:
            d["volumes"] = [{"type": "volume", "source": m.volume, "target": m.target, "read_only": m.read_only}
                            for m in s.mounts]
        if s.depends_on:
            d["depends_on"] = {dep: {"condition": condition} for dep, condition in s.depends_on}
        if s.healthcheck:
            h = s.healthcheck
            d["healthcheck"] = {"test": ["CMD", *h.test], "interval": f"{h.interval:g}s",
                                "timeout": f"{h.timeout:g}s", "retries": h.retries,
                                "start_period": f"{h.start_period:g}s"}
        if s.ports:
            d["ports"] = [{"target": port, "protocol": "tcp"} for port in s.ports]
        for key in ("working_dir", "user"):
            if getattr(s, key):
                d[key] = getattr(s, key)
        services[s.name] = d
    return {"services": services, "networks": {n: {} for n in compose.networks},
            "volumes": {v: None for v in compose.volumes}}


def test_round_trip_through_dump_compose(tmp_path):
    first = load(tmp_path, FULL)
    text = dump_compose(as_dict(first))
    assert "HOME_REF: $$HOME" in text  # a literal "$" is written so Compose does not interpolate it
    second = load_compose(write(tmp_path, text, "exported.yaml"), {})
    assert [replace(s, line=0) for s in second.services] == [replace(s, line=0) for s in first.services]
    assert (second.networks, second.volumes) == (first.networks, first.volumes)


def test_dump_compose_keeps_order_and_escapes_only_values():
    text = dump_compose({"services": {"zeta": {"image": "a", "environment": {"$KEY": "cost $5"}},
                                      "alpha": {"image": "b", "command": ["echo", "${X}"]}}})
    data = yaml.safe_load(text)
    assert list(data["services"]) == ["zeta", "alpha"]
    assert data["services"]["zeta"]["environment"] == {"$KEY": "cost $$5"}
    assert data["services"]["alpha"]["command"] == ["echo", "$${X}"]


def test_start_order_puts_dependencies_first_and_ties_in_file_order(tmp_path):
    compose = load(tmp_path, """\
        services:
          web: {image: a, depends_on: [api, db]}
          cache: {image: a}
          api: {image: a, depends_on: {db: {condition: service_started}}}
          db: {image: a}
          batch: {image: a, depends_on: [cache]}
        """)
    assert compose.start_order() == ["cache", "db", "api", "web", "batch"]
    independent = load(tmp_path, "services: {c: {image: a}, b: {image: a}, a: {image: a}}\n")
    assert independent.start_order() == ["c", "b", "a"]


def test_networks_and_volumes(tmp_path):
    declared_default = load(tmp_path, web(top="networks: {default: {}, back: null}\n"))
    assert declared_default.networks == ("default", "back")
    only_declared = load(tmp_path, web("networks: {back: {}}\n", "networks: {back: }\n"))
    assert only_declared.networks == ("back",)  # nothing uses "default"
    assert only_declared.service("web").networks == ("back",)
    explicit = load(tmp_path, web("networks: [default]\n"))
    assert explicit.networks == ("default",) and explicit.volumes == ()


@pytest.mark.parametrize(("value", "expected"), [
    ('"serve --port 80"', ("serve", "--port", "80")),
    ("""'sh -c "echo hi there"'""", ("sh", "-c", "echo hi there")),
    ('["a b", "", 3]', ("a b", "", "3")),
    ('""', ()),  # empty: not the image's own (Compose spec)
    ("[]", ()),
    ("", None),  # null: the image's own
])
def test_command_forms(tmp_path, value, expected):
    assert load(tmp_path, web(f"command: {value}\n")).service("web").command == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("test: [CMD-SHELL, 'curl -f localhost || exit 1']", ("/bin/sh", "-c", "curl -f localhost || exit 1")),
    ("test: exit 0", ("/bin/sh", "-c", "exit 0")),
    ("test: [CMD, /bin/check, 1]", ("/bin/check", "1")),
    ("test: [NONE]", None),
    ("disable: true", None),
])
def test_healthcheck_forms(tmp_path, value, expected):
    health = load(tmp_path, web(f"healthcheck: {{{value}}}\n")).service("web").healthcheck
    assert (health.test if health else None) == expected
    if health:
        assert (health.interval, health.timeout, health.retries, health.start_period) == (5.0, 5.0, 3, 0.0)


@pytest.mark.parametrize(("text", "seconds"), [
    ("1m30s", 90.0), ("500ms", 0.5), ("10s", 10.0), ("2h", 7200.0), ("1h5m30s20ms", 3930.02), ("1.5s", 1.5),
    ("250us", 0.00025), ("10", 10.0), ("2.5", 2.5),
    ("10x", None), ("s", None), ("-1s", None), ("1 m", None), ("", None), ("1m30", None),
])
def test_durations(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_environment_forms(tmp_path):
    mapping = load(tmp_path, web("environment: {A: 1, B: false, C: ~, D: 'x y', E: 0x10, F: 2001-01-01}\n"))
    assert mapping.service("web").environment == (("A", "1"), ("B", "false"), ("C", ""), ("D", "x y"),
                                                  ("E", "0x10"), ("F", "2001-01-01"))
    listed = load(tmp_path, web("environment: ['A=', 'B=c=d', 'URL=http://x?a=b']\n"))
    assert listed.service("web").environment == (("A", ""), ("B", "c=d"), ("URL", "http://x?a=b"))


def test_yaml_merge_keys_written_keys_win(tmp_path):
    compose = load(tmp_path, """\
        x-base: &base {image: base:1, user: nobody}
        x-more: &more {image: more:1, working_dir: /more, user: root}
        services:
          web:
            <<: [*base, *more]
            working_dir: /mine
        """)
    service = compose.service("web")
    assert (service.image, service.user, service.working_dir) == ("base:1", "nobody", "/mine")


def test_extension_keys_are_not_read(tmp_path):
    compose = load(tmp_path, web("x-anything: !reset {privileged: true}\n", "x-top: ${UNKNOWN}\n"))
    assert compose.service("web").image == "nginx:1"


# -- interpolation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("${A}/$A-${A}", "a/a-a"),
    ("$A_B", "ab"),  # the longest name
    ("${UNSET:-dflt}", "dflt"),
    ("${EMPTY:-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""),
    ("${UNSET-dflt}", "dflt"),
    ("${A:-dflt}", "a"),
    ("${A:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${UNSET+alt}", "alt||alt|"),
    ("${UNSET:-${A}-${UNSET2:-x}}", "a-x"),
    ("$$A $${A} $$$A", "$A ${A} $a"),
    ("cost $5, 100$ and $", "cost $5, 100$ and $"),  # a $ starting no expression is kept (Compose spec)
    ("${A}}", "a}"),
])
def test_interpolate(text, expected):
    assert interpolate(text, {"A": "a", "A_B": "ab", "EMPTY": ""}) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("${NOPE}", "unknown variable 'NOPE' (give a default: ${NOPE:-value}); known are: A, EMPTY"),
    ("$NOPE", "unknown variable 'NOPE'"),
    ("${UNSET:-$NOPE}", "unknown variable 'NOPE'"),
    ("${EMPTY:?must be set}", "variable 'EMPTY' is not set or empty: must be set"),
    ("${UNSET?}", "variable 'UNSET' is not set"),
    ("${A/x/y}", "is not supported"),
    ("${}", "expected a variable name"),
    ("${A", "without its closing"),
    ("${UNSET:-" * 40 + "x" + "}" * 40, "nested deeper than 16 levels"),
])
def test_interpolate_refuses(text, message):
    with pytest.raises(compose_module.InterpolationError) as caught:
        interpolate(text, {"A": "a", "EMPTY": ""})
    assert message in str(caught.value)


def test_unknown_variable_names_file_line_and_known_variables(tmp_path):
    text = web("environment:\n  TAG: v-${VERSION}\n")
    problems = assert_problem(tmp_path, text, "TAG:", "services.web.environment.TAG",
                              "unknown variable 'VERSION'")
    assert "known are: REGISTRY, RELEASE" in problems[0]


def test_required_variable(tmp_path):
    assert_problem(tmp_path, web("user: ${RUN_AS:?set RUN_AS to the service user}\n"), "user:",
                   "services.web.user", "variable 'RUN_AS' is not set or empty: set RUN_AS to the service user")


def test_keys_are_not_interpolated(tmp_path):
    compose = load(tmp_path, web("environment:\n  $$NOT_A_VARIABLE: x\n  ${RELEASE}: y\n"))
    assert [k for k, _ in compose.service("web").environment] == ["$$NOT_A_VARIABLE", "${RELEASE}"]


def test_the_process_environment_is_never_read(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPOSE_TEST_SECRET", "from-the-environment")
    monkeypatch.setenv("REGISTRY", "from-the-environment")
    assert_problem(tmp_path, web("command: echo ${COMPOSE_TEST_SECRET}\n"), "command:", "services.web.command",
                   "unknown variable 'COMPOSE_TEST_SECRET'")
    assert_problem(tmp_path, "services:\n  web:\n    image: ${REGISTRY}/web\n", "image:", "services.web.image",
                   "no variables are given", variables={})
    assert load(tmp_path, "services: {web: {image: '${REGISTRY}/web'}}\n").service("web").image == \
        "registry.example:5000/shop/web"


def test_interpolated_values_are_checked_after_interpolation(tmp_path):
    text = web("ports: ['${PORT}']\nvolumes: ['${VOL}:/data']\n", "volumes: {data: }\n")
    compose = load(tmp_path, text, {"PORT": "8080", "VOL": "data"})
    assert compose.service("web").ports == (8080,)
    assert compose.service("web").mounts == (Mount("data", "/data"),)
    assert_problem(tmp_path, text, "ports:", "services.web.ports[0]", "has a host part",
                   {"PORT": "8080:80", "VOL": "data"})
    assert_problem(tmp_path, text, "volumes: ['", "services.web.volumes[0]", "bind mount",
                   {"PORT": "1", "VOL": "/etc"})


# -- refusals, each by key with file and line ---------------------------------------------------

TOP_LEVEL = [
    ("configs: {c: {file: ./c}}", "configs:", "configs", "unknown key 'configs', not supported by the container "
     "provider; supported are: services, networks, volumes, name, version, x-*"),
    ("secrets: {s: {file: /etc/shadow}}", "secrets:", "secrets", "unknown key 'secrets'"),
    ("include: [other.yaml]", "include:", "include", "unknown key 'include'"),
    ("networks: {front: {driver: bridge}}", "front:", "networks.front.driver",
     "not supported by the container provider"),
    ("networks:\n  front:\n    external: true", "external:", "networks.front.external", "not supported"),
    ("networks:\n  front:\n    ipam: {config: [{subnet: 10.0.0.0/8}]}", "ipam:", "networks.front.ipam",
     "not supported"),
    ("volumes:\n  data:\n    driver_opts: {type: none, device: /, o: bind}", "driver_opts:",
     "volumes.data.driver_opts", "not supported"),
    ("volumes:\n  data: /srv/data", "data:", "volumes.data", "expected nothing or {} for a volume"),
    ("networks: {'bad name': {}}", "networks:", "networks.bad name", "is not a network name"),
    ("volumes: [data]", "volumes:", "volumes", "expected a mapping of volume names, got a list"),
    ("name: My Project", "name:", "name", "is not a project name"),
]


@pytest.mark.parametrize(("top", "marker", "field", "fragment"), TOP_LEVEL, ids=[c[2] for c in TOP_LEVEL])
def test_top_level_refusals(tmp_path, top, marker, field, fragment):
    assert_problem(tmp_path, web(top=top + "\n"), marker, field, fragment)


SERVICE = [
    ("restart: always", "restart:", "services.web.restart", "unknown key 'restart', not supported by the container "
     "provider; supported are: image, command, entrypoint, environment, networks, volumes, depends_on, "
     "healthcheck, ports, working_dir, user, x-*"),
    ("working_dir: srv", "working_dir:", "services.web.working_dir", "must be an absolute path"),
    ("user: 'root; rm -rf /'", "user:", "services.web.user", "is not a user"),
    ("command: 'echo \"unclosed'", "command:", "services.web.command", "cannot be split into words"),
    ("command: {a: b}", "command:", "services.web.command", "expected a string or a list of strings, got a mapping"),
    ("environment: [DEBUG]", "environment:", "services.web.environment[0]",
     "has no value: Compose would take it from the host's environment"),
    ("environment: {A: [1]}", "environment:", "services.web.environment.A", "expected a string, number or boolean"),
    ("environment: [A=1, A=2]", "environment:", "services.web.environment.A", "duplicate variable 'A'"),
    ("environment: ['A B=1']", "environment:", "services.web.environment.A B", "is not a variable name"),
    ("environment: {A: \"nul\\0\"}", "environment:", "services.web.environment.A", "NUL character"),
    ("networks: [nowhere]", "networks:", "services.web.networks[0]",
     "network 'nowhere' is not declared in the top-level networks; known are: default"),
    ("networks: {default: {aliases: [db]}}", "networks:", "services.web.networks.default.aliases",
     "not supported by the container provider"),
    ("networks: {default: {ipv4_address: 10.0.0.9}}", "networks:", "services.web.networks.default.ipv4_address",
     "not supported"),
    ("networks: []", "networks:", "services.web.networks", "expected at least one network"),
    ("networks: [default, default]", "networks:", "services.web.networks[1]", "duplicate network"),
    ("ports: ['8080:80']", "ports:", "services.web.ports[0]", "'8080:80' has a host part: deploys publish each "
     "port on a free loopback port so several environments can run at once; give only the container port (80)"),
    ("ports: ['127.0.0.1:8080:80']", "ports:", "services.web.ports[0]", "has a host part"),
    ("ports:\n  - 8080:50", "8080:50", "services.web.ports[0]", "has a host part"),  # YAML 1.1 base 60
    ("ports: [{target: 80, published: 8080}]", "ports:", "services.web.ports[0].published",
     "free loopback port"),
    ("ports: [{target: 80, host_ip: 0.0.0.0}]", "ports:", "services.web.ports[0].host_ip", "free loopback port"),
    ("ports: [0]", "ports:", "services.web.ports[0]", "expected a port from 1 to 65535"),
    ("ports: [70000]", "ports:", "services.web.ports[0]", "expected a port from 1 to 65535"),
    ("ports: ['53/udp']", "ports:", "services.web.ports[0]", "only TCP ports"),
    ("ports: ['8000-8010']", "ports:", "services.web.ports[0]", "port ranges are not supported"),
    ("ports: [80, '80/tcp']", "ports:", "services.web.ports[1]", "port 80 is listed twice"),
    ("ports: 8080", "ports:", "services.web.ports", "expected a list"),
    ("depends_on: [ghost]", "depends_on:", "services.web.depends_on", "'ghost' is not a service of this file"),
    ("depends_on: [web]", "depends_on:", "services.web.depends_on", "'web' cannot depend on itself"),
    ("depends_on: {db: {condition: service_ready}}", "depends_on:", "services.web.depends_on.db.condition",
     "expected one of: service_started, service_healthy, service_completed_successfully"),
    ("depends_on: {db: {restart: true}}", "depends_on:", "services.web.depends_on.db.restart", "unknown key"),
    ("healthcheck: {test: [CMD, x], start_interval: 1s}", "healthcheck:", "services.web.healthcheck.start_interval",
     "unknown key"),
    ("healthcheck: {test: [CMD, x], interval: soon}", "healthcheck:", "services.web.healthcheck.interval",
     "'soon' is not a duration"),
    ("healthcheck: {test: [CMD, x], timeout: 0s}", "healthcheck:", "services.web.healthcheck.timeout",
     "expected from more than 0 to 24h"),
    ("healthcheck: {test: [CMD, x], retries: 0}", "healthcheck:", "services.web.healthcheck.retries",
     "from 1 to 1000"),
    ("healthcheck: {test: [CMD, x], retries: many}", "healthcheck:", "services.web.healthcheck.retries",
     "from 1 to 1000, got 'many'"),
    ("healthcheck: {test: [RUN, x]}", "healthcheck:", "services.web.healthcheck.test",
     "expected [CMD, command, arg...], [CMD-SHELL, text] or [NONE], got 'RUN' first"),
    ("healthcheck: {test: [CMD]}", "healthcheck:", "services.web.healthcheck.test", "the command is missing"),
    ("healthcheck: {test: [CMD-SHELL, a, b]}", "healthcheck:", "services.web.healthcheck.test",
     "one shell command line"),
    ("healthcheck: {interval: 1s}", "healthcheck:", "services.web.healthcheck.test", "required key is missing"),
    ("healthcheck: {test: [CMD, x], disable: true}", "healthcheck:", "services.web.healthcheck.test",
     "give one or the other"),
    ("volumes: [data]", "volumes:", "services.web.volumes[0]", "is an anonymous volume"),
    ("volumes: [/data]", "volumes:", "services.web.volumes[0]", "is an anonymous volume"),
    ("volumes: ['other:/data']", "volumes:", "services.web.volumes[0]",
     "volume 'other' is not declared in the top-level volumes; declared are: data"),
    ("volumes: ['data:relative']", "volumes:", "services.web.volumes[0]", "target 'relative' must be an absolute"),
    ("volumes: ['data:/x,readonly']", "volumes:", "services.web.volumes[0]", "without ',' or ':'"),
    ("volumes: ['data:/']", "volumes:", "services.web.volumes[0]", "other than '/'"),
    ("volumes: ['data:/x:z']", "volumes:", "services.web.volumes[0]", "mode 'z' is not supported"),
    ("volumes: ['data:/x', 'data:/x:ro']", "volumes:", "services.web.volumes[1]", "'/x' is mounted twice"),
    ("volumes: [{type: volume, target: /x}]", "volumes:", "services.web.volumes[0].source",
     "an anonymous volume cannot be captured"),
    ("volumes: [{type: volume, source: data, target: /x, volume: {nocopy: true}}]", "volumes:",
     "services.web.volumes[0].volume", "unknown key"),
    ("volumes:\n  - type: volume\n    source: data\n    target: y", "target: y", "services.web.volumes[0].target",
     "must be an absolute path"),
]


@pytest.mark.parametrize(("extra", "marker", "field", "fragment"), SERVICE, ids=[c[0][:40] for c in SERVICE])
def test_service_refusals(tmp_path, extra, marker, field, fragment):
    text = web(extra + "\n", "  db: {image: db:1}\nvolumes: {data: }\n")
    assert_problem(tmp_path, text, marker, field, fragment)


@pytest.mark.parametrize(("image", "fragment"), [
    ("[nginx]", "expected a string, got a list"),
    ("--privileged", "'--privileged' is not an image reference"),  # would be read as an option
    ("'nginx latest'", "is not an image reference"),
    ("${REGISTRY}/web:${TAG:-}", "'registry.example:5000/shop/web:' is not an image reference"),
    ("", "expected a string, got an empty value"),
    ("Registry.example/Shop/web", "is not an image reference"),  # repositories are lower case
    ("web@sha256:abc", "is not an image reference"),
    ("web:" + "t" * 200, "is not an image reference"),
    ("a" * 100_000 + "-", "is not an image reference"),
])
def test_image_refusals(tmp_path, image, fragment):
    assert_problem(tmp_path, f"services:\n  web:\n    image: {image}\n", "image:", "services.web.image", fragment)


@pytest.mark.parametrize("key", sorted(DANGEROUS))
def test_keys_reaching_the_host_are_refused_with_a_reason(tmp_path, key):
    text = web(f"{key}: host\n")
    assert_problem(tmp_path, text, f"{key}:", f"services.web.{key}", f"not supported: {DANGEROUS[key]}")


def test_build_points_at_the_registry(tmp_path):
    assert_problem(tmp_path, web("build: .\n"), "build:", "services.web.build",
                   "images come from the registry the deliver jobs push to; build them there")


@pytest.mark.parametrize(("mount", "marker", "field"), [
    ("'/:/host'", "volumes:", "services.web.volumes[0]"),
    ("'./data:/data'", "volumes:", "services.web.volumes[0]"),
    ("'~/.ssh:/root/.ssh:ro'", "volumes:", "services.web.volumes[0]"),
    ("'data/sub:/data'", "volumes:", "services.web.volumes[0]"),
    ("{type: bind, source: /, target: /host}", "volumes:", "services.web.volumes[0].type"),
    ("{type: npipe, source: //./pipe/docker_engine, target: /pipe}", "volumes:", "services.web.volumes[0].type"),
    ("{type: volume, source: /etc, target: /etc}", "volumes:", "services.web.volumes[0].source"),
])
def test_bind_mounts_are_refused(tmp_path, mount, marker, field):
    assert_problem(tmp_path, web(f"volumes: [{mount}]\n", "volumes: {data: }\n"), marker, field,
                   "templates can capture only named volumes; a bind mount would expose the host")


def test_tmpfs_is_refused(tmp_path):
    assert_problem(tmp_path, web("volumes: [{type: tmpfs, target: /tmp}]\n"), "volumes:",
                   "services.web.volumes[0].type", "type 'tmpfs' is not supported: templates can capture only named")


def test_service_names_must_be_lower_case(tmp_path):
    text = "services:\n  Web: {image: a}\n  ok: {image: a, depends_on: [Web]}\n"
    path, problems, _ = refused(tmp_path, text)
    assert problems == [f"{path}:2: services.Web: 'Web' is not a service name: lower-case letters, digits, '.', "
                        "'_' and '-', starting with a letter or digit (it becomes part of container names)"]


def test_depends_on_cycle_is_one_problem(tmp_path):
    text = """\
        services:
          a: {image: x, depends_on: [b]}
          b: {image: x, depends_on: {a: {condition: service_started}}}
          c: {image: x, depends_on: [d]}
          d: {image: x, depends_on: [e]}
          e: {image: x, depends_on: [c, a]}
        """
    path, problems, _ = refused(tmp_path, text)
    assert problems == [f"{path}:2: services.a.depends_on: a dependency cycle: a -> b -> a",
                        f"{path}:4: services.c.depends_on: a dependency cycle: c -> d -> e -> c"]


def test_a_broken_service_is_reported_once(tmp_path):
    """A service refused for itself (not a mapping, a bad healthcheck) is still a service to depend on:
    its dependents get no second problem about it."""
    text = """\
        services:
          web:
            image: a
            depends_on:
              db: {condition: service_healthy}
              cache: {condition: service_started}
          db: {image: b, healthcheck: {test: [CMD, check], interval: soon}}
          cache:
        """
    path, problems, _ = refused(tmp_path, text)
    assert problems == [f"{path}:7: services.db.healthcheck.interval: 'soon' is not a duration: a number of seconds "
                        "or units us, ms, s, m, h (1m30s, 500ms)",
                        f"{path}:8: services.cache: expected a mapping with keys image, command, entrypoint, "
                        "environment, networks, volumes, depends_on, healthcheck, ports, working_dir, user, got an "
                        "empty value"]


def test_variables_given_as_none_are_not_given(tmp_path):
    assert_problem(tmp_path, "services: {web: {image: '${REGISTRY}/web'}}\n", "services:", "services.web.image",
                   "unknown variable 'REGISTRY'", {"REGISTRY": None, "RELEASE": "r"})


def test_waiting_for_health_needs_a_healthcheck(tmp_path):
    text = """\
        services:
          web:
            image: a
            depends_on:
              db: {condition: service_healthy}
          db: {image: b, healthcheck: {disable: true}}
        """
    assert_problem(tmp_path, text, "db: {condition", "services.web.depends_on",
                   "waits for 'db' to be healthy, but 'db' has no healthcheck")


@pytest.mark.parametrize(("text", "line", "field", "fragment"), [
    ("", None, "", "the file is empty; expected at least 'services'"),
    ("# only a comment\n", None, "", "the file is empty"),
    ("- services\n- web\n", 1, "", "expected a mapping with keys services, networks, volumes, name, version, "
     "got a list"),
    ("just text\n", 1, "", "got 'just text'"),
    ("name: x\n", 1, "services", "required key is missing"),
    ("services: {}\n", 1, "services", "expected at least one service"),
    ("services: [web]\n", 1, "services", "expected a mapping of services, got a list"),
    ("services:\n  web:\n", 2, "services.web", "expected a mapping with keys image"),
    ("services: {web: {image: a}}\nservices: {}\n", 2, "services", "duplicate key 'services'"),
    ("services: {web: {image: a, image: b}}\n", 1, "services.web.image", "duplicate key 'image'"),
    ("services: {web: {image: !reset a}}\n", 1, "services.web.image", "the YAML tag !reset is not supported"),
    ("services: {web: {image: !!binary aGk=}}\n", 1, "services.web.image", "the YAML tag !!binary is not supported"),
    ("services: !!python/object:os.system {}\n", 1, "services", "the YAML tag"),
    ("services: {web: {image: a, <<: 3}}\n", 1, "services.web.<<", "expected a mapping to merge"),
    ("services: {web: {image: a}\n", 2, "", "not valid YAML"),
    (None, None, "", "cannot read the file"),
])
def test_malformed_files(tmp_path, text, line, field, fragment):
    if text is None:  # no file at all
        with pytest.raises(ConfigError) as caught:
            load_compose(tmp_path / "missing.yaml", VARS)
        path, problems = tmp_path / "missing.yaml", [str(p) for p in caught.value.problems]
    else:
        path, problems, _ = refused(tmp_path, text)
    where = f"{path}:{line}" if line else f"{path}"
    prefix = f"{where}: {field}: " if field else f"{where}: "
    assert any(p.startswith(prefix) and fragment in p for p in problems), (prefix, problems)


def test_every_problem_at_once(tmp_path):
    text = """\
        secrets: {}
        services:
          web:
            image: ${REGISTRY}/web:${VERSION}
            privileged: true
            network_mode: host
            volumes: ['/:/host']
            ports: ['80:80']
            networks: [front]
          db:
            image: db
            depends_on: [web, nobody]
        """
    path, problems, message = refused(tmp_path, text)
    assert problems == [
        f"{path}:1: secrets: unknown key 'secrets', not supported by the container provider; supported are: "
        "services, networks, volumes, name, version, x-*",
        f"{path}:5: services.web.privileged: not supported: {DANGEROUS['privileged']}",
        f"{path}:6: services.web.network_mode: not supported: {DANGEROUS['network_mode']}",
        f"{path}:4: services.web.image: unknown variable 'VERSION' (give a default: ${{VERSION:-value}}); "
        "known are: REGISTRY, RELEASE",
        f"{path}:9: services.web.networks[0]: network 'front' is not declared in the top-level networks; "
        "known are: default",
        f"{path}:7: services.web.volumes[0]: '/:/host' is a bind mount: templates can capture only named "
        "volumes; a bind mount would expose the host",
        f"{path}:8: services.web.ports[0]: '80:80' has a host part: deploys publish each port on a free loopback "
        "port so several environments can run at once; give only the container port (80)",
        f"{path}:12: services.db.depends_on: 'nobody' is not a service of this file; others are: web",
    ]
    assert message.startswith("invalid Compose file (8 problems):\n")


# -- hostile input: a ConfigError, never a traceback --------------------------------------------

def _laughs(levels: int = 12) -> str:
    """A billion-laughs document: each anchor lists the previous one ten times."""
    lines = ["x-l0: &l0 [xxxxxxxxxx]"]
    lines += [f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\nservices: {web: {image: a, command: *l11}}\n"


def _alias_chain(links: int = 2000) -> str:
    return "x-chain:\n  - &a0 [x]\n" + "".join(f"  - &a{i} [*a{i - 1}]\n" for i in range(1, links))


HOSTILE = {
    "alias bomb": (_laughs().encode(), 6, "with its aliases expanded this grows beyond the limit of 1048576"),
    "10 MB": (b"services: {web: {image: a}}\n# " + b"x" * (10 << 20) + b"\n", None,
              "a Compose file of 10485791 bytes, more than the limit of 1048576"),
    "not UTF-8": (b"services: {web: {image: caf\xe9}}\n", None,
                  "byte 27: not UTF-8 (invalid continuation byte); a Compose file must be UTF-8 text"),
    "nested deeply": (("services: " + "[" * 500 + "]" * 500 + "\n").encode(), 1,
                      "nesting deeper than the limit of 64 levels"),
    "nested through aliases": (_alias_chain().encode(), None, "nesting deeper than the limit of 64 levels"),
    "alias inside itself": (b"services: &a {web: *a}\n", 1, "an alias refers to a node that contains it"),
    "a NUL byte": (b"services:\n  web: {image: \"a\x00b\"}\n", 2, "not valid YAML: character 0x0000 (control"),
    "a control character": (b"services:\n\n  web: {image: a\x07}\n", 3, "character 0x0007 (control characters"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_files_nothing_can_be_checked_in(tmp_path, case):
    data, line, fragment = HOSTILE[case]
    path = tmp_path / "compose.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_compose(path, VARS)
    [problem] = caught.value.problems
    assert problem.path == path and problem.field == ""
    if line is not None:
        assert problem.line == line
    assert fragment in problem.message, problem.message


@pytest.mark.parametrize(("extra", "top", "marker", "field", "fragment"), [
    ("volumes: ['/:/host']", "", "volumes:", "services.web.volumes[0]", "a bind mount would expose the host"),
    ("privileged: true", "", "privileged:", "services.web.privileged", "not supported"),
    ("network_mode: host", "", "network_mode:", "services.web.network_mode", "not supported"),
    ("pid: host\nipc: host\ncap_add: [ALL]\ndevices: ['/dev/sda:/dev/sda']", "", "devices:",
     "services.web.devices", "exposes host devices"),
    ("command: [\"${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-x}}}}}}}}}}}}"
     "}}}}}\"]", "", "command:", "services.web.command[0]", "nested deeper than 16 levels"),
    ("command: \"" + "${A}" * 100_000 + "\"", "", "command:", "services.web.command", "unknown variable 'A'"),
])
def test_hostile_services(tmp_path, extra, top, marker, field, fragment):
    assert_problem(tmp_path, web(extra + "\n", top), marker, field, fragment)


def test_a_long_dependency_chain(tmp_path):
    """Dependency checks and the start order are iterative: a long chain reaches no recursion limit."""
    count = 1100  # beyond Python's default recursion limit of 1000
    lines = ["services:"] + [f"  s{i}: {{image: a, depends_on: [s{i + 1}]}}" for i in range(count - 1)]
    compose = load(tmp_path, "\n".join(lines + [f"  s{count - 1}: {{image: a}}"]) + "\n")
    assert compose.start_order() == [f"s{i}" for i in reversed(range(count))]
    looped = "\n".join(lines + [f"  s{count - 1}: {{image: a, depends_on: [s0]}}"]) + "\n"
    path, problems, _ = refused(tmp_path, looped)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:2: services.s0.depends_on: a dependency cycle: "
                                                         "s0 -> s1 -> s2 -> ")
    assert problems[0].endswith(f"-> s{count - 1} -> s0")


ODD_VALUES = ["", "~", "-1", "1.5", ".inf", "true", "'${X'", "[]", "{}", "[~]", "[[]]", "{a: {b: c}}", "!!set {a}",
              "!reset ~", "2001-01-01", "'\\0'", "{<<: 1}", "99999999999999999999", "[{target: [1]}]"]
ODD_PLACES = ["image: {}", "command: {}", "entrypoint: {}", "environment: {}", "environment: [{}]",
              "environment: {{k: {}}}", "networks: {}", "networks: [{}]", "networks: {{default: {}}}", "volumes: {}",
              "volumes: [{}]", "volumes: [{{type: volume, source: v, target: /x, read_only: {}}}]", "depends_on: {}",
              "depends_on: {{db: {}}}", "depends_on: {{db: {{condition: {}}}}}", "healthcheck: {}",
              "healthcheck: {{test: {}}}", "healthcheck: {{test: [CMD, x], interval: {}}}",
              "healthcheck: {{test: [CMD, x], retries: {}}}", "healthcheck: {{test: [CMD, x], disable: {}}}",
              "ports: {}", "ports: [{}]", "ports: [{{target: {}}}]", "working_dir: {}", "user: {}"]


@pytest.mark.parametrize("place", ODD_PLACES)
def test_any_odd_value_anywhere_is_a_problem_not_a_traceback(tmp_path, place):
    for value in ODD_VALUES:
        text = f"services:\n  web:\n    image: a\n    {place.format(value)}\n  db: {{image: b}}\nvolumes: {{v: }}\n"
        if place.startswith("image"):
            text = text.replace("    image: a\n", "", 1)
        path = write(tmp_path, text)
        line = line_of(text, place.split(":")[0] + ":")
        try:
            load_compose(path, VARS)
        except ConfigError as error:
            assert error.problems and all(str(p).startswith(f"{path}:{line}: services.web.") for p in error.problems), \
                (text, [str(p) for p in error.problems])
