"""The environment configuration: what the provisioning tool gets as ``{config}``, and what
``env customize`` writes for an engineer to edit and ``env provision`` reads back.

Schema (every key but ``release`` and ``hosts`` optional)::

    name: minimal-current-alice      # names the environment (letters, digits, . _ -)
    variant: minimal                 # the variant it was derived from (informational)
    release: current                 # a release line of the organisation
    provider: local                  # must be the organisation's provider
    networks:
      - {name: default, subnet: 10.0.0.0/24}
    hosts:                           # one host ("VM") per entry
      - name: auth-service
        services: [auth-service]     # services of the organisation
        network: default             # one of networks[].name
        cpus: 1
        memory-mb: 1024
    validate:                        # shell commands run in the environment once provisioned
      - envtool check --smoke

The services of the environment are those of its hosts. An engineer edits this file by hand, so
it is checked like the org file: every problem at once, each as ``path:line: field: message``;
a file that is not UTF-8, too large or nested too deeply is refused in one line (``NodeReader``).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import ConfigError
from ..model.organisation import Organisation, Variant
from ..model.yaml_nodes import NodeReader

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Each allowed key, and whether it is required.
TOP_KEYS = {"name": False, "variant": False, "release": True, "provider": False, "networks": False, "hosts": True,
            "validate": False}
HOST_KEYS = {"name": True, "services": True, "network": False, "cpus": False, "memory-mb": False}
NETWORK_KEYS = {"name": True, "subnet": False}


def variant_config(org: Organisation, variant: Variant, release: str) -> dict:
    """The configuration of a variant: one host per service on one network."""
    return {
        "name": f"{variant.name}-{release}",
        "variant": variant.name,
        "release": release,
        "provider": org.environments.provider.name,
        "networks": [{"name": "default", "subnet": "10.0.0.0/24"}],
        "hosts": [{"name": service, "services": [service], "network": "default", "cpus": 1, "memory-mb": 1024}
                  for service in variant.services],
        "validate": list(variant.validate),
    }


def config_services(config: dict) -> list[str]:
    seen: list[str] = []
    for host in config["hosts"]:
        seen += [s for s in host["services"] if s not in seen]
    return seen


def dump(config: dict) -> str:
    header = ("# Environment configuration (jjb-envdelivery env customize). Edit hosts, networks and\n"
              "# validate, then: jjb-envdelivery env provision --config FILE [--on-jenkins --conf INI]\n")
    return header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None)


def load_config(path: Path, org: Organisation, release: str | None = None) -> dict:
    """Read and check a configuration. Every problem names file, line and field, and all are
    reported at once (a ``ConfigError``), as for the org file; `release` is the release line
    the provisioning job is for, when there is one."""
    reader = NodeReader(Path(path), what="an environment configuration")
    root = reader.compose()
    if root is None and not reader.problems:
        reader.problem(None, "", "the file is empty; expected at least 'release' and 'hosts'")
    if root is not None:
        _check(reader, root, org, release)
    if reader.problems:
        raise ConfigError(reader.problems, what="environment configuration")
    data = reader.plain(root)
    data.setdefault("name", f"custom-{data['release']}")
    data.setdefault("variant", "custom")
    data.setdefault("networks", [])
    data.setdefault("validate", [])
    data["provider"] = org.environments.provider.name
    return data


def _check(r: NodeReader, root, org: Organisation, release: str | None) -> None:
    """Record every problem of the configuration with the reader."""
    top = r.mapping(root, "", TOP_KEYS)
    if top is None:
        return
    lines = [line.name for line in org.release_lines]
    value = r.scalar(top.get("release"), "release")
    if value is not None and value not in lines:
        r.problem(top["release"], "release", f"{value!r} is not a release line; known are: {', '.join(lines)}")
    elif value is not None and release is not None and value != release:
        r.problem(top["release"], "release", f"{value!r}, but this job provisions release line {release!r}")
    for key in ("name", "variant"):
        value = r.scalar(top.get(key), key)
        if value is not None and not NAME.match(value):
            r.problem(top[key], key, f"{value!r} must be letters, digits, '.', '_' and '-'")
    provider = r.scalar(top.get("provider"), "provider")
    if provider is not None and provider != org.environments.provider.name:
        r.problem(top["provider"], "provider", f"{provider!r}, but the organisation's provider is "
                  f"{org.environments.provider.name!r}")
    networks = _networks(r, top["networks"]) if "networks" in top else set()
    if "hosts" in top:
        _hosts(r, top["hosts"], networks, {s for p in org.projects for s in p.services})
    if "validate" in top:
        r.string_list(top["validate"], "validate")


def _networks(r: NodeReader, node) -> set[str]:
    names: set[str] = set()
    for i, item in enumerate(r.sequence(node, "networks") or []):
        keys = r.mapping(item, f"networks[{i}]", NETWORK_KEYS)
        if keys is None:
            continue
        name = r.scalar(keys.get("name"), f"networks[{i}].name")
        r.scalar(keys.get("subnet"), f"networks[{i}].subnet")
        if name in names:
            r.problem(keys["name"], f"networks[{i}].name", f"duplicate network {name!r}")
        elif name is not None:
            names.add(name)
    return names


def _hosts(r: NodeReader, node, networks: set[str], services: set[str]) -> None:
    hosts = r.sequence(node, "hosts")
    if hosts is not None and not hosts:
        r.problem(node, "hosts", "expected a list of at least one host")
    host_names: set[str] = set()
    for i, item in enumerate(hosts or []):
        where = f"hosts[{i}]"
        keys = r.mapping(item, where, HOST_KEYS)
        if keys is None:
            continue
        name = r.scalar(keys.get("name"), f"{where}.name")
        if name is not None and not NAME.match(name):
            r.problem(keys["name"], f"{where}.name", f"{name!r} is not a name (letters, digits, '.', '_' and '-')")
        elif name in host_names:
            r.problem(keys["name"], f"{where}.name", f"duplicate host {name!r}")
        elif name is not None:
            host_names.add(name)
        if "services" in keys:
            listed = r.string_list(keys["services"], f"{where}.services")
            if isinstance(keys["services"], yaml.SequenceNode) and not keys["services"].value:
                r.problem(keys["services"], f"{where}.services", "expected a list of at least one service")
            for service, service_node in listed or []:
                if service not in services:
                    r.problem(service_node, f"{where}.services", f"unknown service {service!r}")
        network = r.scalar(keys.get("network"), f"{where}.network")
        if network is not None and network not in networks:
            r.problem(keys["network"], f"{where}.network", f"{network!r} is not one of networks[].name")
        for key in ("cpus", "memory-mb"):
            value = r.scalar(keys.get(key), f"{where}.{key}", int)
            if value is not None and value < 1:
                r.problem(keys[key], f"{where}.{key}", "expected a positive integer")
