"""``plan``: what ``update`` would do, compared with the live server or, where it cannot be
reached, with the configuration this scope last applied. Reads only."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..jjb import pipeline
from ..jjb.rendered import ItemKind
from ..push.apply import desired_items, without_folder_credentials
from ..push.client import PushError, ServerItem
from ..push.diff import config_diff
from ..push.plan import CHANGE, DesiredItem, Plan, PlanAction, make_plan
from ..scopes import Scope
from .checked_render import ScopeRequest, render_request
from .connection import connect, open_cache

SERVER = "server"
LAST_APPLIED = "last applied"


@dataclass
class PlanResult:
    """What `update` would do; `source` says what it was compared with."""

    plan: Plan
    source: str  # SERVER or LAST_APPLIED
    diffs: dict[str, str]
    # Items whose current configuration could not be read (no diff shown), and why.
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0: nothing would change; 2: something would; 1: the update would refuse."""
        if self.plan.refused:
            return 1
        return 2 if self.plan.writes else 0

    def to_json(self) -> dict:
        def action(a) -> dict:
            entry = {"action": a.kind, "kind": a.item_kind, "name": a.name, "reason": a.reason}
            if a.name in self.diffs:
                entry["diff"] = self.diffs[a.name]
            if a.name in self.unreadable:
                entry["diff_error"] = self.unreadable[a.name]
            return entry

        return {"scope": self.plan.scope, "compared_with": self.source, "changes": bool(self.plan.writes),
                "actions": [action(a) for a in self.plan.actions]}

    def counts(self) -> dict[PlanAction, int]:
        return {kind: len(self.plan.of(kind)) for kind in PlanAction}


def plan_request(request: ScopeRequest, conf: Path, adopt: bool = False, allow_empty: bool = False,
                 cache_root: Path | None = None) -> PlanResult:
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        scope, rendered = render_request(request, conf, Path(tmp))
        return plan_only(scope, rendered, conf, adopt=adopt, allow_empty=allow_empty, cache_root=cache_root)


def plan_only(scope: Scope, rendered: pipeline.RenderedScope, conf: Path, adopt: bool = False,
              allow_empty: bool = False, cache_root: Path | None = None) -> PlanResult:
    """Plan `rendered` (the scope's checked XML with owner marks) against the live server; where it
    cannot be reached, against the last applied configuration this scope recorded. A change whose
    current configuration cannot be read (403, 500 ...) is still planned, with the reason in place
    of its diff."""
    desired = desired_items(rendered)
    client = connect(conf, attempts=2)
    cache = open_cache(client, scope.name, cache_root)
    try:
        try:
            server = client.inventory()
        except PushError:
            server = None
        current: dict[str, str] = {}
        unreadable: dict[str, str] = {}
        if server is None:
            applied = {key: DesiredItem.from_stored_xml(
                e["name"], e["xml"].encode(), ItemKind.VIEW if e["kind"] == "view" else ItemKind.JOB)
                       for key, e in cache.applied.items()}
            inventory = {key: ServerItem(d.name, d.kind, d.description) for key, d in applied.items()}
            plan = make_plan(scope.name, scope.namespace, desired, inventory, cache.entries, adopt, allow_empty)
            current = {a.name: applied[a.desired.key].xml for a in plan.of(CHANGE)}
            source = LAST_APPLIED
        else:
            plan = make_plan(scope.name, scope.namespace, desired, server, cache.entries, adopt, allow_empty)
            for a in plan.of(CHANGE):
                try:
                    current[a.name] = (client.view_config(a.name) if a.item_kind == ItemKind.VIEW
                                       else client.job_config(a.name))
                    if a.item_kind == ItemKind.FOLDER:  # update keeps the folder's credential store
                        current[a.name] = without_folder_credentials(current[a.name])
                except PushError as exc:
                    unreadable[a.name] = f"could not read its current configuration: {exc}"
            source = SERVER
        diffs = {a.name: config_diff(current[a.name], a.desired.xml, a.name)
                 for a in plan.of(CHANGE) if a.name in current}
        return PlanResult(plan, source, diffs, unreadable)
    finally:
        cache.close()
