"""What shopctl puts into a new environment: the engine commands, as argument lists, and the
versions the services report.

The container provider starts each service as the container ``<environment id>-<service>``, runs
shopctl with ``ENVDELIVERY_ENGINE`` (the engine command, e.g. podman) and gives the configuration
key ``access``: each service's published address on this host, ``127.0.0.1:PORT``.
"""

from __future__ import annotations

import urllib.error
import urllib.request

# The stock every new environment starts with (SKU -> count); the catalog service sells these.
STOCK = {"widget": 25, "gadget": 10, "gizmo": 4}


class ProvisioningError(Exception):
    """A service could not be seeded or did not say its version."""


def services(config: dict) -> list[str]:
    """The services of the environment, in the configuration's order (hosts[].services)."""
    seen: list[str] = []
    for host in config.get("hosts", []):
        seen += [name for name in host.get("services", []) if name not in seen]
    return seen


def seed_commands(engine: str, env_id: str, config: dict) -> list[list[str]]:
    """The commands that seed the environment: stock levels into the stock service (its volume
    keeps them), and the environment's name on the storefront's page."""
    present = services(config)
    commands = []
    if "stock" in present:
        commands += [[engine, "exec", f"{env_id}-stock", "set-level", sku, str(count)]
                     for sku, count in STOCK.items()]
    if "storefront" in present:
        banner = f"{config.get('name', env_id)} ({env_id})"
        commands.append([engine, "exec", f"{env_id}-storefront", "set-banner", banner])
    return commands


def parse_version(service: str, answer: str) -> str:
    """``GET /cgi-bin/version`` answers "SERVICE VERSION"."""
    words = answer.split()
    if len(words) != 2 or words[0] != service:
        raise ProvisioningError(f"{service} answered {answer.strip()[:80]!r} to /cgi-bin/version, "
                                f"expected '{service} VERSION'")
    return words[1]


def fetch_version(service: str, address: str, timeout: float = 10.0) -> str:
    """Ask the service at ``address`` (host:port) for its version."""
    url = f"http://{address}/cgi-bin/version"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return parse_version(service, answer.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as exc:
        raise ProvisioningError(f"{service} did not answer {url}: {exc}") from None
