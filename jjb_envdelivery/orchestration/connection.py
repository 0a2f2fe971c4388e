"""The Jenkins server a command talks to, as a JJB ini names it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import EnvDeliveryError
from ..jjb import pipeline
from ..push.cache import ScopeCache, default_cache_root
from ..push.client import JenkinsClient


@dataclass(frozen=True)
class Connection:
    url: str
    user: str | None
    password: str | None
    timeout: float


def read_connection(conf: Path) -> Connection:
    """Server URL and credentials from a JJB ini, as `jenkins-jobs` reads them."""
    if not Path(conf).is_file():
        raise EnvDeliveryError(f"no JJB configuration at {conf}")
    config = pipeline.make_jjb_config(conf)
    timeout = config.jenkins["timeout"]
    return Connection(config.jenkins["url"], config.jenkins["user"], config.jenkins["password"],
                      float(timeout) if isinstance(timeout, (int, float)) else 30.0)


def connect(conf: Path, attempts: int = 4, backoff: float = 0.5) -> JenkinsClient:
    c = read_connection(conf)
    return JenkinsClient(c.url, c.user, c.password, timeout=c.timeout, attempts=attempts, backoff=backoff)


def open_cache(client: JenkinsClient, scope: str, cache_root: Path | None) -> ScopeCache:
    return ScopeCache(cache_root or default_cache_root(), client.server, scope)
