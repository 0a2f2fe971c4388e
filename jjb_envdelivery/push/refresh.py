"""Refresh, as ``terraform plan -refresh`` does: read the live configuration of every item the plan
would leave alone, and turn those that no longer mean what this scope pushed into changes.

The lean plan trusts the listing and the scope's cache: an item whose description still carries the
owner mark and whose generated XML has the digest last pushed is "unchanged". A config edited in
the UI or over REST (a shell step replaced, the description kept) is invisible to it. Refresh costs
one ``config.xml`` GET per item, sent in parallel.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ..jjb.rendered import ItemKind
from .apply import without_folder_credentials
from .client import JenkinsClient, PushError
from .diff import config_diff
from .plan import CHANGE, UNCHANGED, Action, Plan

DRIFTED = "drifted: changed on the server since this scope pushed it"


@dataclass
class Refreshed:
    """The refreshed plan, the live configuration read for each item, and what could not be read."""

    plan: Plan
    live: dict[str, str] = field(default_factory=dict)  # item name -> config.xml as the server returns it
    unreadable: dict[str, str] = field(default_factory=dict)  # item name -> why
    drifted: list[str] = field(default_factory=list)


def read_live(client: JenkinsClient, actions: list[Action], workers: int = 8) -> tuple[dict, dict]:
    """``config.xml`` of each action's item (a folder's without its credential store), in parallel.
    A 401 raises (the credentials were refused: nothing else is worth reading); any other failure
    is recorded in ``unreadable``."""
    live: dict[str, str] = {}
    unreadable: dict[str, str] = {}

    def read(action: Action) -> None:
        try:
            text = (client.view_config(action.name) if action.item_kind == ItemKind.VIEW
                    else client.job_config(action.name))
        except PushError as exc:
            if exc.status == 401:
                raise
            unreadable[action.name] = f"could not read its current configuration: {exc}"
            return
        live[action.name] = without_folder_credentials(text) if action.item_kind == ItemKind.FOLDER else text

    if workers <= 1 or len(actions) <= 1:
        for action in actions:
            read(action)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(read, actions))
    return live, unreadable


def refresh_plan(plan: Plan, client: JenkinsClient, workers: int = 8) -> Refreshed:
    """Read every unchanged and changed item's live config; an unchanged item whose config differs
    in meaning from what the scope generates becomes a change (reason DRIFTED). An unchanged item
    whose config cannot be read becomes a change too: nothing can vouch for it, and pushing it
    again is safe."""
    to_read = [a for a in plan.actions if a.kind in (UNCHANGED, CHANGE)]
    live, unreadable = read_live(client, to_read, workers)
    actions, drifted = [], []
    for action in plan.actions:
        if action.kind == UNCHANGED and action.name in unreadable:
            action = replace(action, kind=CHANGE, reason=unreadable[action.name])
        elif action.kind == UNCHANGED and _differs(live[action.name], action.desired.xml, action.name):
            action = replace(action, kind=CHANGE, reason=DRIFTED)
            drifted.append(action.name)
        actions.append(action)
    return Refreshed(Plan(plan.scope, actions), live, unreadable, drifted)


def _differs(live: str, desired: bytes, name: str) -> bool:
    try:
        return bool(config_diff(live, desired, name))
    except ET.ParseError:
        return True  # not even XML: certainly not what was pushed
