"""Scoped update and bootstrap, end to end: scope -> render -> plan -> apply.

The CLI's `update`, `plan`, `bootstrap` and `demo` are thin layers over these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import naming
from ..errors import EnvDeliveryError
from ..jjb import pipeline
from ..model.organisation import Organisation
from ..render import render_scope
from ..scopes import ROOT, Scope
from .cache import ScopeCache, default_cache_root
from .client import JenkinsClient, PushError, ServerItem
from .diff import config_diff
from .plan import CHANGE, DesiredItem, Plan, make_plan
from .progress import Progress
from .update import UpdateReport, apply_plan, desired_items

# Plugins the generated jobs and shipped templates use, with the oldest release we accept.
# Older releases may work; they are not what the XML was checked against.
REQUIRED_PLUGINS = {
    "cloudbees-folder": "6.0",
    "git": "4.0.0",
    "copyartifact": "1.46",
    "credentials-binding": "1.20",
    "timestamper": "1.8",
    "junit": "1.20",
    "delivery-pipeline-plugin": "1.0.0",
}


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


def render_for_push(scope: Scope, config) -> pipeline.RenderedScope:
    """The scope's XML with owner marks."""
    return render_scope(scope, config, owner=scope.name)


def open_cache(client: JenkinsClient, scope: str, cache_root: Path | None) -> ScopeCache:
    return ScopeCache(cache_root or default_cache_root(), client.server, scope)


def plan_scope(scope: Scope, conf: Path, adopt: bool = False, allow_empty: bool = False,
               cache_root: Path | None = None,
               rendered: pipeline.RenderedScope | None = None) -> tuple[Plan, JenkinsClient, ScopeCache]:
    """`rendered`: the scope's XML with owner marks (render_for_push), when already at hand."""
    if rendered is None:
        rendered = render_for_push(scope, pipeline.make_jjb_config(conf))
    client = connect(conf)
    cache = open_cache(client, scope.name, cache_root)
    try:
        server = _inventory(client)
        plan = make_plan(scope.name, scope.namespace, desired_items(rendered), server, cache.entries,
                         adopt=adopt, allow_empty=allow_empty)
    except BaseException:
        cache.close()
        raise
    return plan, client, cache


def update_scope(scope: Scope, conf: Path, workers: int = 4, adopt: bool = False, allow_empty: bool = False,
                 cache_root: Path | None = None, progress_stream=None,
                 rendered: pipeline.RenderedScope | None = None) -> UpdateReport:
    plan, client, cache = plan_scope(scope, conf, adopt, allow_empty, cache_root, rendered)
    try:
        progress = Progress(len(plan.writes), progress_stream) if progress_stream and plan.writes else None
        return apply_plan(plan, client, cache, workers, progress)
    finally:
        cache.close()


@dataclass
class PlanResult:
    """What `update` would do; `source` says what it was compared with."""

    plan: Plan
    source: str  # "server" or "last applied"
    diffs: dict[str, str]

    @property
    def exit_code(self) -> int:
        """0: nothing would change; 2: something would; 1: the update would refuse."""
        if self.plan.refused:
            return 1
        return 2 if self.plan.writes else 0

    def to_json(self) -> dict:
        return {
            "scope": self.plan.scope,
            "compared_with": self.source,
            "changes": bool(self.plan.writes),
            "actions": [{"action": a.kind, "kind": a.item_kind, "name": a.name, "reason": a.reason,
                         **({"diff": self.diffs[a.name]} if a.name in self.diffs else {})}
                        for a in self.plan.actions],
        }


def plan_only(scope: Scope, conf: Path, adopt: bool = False, allow_empty: bool = False,
              cache_root: Path | None = None, rendered: pipeline.RenderedScope | None = None) -> PlanResult:
    """Plan against the live server; where it cannot be reached, against the last applied
    configuration this scope recorded. Reads only."""
    if rendered is None:
        rendered = render_for_push(scope, pipeline.make_jjb_config(conf))
    desired = desired_items(rendered)
    client = connect(conf, attempts=2)
    cache = open_cache(client, scope.name, cache_root)
    try:
        try:
            server = client.inventory()
        except PushError:
            server = None
        if server is None:
            applied = {key: DesiredItem.from_xml(e["name"], e["xml"].encode(), e["kind"] == "view")
                       for key, e in cache.applied.items()}
            inventory = {key: ServerItem(d.name, d.kind, d.description) for key, d in applied.items()}
            plan = make_plan(scope.name, scope.namespace, desired, inventory, cache.entries, adopt, allow_empty)
            current = {a.name: applied[a.desired.key].xml for a in plan.of(CHANGE)}
            source = "last applied"
        else:
            plan = make_plan(scope.name, scope.namespace, desired, server, cache.entries, adopt, allow_empty)
            current = {a.name: (client.view_config(a.name) if a.item_kind == "view" else client.job_config(a.name))
                       for a in plan.of(CHANGE)}
            source = "server"
        diffs = {a.name: config_diff(current[a.name], a.desired.xml, a.name) for a in plan.of(CHANGE)}
        return PlanResult(plan, source, diffs)
    finally:
        cache.close()


def _inventory(client: JenkinsClient):
    try:
        return client.inventory()
    except PushError as exc:
        raise EnvDeliveryError(f"cannot list the server's jobs: {exc}") from None


# -- bootstrap -----------------------------------------------------------------------------
def missing_plugins(installed: dict[str, str]) -> list[str]:
    from packaging.version import InvalidVersion, Version

    missing = []
    for name, floor in REQUIRED_PLUGINS.items():
        have = installed.get(name)
        if have is None:
            missing.append(f"{name} (>= {floor}): not installed")
            continue
        try:
            too_old = Version(have.split("-")[0]) < Version(floor)
        except InvalidVersion:
            too_old = False  # a snapshot or vendor build: trust it
        if too_old:
            missing.append(f"{name} (>= {floor}): {have} installed")
    return missing


def bootstrap(org: Organisation, conf: Path, workdir: Path, ignore_plugins: bool = False,
              cache_root: Path | None = None) -> UpdateReport:
    """Create the root folder and the root updater on a fresh server; idempotent."""
    from ..scopes import root_scope

    client = connect(conf)
    if not ignore_plugins:
        try:
            installed = client.installed_plugins()
        except PushError as exc:
            raise EnvDeliveryError(f"cannot read the server's plugins ({exc}); an administrator's "
                                   "credentials are needed, or pass --ignore-plugins") from None
        missing = missing_plugins(installed)
        if missing:
            raise EnvDeliveryError("the server lacks plugins the generated jobs need:\n  "
                                   + "\n  ".join(missing) + "\nInstall them, or pass --ignore-plugins.")
    rendered = render_for_push(root_scope(org, workdir), pipeline.make_jjb_config(conf))
    wanted = {org.root_folder, naming.root_updater(org)}
    desired = [d for d in desired_items(rendered) if d.kind != "view" and d.name in wanted]
    cache = open_cache(client, ROOT, cache_root)
    try:
        plan = make_plan(ROOT, None, desired, _inventory(client), cache.entries, delete=False)
        return apply_plan(plan, client, cache, workers=1)
    finally:
        cache.close()


