"""What a scoped update will do, decided before any write.

Compares the scope's rendered items with the server's listing (one request per ten folder
levels) and the scope's cache. Pure: no I/O here, so `plan` can show it and `update` can apply it.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from enum import StrEnum

from .. import ownership
from ..jjb.rendered import FOLDER_TAG, ItemKind, RenderedItem
from ..model.organisation import Namespace
from .client import ServerItem


class PlanAction(StrEnum):
    """What the update does to one item (the words `plan` prints and its JSON carries)."""

    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    KEEP = "keep"
    REFUSE = "refuse"


CREATE, CHANGE, DELETE = PlanAction.CREATE, PlanAction.CHANGE, PlanAction.DELETE
UNCHANGED, REFUSE, KEEP = PlanAction.UNCHANGED, PlanAction.REFUSE, PlanAction.KEEP
WRITES = (CREATE, CHANGE, DELETE)


@dataclass(frozen=True)
class DesiredItem:
    """One job, folder or view as the scope renders it."""

    name: str
    kind: ItemKind
    xml: bytes
    digest: str
    description: str | None
    source: str = ""  # where the YAML defined it, "file:line"

    @property
    def key(self) -> str:
        return item_key(self.name, self.kind)

    @classmethod
    def from_rendered(cls, item: RenderedItem) -> "DesiredItem":
        """What the render already knows of the item: no parsing."""
        xml = item.output()
        return cls(item.name, item.kind, xml, hashlib.sha256(xml).hexdigest(), item.description, item.source)

    @classmethod
    def from_stored_xml(cls, name: str, xml: bytes, kind: ItemKind) -> "DesiredItem":
        """An item this scope applied earlier, from the XML its cache kept."""
        root = ET.fromstring(xml)
        if kind != ItemKind.VIEW:
            kind = ItemKind.FOLDER if root.tag == FOLDER_TAG else ItemKind.JOB
        return cls(name, kind, xml, hashlib.sha256(xml).hexdigest(), root.findtext("description"))


def item_key(name: str, kind: ItemKind) -> str:
    """Jobs and folders share one case-insensitive namespace; views another, case-sensitive."""
    return f"view:{name}" if kind == ItemKind.VIEW else name.lower()


@dataclass(frozen=True)
class Action:
    kind: PlanAction
    name: str
    item_kind: ItemKind | str  # "scope" for a refusal of the whole scope
    reason: str = ""
    desired: DesiredItem | None = None


@dataclass
class Plan:
    scope: str
    actions: list[Action] = field(default_factory=list)

    def of(self, kind: PlanAction) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]

    @property
    def refused(self) -> list[Action]:
        return self.of(REFUSE)

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.kind in WRITES]


def make_plan(scope: str, namespace: Namespace | None, desired: list[DesiredItem],
              server: dict[str, ServerItem], cached: dict[str, str], adopt: bool = False,
              allow_empty: bool = False, delete: bool = True) -> Plan:
    """`delete=False` plans only the given items (bootstrap pushes part of the root scope)."""
    plan = Plan(scope)
    existing = {item_key(s.name, s.kind): s for s in server.values()}
    wanted = {d.key for d in desired}
    for item in desired:
        plan.actions.append(_decide(scope, namespace, item, existing.get(item.key), cached, adopt))
    if not delete:
        return plan
    stale = [s for key, s in existing.items()
             if key not in wanted and ownership.owner_of(s.description) == scope
             and (namespace is None or namespace.contains(s.name))]
    if stale and not desired and not allow_empty:
        plan.actions.append(Action(REFUSE, "*", "scope", f"the scope generated nothing, so every one of its "
                                   f"{len(stale)} items would be deleted; pass --allow-empty if that is meant"))
        return plan
    plan.actions.extend(_deletions(scope, stale, server))
    return plan


def _decide(scope, namespace, item: DesiredItem, current: ServerItem | None, cached, adopt) -> Action:
    action = _decide_kind(scope, namespace, item, current, cached, adopt)
    if action.kind == REFUSE and item.source:
        return Action(REFUSE, action.name, action.item_kind, f"{action.reason} (defined at {item.source})")
    return action


def _decide_kind(scope, namespace, item: DesiredItem, current: ServerItem | None, cached, adopt) -> Action:
    if namespace is not None and not namespace.contains(item.name):
        return Action(REFUSE, item.name, item.kind,
                      f"outside the scope's namespace {namespace}: {namespace.rule()}")
    if current is None:
        return Action(CREATE, item.name, item.kind, desired=item)
    if (current.kind == ItemKind.FOLDER) != (item.kind == ItemKind.FOLDER):
        return Action(REFUSE, item.name, item.kind,
                      f"exists as a {current.kind}; Jenkins cannot change an item's type in place")
    owner = ownership.owner_of(current.description)
    if owner is None and not adopt:
        return Action(REFUSE, item.name, item.kind,
                      "exists and no updater owns it; pass --adopt to take it over")
    if owner is not None and owner != scope:
        return Action(REFUSE, item.name, item.kind, f"owned by scope {owner!r}")
    if owner == scope and cached.get(item.key) == item.digest and current.description == item.description:
        return Action(UNCHANGED, item.name, item.kind, desired=item)
    return Action(CHANGE, item.name, item.kind, desired=item)


def _deletions(scope: str, stale: list[ServerItem], server: dict[str, ServerItem]) -> list[Action]:
    """Delete stale items, topmost first; a folder holding other scopes' items is kept."""
    actions = []
    deleted_folders: list[str] = []
    for item in sorted(stale, key=lambda s: (s.name.count("/"), s.name)):
        if any(item.name.lower().startswith(f"{f.lower()}/") for f in deleted_folders):
            continue  # goes with its folder
        if item.kind == ItemKind.FOLDER:
            foreign = sorted(s.name for s in server.values() if s.kind != ItemKind.VIEW
                             and s.name.lower().startswith(f"{item.name.lower()}/")
                             and ownership.owner_of(s.description) != scope)
            if foreign:
                actions.append(Action(KEEP, item.name, item.kind,
                                      f"stale, but it holds {len(foreign)} item(s) other scopes own or no updater "
                                      f"owns (e.g. {foreign[0]}); delete those first"))
                continue
            deleted_folders.append(item.name)
        actions.append(Action(DELETE, item.name, item.kind, "no longer generated by this scope"))
    return actions
