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

The services of the environment are those of its hosts.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import EnvDeliveryError
from ..model.organisation import Organisation, Variant

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TOP_KEYS = {"name", "variant", "release", "provider", "networks", "hosts", "validate"}
HOST_KEYS = {"name", "services", "network", "cpus", "memory-mb"}
NETWORK_KEYS = {"name", "subnet"}


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
    """Read and check a configuration; every problem is reported at once, naming the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise EnvDeliveryError(f"cannot read environment configuration {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise EnvDeliveryError(f"{path}: not valid YAML: {exc}") from None
    problems = check_config(data, org)
    if not problems and release is not None and data["release"] != release:
        problems.append(f"release: {data['release']!r}, but this job provisions release line {release!r}")
    if problems:
        raise EnvDeliveryError(f"invalid environment configuration {path}:\n"
                               + "\n".join(f"  {p}" for p in problems))
    data.setdefault("name", f"custom-{data['release']}")
    data.setdefault("variant", "custom")
    data.setdefault("networks", [])
    data.setdefault("validate", [])
    data["provider"] = org.environments.provider.name
    return data


def check_config(data, org: Organisation) -> list[str]:
    if not isinstance(data, dict):
        return ["expected a mapping with at least 'release' and 'hosts'"]
    problems = [f"{key}: unknown key; known are: {', '.join(sorted(TOP_KEYS))}" for key in data
                if key not in TOP_KEYS]
    lines = [line.name for line in org.release_lines]
    if data.get("release") not in lines:
        problems.append(f"release: {data.get('release')!r} is not a release line; known are: {', '.join(lines)}")
    for key in ("name", "variant"):
        if key in data and not (isinstance(data[key], str) and NAME.match(data[key])):
            problems.append(f"{key}: {data[key]!r} must be letters, digits, '.', '_' and '-'")
    if "provider" in data and data["provider"] != org.environments.provider.name:
        problems.append(f"provider: {data['provider']!r}, but the organisation's provider is "
                        f"{org.environments.provider.name!r}")
    networks = data.get("networks", [])
    names = set()
    if not isinstance(networks, list):
        problems.append("networks: expected a list")
        networks = []
    for i, net in enumerate(networks):
        if not isinstance(net, dict) or set(net) - NETWORK_KEYS or not isinstance(net.get("name"), str):
            problems.append(f"networks[{i}]: expected {{name, subnet}}")
        else:
            names.add(net["name"])
    services = {s for p in org.projects for s in p.services}
    hosts = data.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        problems.append("hosts: expected a list of at least one host")
        hosts = []
    host_names = set()
    for i, host in enumerate(hosts):
        where = f"hosts[{i}]"
        if not isinstance(host, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        problems += [f"{where}.{key}: unknown key; known are: {', '.join(sorted(HOST_KEYS))}"
                     for key in host if key not in HOST_KEYS]
        name = host.get("name")
        if not (isinstance(name, str) and NAME.match(name)):
            problems.append(f"{where}.name: expected a name (letters, digits, '.', '_' and '-')")
        elif name in host_names:
            problems.append(f"{where}.name: duplicate host {name!r}")
        host_names.add(name)
        listed = host.get("services")
        if not isinstance(listed, list) or not listed:
            problems.append(f"{where}.services: expected a list of services")
        else:
            problems += [f"{where}.services: unknown service {s!r}" for s in listed if s not in services]
        if "network" in host and host["network"] not in names:
            problems.append(f"{where}.network: {host['network']!r} is not one of networks[].name")
        for key in ("cpus", "memory-mb"):
            if key in host and not (isinstance(host[key], int) and host[key] > 0):
                problems.append(f"{where}.{key}: expected a positive integer")
    validate = data.get("validate", [])
    if not (isinstance(validate, list) and all(isinstance(v, str) for v in validate)):
        problems.append("validate: expected a list of shell commands")
    return problems
