"""What a scoped update will do, decided before any write.

Compares the scope's rendered items with the server's listing (one request per ten folder
levels) and the scope's cache. Pure: no I/O here, so `plan` can show it and `update` can apply it.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from enum import StrEnum

from .. import jenkins_items, ownership
from ..jjb.rendered import FOLDER_TAG, ItemKind, RenderedItem
from ..model.organisation import Namespace, NamespaceKind
from .client import ServerItem


class PlanAction(StrEnum):
    """What the update does to one item (the words `plan` prints and its JSON carries)."""

    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    KEEP = "keep"
    REFUSE = "refuse"
    RENAME = "rename"  # a renamed project's folder: confirmRename, then its config.xml
    REPLACE = "replace"  # a job whose type changes: deleted (with its builds), then created


CREATE, CHANGE, DELETE = PlanAction.CREATE, PlanAction.CHANGE, PlanAction.DELETE
UNCHANGED, REFUSE, KEEP = PlanAction.UNCHANGED, PlanAction.REFUSE, PlanAction.KEEP
RENAME, REPLACE = PlanAction.RENAME, PlanAction.REPLACE
WRITES = (CREATE, CHANGE, DELETE, RENAME, REPLACE)


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

    @property
    def cls(self) -> str | None:
        """The Java class Jenkins will report for it (views: None)."""
        if self.kind == ItemKind.VIEW:
            return None
        tag = jenkins_items.root_tag(self.xml)
        return jenkins_items.item_class(tag) if tag else None

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
    renamed_from: str = ""  # RENAME: the item's current full name (`name` is the new one)


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
              allow_empty: bool = False, delete: bool = True, adopt_from: str | None = None) -> Plan:
    """`delete=False` plans only the given items (bootstrap pushes part of the root scope).

    `adopt_from` (a project scope's former name): the items that scope owns inside this scope's
    namespace are this scope's own, to change (rewriting their mark) or delete. The root scope
    (`namespace` None) owns the life of project scopes: see ``_renames`` and ``_retired``."""
    plan = Plan(scope)
    existing = {item_key(s.name, s.kind): s for s in server.values()}
    wanted = {d.key for d in desired}
    adopt_from = adopt_from if namespace is not None else None
    renames = _renames(scope, desired, existing, wanted) if namespace is None else {}
    for item in desired:
        if item.key in renames:
            old = renames[item.key]
            plan.actions.append(Action(RENAME, item.name, item.kind, f"project renamed: folder {old.name} becomes "
                                       f"{item.name}, with everything in it", desired=item, renamed_from=old.name))
            continue
        plan.actions.append(_decide(scope, namespace, item, existing.get(item.key), cached, adopt, adopt_from))
    if not delete:
        return plan
    mine = {scope, adopt_from} - {None}
    renamed = {item_key(old.name, old.kind) for old in renames.values()}
    stale = [s for key, s in existing.items()
             if key not in wanted and key not in renamed and ownership.owner_of(s.description) in mine
             and (namespace is None or namespace.contains(s.name))]
    if stale and not desired and not allow_empty:
        plan.actions.append(Action(REFUSE, "*", "scope", f"the scope generated nothing, so every one of its "
                                   f"{len(stale)} items would be deleted; pass --allow-empty if that is meant"))
        return plan
    retired = _retired(scope, desired, stale, existing, wanted) if namespace is None else {}
    reasons = {key: f"project {owner} left the org file" for key, (owner, _) in retired.items()}
    plan.actions.extend(_deletions(mine, stale + [item for _, item in retired.values()], server, reasons))
    return plan


def _namespace(text: str) -> Namespace:
    kind, _, value = text.partition(":")
    return Namespace(kind, value)


def _managed(desired: list[DesiredItem]) -> list[ownership.Managed]:
    return [m for m in (ownership.managed_by(d.description) for d in desired) if m is not None]


def _renames(scope: str, desired: list[DesiredItem], existing: dict[str, ServerItem],
             wanted: set[str]) -> dict[str, ServerItem]:
    """The root scope's folders to rename, by the new folder's key: for each child updater
    marked as managing a renamed project (manages mark with ``from: OLD``) whose namespace is a
    folder the root generates, when that folder does not exist and the former scope's folder
    does (its namespace as the former child updater's mark says, else a folder named OLD), is
    owned by the root and is no longer generated."""
    former = {}  # the former child updaters' marks: root-owned items no longer generated
    for key, item in existing.items():
        mark = ownership.managed_by(item.description)
        if mark and key not in wanted and ownership.owner_of(item.description) == scope:
            former[mark.scope] = mark
    renames = {}
    for mark in _managed(desired):
        new = _namespace(mark.namespace)
        new_key = item_key(new.value, ItemKind.FOLDER)
        if not mark.adopts or new.kind != NamespaceKind.FOLDER or new_key not in wanted or new_key in existing:
            continue
        old_mark = former.get(mark.adopts)
        old_ns = _namespace(old_mark.namespace) if old_mark else Namespace(NamespaceKind.FOLDER, mark.adopts)
        old = existing.get(item_key(old_ns.value, ItemKind.FOLDER))
        if old_ns.kind != NamespaceKind.FOLDER or old is None or old.kind != ItemKind.FOLDER \
                or item_key(old.name, old.kind) in wanted or ownership.owner_of(old.description) != scope \
                or "/" in old.name or old in renames.values():
            continue
        renames[new_key] = old
    return renames


def _retired(scope: str, desired: list[DesiredItem], stale: list[ServerItem], existing: dict[str, ServerItem],
             wanted: set[str]) -> dict[str, tuple[str, ServerItem]]:
    """The items of the project scopes that left the org file, by key, with the scope's name.

    A scope S left when a stale item this (root) scope owns carries a manages mark for S and
    no item the root generates manages S or adopts it (a rename). Then every server item that
    S owns inside S's namespace, as the mark gives it, is stale too. Marks on items the root
    does not own count for nothing, and items other scopes own, or no one, are never taken."""
    live = set()
    for mark in _managed(desired):
        live |= {mark.scope, mark.adopts} - {None}
    gone: dict[str, Namespace] = {}
    for item in stale:
        mark = ownership.managed_by(item.description)
        if mark and ownership.owner_of(item.description) == scope and mark.scope not in live \
                and mark.scope != scope:
            gone[mark.scope] = _namespace(mark.namespace)
    retired = {}
    for key, item in existing.items():
        owner = ownership.owner_of(item.description)
        if owner in gone and key not in wanted and gone[owner].contains(item.name):
            retired[key] = (owner, item)
    return retired


def _decide(scope, namespace, item: DesiredItem, current: ServerItem | None, cached, adopt,
            adopt_from=None) -> Action:
    action = _decide_kind(scope, namespace, item, current, cached, adopt, adopt_from)
    if action.kind == REFUSE and item.source:
        return Action(REFUSE, action.name, action.item_kind, f"{action.reason} (defined at {item.source})")
    return action


def _decide_kind(scope, namespace, item: DesiredItem, current: ServerItem | None, cached, adopt,
                 adopt_from=None) -> Action:
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
    retyped = bool(current.cls and item.cls and current.cls != item.cls)
    if owner is not None and owner == adopt_from and owner != scope:
        # Inside the namespace (checked above): the former scope's item, taken over with a new mark.
        return Action(REPLACE if retyped else CHANGE, item.name, item.kind,
                      f"taken over from scope {owner!r} (--adopt-from)", desired=item)
    if owner is not None and owner != scope:
        return Action(REFUSE, item.name, item.kind, f"owned by scope {owner!r}")
    if retyped:
        return Action(REPLACE, item.name, item.kind,
                      f"its type changes from {jenkins_items.short_class(current.cls)} to "
                      f"{jenkins_items.short_class(item.cls)}: Jenkins cannot change a job's type in place, so it "
                      "is deleted, with its builds, and created again", desired=item)
    if owner == scope and cached.get(item.key) == item.digest and current.description == item.description:
        return Action(UNCHANGED, item.name, item.kind, desired=item)
    return Action(CHANGE, item.name, item.kind, desired=item)


def _deletions(mine: set[str], stale: list[ServerItem], server: dict[str, ServerItem],
               reasons: dict[str, str] | None = None) -> list[Action]:
    """Delete stale items, topmost first; a folder holding items that are not going (other
    scopes', no updater's) is kept. `mine`: the owners whose items are this scope's; `reasons`:
    why an item goes, by key, where it is not "no longer generated" (a retired scope's items).
    The root-owned items that name a retired scope (its child updater) go last, so a run that
    fails before the scope's items are gone still finds them next time."""
    reasons = reasons or {}
    going = {s.name.lower() for s in stale if s.kind != ItemKind.VIEW}
    actions = []
    deleted_folders: list[str] = []
    for item in sorted(stale, key=lambda s: (ownership.managed_by(s.description) is not None,
                                             s.name.count("/"), s.name)):
        if any(item.name.lower().startswith(f"{f.lower()}/") for f in deleted_folders):
            continue  # goes with its folder
        if item.kind == ItemKind.FOLDER:
            foreign = sorted(s.name for s in server.values() if s.kind != ItemKind.VIEW
                             and s.name.lower().startswith(f"{item.name.lower()}/")
                             and s.name.lower() not in going
                             and ownership.owner_of(s.description) not in mine)
            if foreign:
                actions.append(Action(KEEP, item.name, item.kind,
                                      f"stale, but it holds {len(foreign)} item(s) other scopes own or no updater "
                                      f"owns (e.g. {foreign[0]}); delete those first"))
                continue
            deleted_folders.append(item.name)
        actions.append(Action(DELETE, item.name, item.kind,
                              reasons.get(item_key(item.name, item.kind), "no longer generated by this scope")))
    return actions
