"""Validation of an environment envtool provisioned (or one deployed from its template).

Each check returns the problems it found (an empty list when the environment passes):

* smoke        every host and every service of environment.json is there and running;
* integration  every file is as provisioned (MANIFEST.sha256), and every host has its own
               address inside its network's subnet;
* ha           no two services share a host, so losing one host loses one service.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from pathlib import Path

from .environment import ENVIRONMENT_FILE, MANIFEST_FILE, file_digests


def read_environment(root: Path) -> dict:
    path = Path(root) / ENVIRONMENT_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise FileNotFoundError(f"{root} is not an environment: no {ENVIRONMENT_FILE}") from None


def smoke(root: Path, environment: dict) -> list[str]:
    problems = []
    for host in environment["hosts"]:
        if not (root / host["name"] / "host.json").is_file():
            problems.append(f"host {host['name']} is missing")
            continue
        for service in host["services"]:
            path = root / host["name"] / "services" / f"{service}.json"
            if not path.is_file():
                problems.append(f"service {service} is missing on host {host['name']}")
            elif json.loads(path.read_text(encoding="utf-8")).get("state") != "running":
                problems.append(f"service {service} on host {host['name']} is not running")
    return problems


def integration(root: Path, environment: dict) -> list[str]:
    problems = []
    manifest = root / MANIFEST_FILE
    if not manifest.is_file():
        return [f"no {MANIFEST_FILE}"]
    recorded = dict(reversed(line.split("  ", 1)) for line in manifest.read_text(encoding="utf-8").splitlines())
    actual = file_digests(root)
    for name, digest in recorded.items():
        if name not in actual:
            problems.append(f"{name} is missing")
        elif actual[name] != digest:
            problems.append(f"{name} changed since it was provisioned")
    subnets = {network["name"]: ipaddress.ip_network(network["subnet"]) for network in environment["networks"]}
    for address, count in Counter(host["address"] for host in environment["hosts"]).items():
        if count > 1:
            problems.append(f"address {address} is used by {count} hosts")
    for host in environment["hosts"]:
        if ipaddress.ip_address(host["address"]) not in subnets[host["network"]]:
            problems.append(f"host {host['name']}: {host['address']} is outside network {host['network']}")
    return problems


def ha(root: Path, environment: dict) -> list[str]:
    return [f"host {host['name']} runs {len(host['services'])} services: {', '.join(host['services'])}"
            for host in environment["hosts"] if len(host["services"]) > 1]


CHECKS = {"smoke": smoke, "integration": integration, "ha": ha}
