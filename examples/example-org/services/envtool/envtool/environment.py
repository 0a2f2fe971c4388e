"""Provisioning: an environment configuration written out as an environment on disk.

The configuration is the JSON that ``jjb-envdelivery`` passes as ``--config``::

    {"name": "minimal-current", "release": "current",
     "networks": [{"name": "default", "subnet": "10.0.0.0/24"}],
     "hosts": [{"name": "auth-service", "services": ["auth-service"], "network": "default",
                "cpus": 1, "memory-mb": 1024}],
     "report-file": "/tmp/.../versions.json"}

The environment (the ``--target`` directory)::

    environment.json                 the configuration, each host with its address
    <host>/host.json                 the host: services, network, address, cpus, memory
    <host>/services/<service>.json   a running service: host, address, port, version
    MANIFEST.sha256                  the digest of every file above (check --integration)
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from pathlib import Path

from . import __version__

ENVIRONMENT_FILE = "environment.json"
MANIFEST_FILE = "MANIFEST.sha256"
FIRST_PORT = 8000
# A configuration without networks gets this one.
DEFAULT_NETWORK = {"name": "default", "subnet": "10.0.0.0/24"}


class ConfigurationError(Exception):
    """The configuration cannot be provisioned; the message says which field and why."""


def load_config(path: Path) -> dict:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the configuration {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigurationError(f"the configuration {path} is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigurationError(f"the configuration {path} must be a JSON object")
    hosts = config.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise ConfigurationError("hosts: expected a list of at least one host")
    for index, host in enumerate(hosts):
        if not isinstance(host, dict) or not isinstance(host.get("name"), str) or not host["name"]:
            raise ConfigurationError(f"hosts[{index}].name: expected a host name")
        services = host.get("services")
        if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
            raise ConfigurationError(f"hosts[{index}].services: expected a list of service names")
    return config


def assign_addresses(config: dict) -> dict[str, str]:
    """Host name -> address: each network hands out its subnet's addresses in host order."""
    networks = config.get("networks") or [DEFAULT_NETWORK]
    pools = {}
    for network in networks:
        try:
            pools[network["name"]] = ipaddress.ip_network(network.get("subnet", "10.0.0.0/24")).hosts()
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(f"networks: {network!r} is not a network with a subnet ({exc})") from None
    addresses = {}
    for host in config["hosts"]:
        network = host.get("network") or networks[0]["name"]
        if network not in pools:
            raise ConfigurationError(f"host {host['name']}: network {network!r} is not one of networks[].name")
        address = next(pools[network], None)
        if address is None:
            raise ConfigurationError(f"network {network!r} has no address left for host {host['name']}")
        addresses[host["name"]] = str(address)
    return addresses


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def provision(config: dict, target: Path) -> dict[str, str]:
    """Write the environment into `target` (an existing, empty directory); returns the versions
    of what it installed, {service: version}, for the report file."""
    target = Path(target)
    if not target.is_dir():
        raise ConfigurationError(f"--target {target} is not a directory")
    if any(target.iterdir()):
        raise ConfigurationError(f"--target {target} is not empty")
    addresses = assign_addresses(config)
    networks = config.get("networks") or [DEFAULT_NETWORK]
    hosts = []
    for host in config["hosts"]:
        network = host.get("network") or networks[0]["name"]
        placed = {**host, "network": network, "address": addresses[host["name"]]}
        hosts.append(placed)
        _write_json(target / host["name"] / "host.json", placed)
        for port, service in enumerate(host["services"], start=FIRST_PORT):
            _write_json(target / host["name"] / "services" / f"{service}.json",
                        {"service": service, "host": host["name"], "address": placed["address"], "port": port,
                         "state": "running", "release": config.get("release", "")})
    described = {key: value for key, value in config.items() if key != "report-file"}
    _write_json(target / ENVIRONMENT_FILE, {**described, "networks": networks, "hosts": hosts,
                                            "provisioned-by": f"envtool {__version__}"})
    write_manifest(target)
    return {"envtool": __version__}


def file_digests(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root` but the manifest itself."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and path.name != MANIFEST_FILE}


def write_manifest(root: Path) -> None:
    lines = [f"{digest}  {name}\n" for name, digest in file_digests(root).items()]
    (root / MANIFEST_FILE).write_text("".join(lines), encoding="utf-8")
