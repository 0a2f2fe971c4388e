"""``plan``: what ``update`` would do, compared with the live server or, where it cannot be
reached, with the configuration this scope last applied. Reads only."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EnvDeliveryError
from ..jjb import pipeline
from ..jjb.rendered import ItemKind
from ..push.apply import desired_items
from ..push.client import PushError, ServerItem
from ..push.diff import config_diff
from ..push.plan import CHANGE, DesiredItem, Plan, PlanAction, make_plan
from ..push.refresh import read_live, refresh_plan
from ..scopes import Scope
from .checked_render import ScopeRequest, render_request
from .connection import connect, open_cache

SERVER = "server"
LAST_APPLIED = "last applied"
# Failures that mean the server could not be reached (after the client's retries); anything else
# it answered (401, 403, 404, 500) is an answer, and plan stops on it rather than guess.
UNREACHABLE_STATUSES = (None, 502, 503, 504)


@dataclass
class PlanResult:
    """What `update` would do; `source` says what it was compared with."""

    plan: Plan
    source: str  # SERVER or LAST_APPLIED
    diffs: dict[str, str]
    # Items whose current configuration could not be read (no diff shown), and why.
    unreadable: dict[str, str] = field(default_factory=dict)
    # Why the server was not used (``--offline``, or it could not be reached); None when it was.
    offline_reason: str | None = None
    refreshed: bool = False
    drifted: list[str] = field(default_factory=list)  # with refresh: items changed on the server

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
            if a.renamed_from:  # RENAME: the item's current name
                entry["from"] = a.renamed_from
            return entry

        result = {"scope": self.plan.scope, "compared_with": self.source, "changes": bool(self.plan.writes),
                  "refreshed": self.refreshed, "drifted": sorted(self.drifted),
                  "actions": [action(a) for a in self.plan.actions]}
        if self.offline_reason:
            result["offline_reason"] = self.offline_reason
        return result

    def counts(self) -> dict[PlanAction, int]:
        return {kind: len(self.plan.of(kind)) for kind in PlanAction}


def plan_request(request: ScopeRequest, conf: Path, adopt: bool = False, allow_empty: bool = False,
                 cache_root: Path | None = None, refresh: bool = False, offline: bool = False) -> PlanResult:
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        scope, rendered = render_request(request, conf, Path(tmp))
        return plan_only(scope, rendered, conf, adopt=adopt, allow_empty=allow_empty, cache_root=cache_root,
                         refresh=refresh, offline=offline)


def plan_only(scope: Scope, rendered: pipeline.RenderedScope, conf: Path, adopt: bool = False,
              allow_empty: bool = False, cache_root: Path | None = None, refresh: bool = False,
              offline: bool = False) -> PlanResult:
    """Plan `rendered` (the scope's checked XML with owner marks) against the live server. With
    `offline`, or where the server cannot be reached, against the last applied configuration this
    scope recorded (``offline_reason`` says why); credentials the server refuses (401, 403) or any
    other answer to the listing stop the plan. With `refresh`, every item's live config.xml is read
    and compared by meaning, so drift shows as a change. A change whose current configuration
    cannot be read (403, 500 ...) is still planned, with the reason in place of its diff."""
    if refresh and offline:
        raise EnvDeliveryError("--refresh reads the live server and --offline never contacts it: pick one")
    desired = desired_items(rendered)
    client = connect(conf, attempts=2)
    cache = open_cache(client, scope.name, cache_root)
    try:
        server, offline_reason = None, "--offline: the server was not contacted" if offline else None
        if not offline:
            try:
                server = client.inventory()
            except PushError as exc:
                if exc.status not in UNREACHABLE_STATUSES:
                    raise EnvDeliveryError(refused_message(client.server, exc)) from None
                if refresh:
                    raise EnvDeliveryError(f"--refresh needs the server, which could not be reached: {exc}") from None
                offline_reason = f"the server could not be reached ({exc})"
        current: dict[str, str] = {}
        unreadable: dict[str, str] = {}
        drifted: list[str] = []
        if server is None:
            applied = {key: DesiredItem.from_stored_xml(
                e["name"], e["xml"].encode(), ItemKind.VIEW if e["kind"] == "view" else ItemKind.JOB)
                       for key, e in cache.applied.items()}
            inventory = {key: ServerItem(d.name, d.kind, d.description, d.cls) for key, d in applied.items()}
            plan = make_plan(scope.name, scope.namespace, desired, inventory, cache.entries, adopt, allow_empty,
                             adopt_from=scope.adopt_from)
            current = {a.name: applied[a.desired.key].xml for a in plan.of(CHANGE)}
            source = LAST_APPLIED
        else:
            plan = make_plan(scope.name, scope.namespace, desired, server, cache.entries, adopt, allow_empty,
                             adopt_from=scope.adopt_from)
            if refresh:
                try:
                    refreshed = refresh_plan(plan, client)
                except PushError as exc:
                    raise EnvDeliveryError(refused_message(client.server, exc)) from None
                plan, drifted = refreshed.plan, refreshed.drifted
                current.update(refreshed.live)
                unreadable.update(refreshed.unreadable)
            # The changes refresh did not read already: their current config, for the diff.
            unread = [a for a in plan.of(CHANGE) if a.name not in current and a.name not in unreadable]
            try:
                live, failed = read_live(client, unread)
            except PushError as exc:
                raise EnvDeliveryError(refused_message(client.server, exc)) from None
            current.update(live)
            unreadable.update(failed)
            source = SERVER
        diffs = {a.name: config_diff(current[a.name], a.desired.xml, a.name)
                 for a in plan.of(CHANGE) if a.name in current}
        return PlanResult(plan, source, diffs, unreadable, offline_reason, refresh, drifted)
    finally:
        cache.close()


def refused_message(server: str, exc: PushError) -> str:
    """One line for an answer that ends a plan: refused credentials say so."""
    if exc.status in (401, 403):
        # The client's message already says how to fix it.
        return f"the server at {server} refused the credentials ({exc.status}); nothing was compared: {exc}"
    return f"cannot list the server's items: {exc}"
