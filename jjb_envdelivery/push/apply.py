"""Apply a scope's plan to the server, and report what was done.

Everything that can be refused is refused before the first write. Writes go folders
first (so no job misses its folder), then jobs and views in parallel, then deletions.
Each confirmed write is recorded in the scope's cache at once (its journal), so a failed or
killed run loses nothing and a rerun converges. Items whose folder is neither on the server
nor made by the plan are not sent at all: they fail with one reason, naming the folder.
The report says what really happened: an item found created by a second run of the same
scope is "changed", one another scope or no updater owns is left alone and failed.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import ownership
from ..jjb.rendered import ItemKind, RenderedScope
from .cache import ScopeCache
from .client import JenkinsClient, PushError, already_exists
from .plan import (
    CHANGE,
    CREATE,
    DELETE,
    KEEP,
    RENAME,
    REPLACE,
    UNCHANGED,
    Action,
    DesiredItem,
    Plan,
    PlanAction,
    item_key,
)
from .progress import Progress

log = logging.getLogger(__name__)

# A folder's own credential store, as XStream writes it under the folder's <properties>
# (cloudbees-folder FolderCredentialsProvider$FolderCredentialsProperty; `$` becomes `_-`).
FOLDER_CREDENTIALS_TAG = ("com.cloudbees.hudson.plugins.folder.properties."
                          "FolderCredentialsProvider_-FolderCredentialsProperty")


class MissingParent(PushError):
    """createItem answered 404: the item's folder is not on the server."""


@dataclass
class UpdateReport:
    scope: str
    plan: Plan
    done: dict[str, list[str]] = field(default_factory=lambda: {CREATE: [], CHANGE: [], DELETE: []})
    failed: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.done[CREATE]),
            "changed": len(self.done[CHANGE]),
            "deleted": len(self.done[DELETE]),
            "unchanged": len(self.plan.of(UNCHANGED)),
            "kept": len(self.plan.of(KEEP)),
            "refused": len(self.plan.refused),
            "failed": len(self.failed),
        }

    @property
    def ok(self) -> bool:
        return not self.failed and not self.plan.refused

    def details(self) -> list[str]:
        lines = [f"  refused {a.item_kind} {a.name}: {a.reason}" for a in self.plan.refused]
        lines += [f"  kept {a.item_kind} {a.name}: {a.reason}" for a in self.plan.of(KEEP)]
        by_reason: dict[str, list[str]] = {}
        for name, why in self.failed:
            by_reason.setdefault(why, []).append(name)
        for why, names in by_reason.items():  # one line per reason: 63 items, one missing folder
            if len(names) == 1:
                lines.append(f"  failed {names[0]}: {why}")
            else:
                shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                lines.append(f"  failed {len(names)} items ({shown}): {why}")
        return lines

    def to_json(self) -> dict:
        return {
            "scope": self.scope,
            "counts": self.counts(),
            "done": {kind: sorted(names) for kind, names in self.done.items()},
            "refused": [{"name": a.name, "kind": a.item_kind, "reason": a.reason} for a in self.plan.refused],
            "kept": [{"name": a.name, "kind": a.item_kind, "reason": a.reason} for a in self.plan.of(KEEP)],
            "failed": [{"name": name, "reason": why} for name, why in self.failed],
        }


def summary_table(reports: list[UpdateReport]) -> str:
    """created, changed, deleted, unchanged, kept, refused, failed: one row per scope."""
    columns = list(UpdateReport.counts(reports[0]).keys()) if reports else []
    width = max([5] + [len(r.scope) for r in reports])
    rows = ["scope".ljust(width) + "".join(f"{c:>10}" for c in columns)]
    for report in reports:
        counts = report.counts()
        rows.append(report.scope.ljust(width) + "".join(f"{counts[c]:>10}" for c in columns))
    for report in reports:
        rows += report.details()
    return "\n".join(rows)


def desired_items(rendered: RenderedScope) -> list[DesiredItem]:
    return [DesiredItem.from_rendered(item) for item in rendered.items]


def apply_plan(plan: Plan, client: JenkinsClient, cache: ScopeCache, workers: int = 4,
               progress: Progress | None = None) -> UpdateReport:
    """Apply `plan`; a plan with refusals writes nothing and reports them."""
    report = UpdateReport(plan.scope, plan)
    if plan.refused:
        return report
    lock = threading.Lock()

    missing_folders: dict[str, str] = {}  # lower-cased name -> name, of folders found missing

    def fail(action: Action, why: str) -> None:
        with lock:
            report.failed.append((action.name, why))
        if progress:
            progress.advance(ok=False)

    def run(action: Action) -> None:
        if action.kind == CREATE:
            with lock:
                folder = _inside_which(action.name, missing_folders)
            if folder is not None:
                fail(action, missing_folder_reason(folder))
                return
        try:
            done = _apply(action, client) or action.kind
        except MissingParent:
            # createItem in a folder that is not there (404, reference/jenkins-rest.md §2.2): when
            # the listing could not tell beforehand, the first such answer stops the others.
            parent = action.name.rpartition("/")[0]
            with lock:
                missing_folders.setdefault(parent.lower(), parent)
            fail(action, missing_folder_reason(parent))
            return
        except PushError as exc:
            fail(action, str(exc))
            log.error("%s %s failed: %s", action.kind, action.name, exc)
            return
        with lock:
            report.done[done].append(action.name)
            if action.kind == DELETE:
                cache.forget(_key(action))
            else:
                item = action.desired
                cache.record(item.key, item.digest, item.name, item.kind, item.xml)
        log.info("%s %s %s", done, action.item_kind, action.name)
        if progress:
            progress.advance(ok=True)

    # Folders this plan makes (a renamed folder too, under its new name) are there for what goes in them.
    planned_folders = {a.name.lower() for a in plan.actions
                       if a.kind in (CREATE, RENAME) and a.item_kind == ItemKind.FOLDER}
    pushes = []
    for action in (a for a in plan.actions if a.kind in (CREATE, CHANGE, RENAME, REPLACE)):
        folder = _missing_folder(action, planned_folders, client.known_items)
        if folder is None:
            pushes.append(action)
            continue
        missing_folders.setdefault(folder.lower(), folder)
        fail(action, missing_folder_reason(folder))
    for folder in missing_folders.values():
        log.error("folder %s does not exist on the server: nothing under it was pushed", folder)
    folders = sorted((a for a in pushes if a.item_kind == ItemKind.FOLDER), key=lambda a: a.name.count("/"))
    others = [a for a in pushes if a.item_kind != ItemKind.FOLDER]
    try:
        for depth in sorted({a.name.count("/") for a in folders}):
            _parallel(run, [a for a in folders if a.name.count("/") == depth], workers)
        failed_folders = {name.lower() for name, _ in report.failed}
        ready = [a for a in others if not _inside(a.name, failed_folders)]
        for action in others:
            if action not in ready:
                report.failed.append((action.name, "not pushed: its folder could not be written"))
        _parallel(run, ready, workers)
        # Deletions stay serial, deepest last: parallel deletes have deadlocked Jenkins (JENKINS-18169).
        for action in plan.of(DELETE):
            run(action)
    finally:
        cache.save()
        if progress:
            progress.finish()
    return report


def _apply(action: Action, client: JenkinsClient) -> PlanAction | None:
    if action.kind == RENAME:  # a renamed project's folder: moved with its items, then its config.xml
        client.rename_item(action.renamed_from, action.name)
        _reconfigure(action, client)
        return CHANGE
    if action.kind == DELETE:
        (client.delete_view if action.item_kind == ItemKind.VIEW else client.delete_item)(action.name)
        return
    if action.kind == REPLACE:
        return _replace_item(action, client)
    xml = action.desired.xml
    if action.item_kind == ItemKind.VIEW:
        if action.kind == CREATE:
            return _create_view(action, client)
        client.reconfigure_view(action.name, xml)
    elif action.kind == CREATE:
        return _create_item(action, client)
    else:
        _reconfigure(action, client)
    return None


def _create_view(action: Action, client: JenkinsClient) -> PlanAction:
    """createView; a view someone created after the plan is judged by its owner mark, as an item is."""
    try:
        client.create_view(action.name, action.desired.xml)
        return CREATE
    except PushError as exc:
        if not already_exists(exc):
            raise
    _check_ours(action, client.view_config)
    client.reconfigure_view(action.name, action.desired.xml)
    return CHANGE


def _check_ours(action: Action, read_config) -> None:
    """Raise unless the item that appeared after the plan carries this scope's owner mark."""
    ours = ownership.owner_of(action.desired.description)
    try:
        current = ET.fromstring(read_config(action.name).encode("utf-8")).findtext("description")
    except PushError as exc:
        raise PushError(f"created by someone else since the plan; could not read its owner ({exc})",
                        exc.status) from None
    except ET.ParseError:
        current = None
    owner = ownership.owner_of(current)
    if ours is None or owner != ours:
        raise PushError(f"created by someone else since the plan (owner {owner or 'none: no updater owns it'}); "
                        "left as it is")


def _create_item(action: Action, client: JenkinsClient) -> PlanAction:
    """createItem, and what an "already exists" answer means (Jenkins: 400, Hudson.JobAlreadyExists,
    hudson/model/ItemGroupMixIn.java:147-210; reference/jenkins-rest.md §2.2 step 5).

    To a retry, the item is the one an earlier attempt created before its answer was lost:
    created. To the first attempt, someone created it after the plan listed the server: when its
    description carries this scope's owner mark (a second run of the same scope) it is reconfigured
    (changed); otherwise it is left as it is and the action fails."""
    try:
        client.create_item(action.name, action.desired.xml)
        return CREATE
    except PushError as exc:
        if exc.status == 404 and "/" in action.name:
            raise MissingParent(str(exc), exc.status, exc.attempts) from None
        if not already_exists(exc):
            raise
        if exc.attempts > 1:
            log.info("create %s: a retry found it: the earlier attempt created it", action.name)
            return CREATE
    _check_ours(action, client.job_config)
    _reconfigure(action, client)
    return CHANGE


def _replace_item(action: Action, client: JenkinsClient) -> PlanAction:
    """A job whose type changes: Jenkins refuses a config.xml with another root element
    (reference/jenkins-rest.md §3), so delete it and create it anew. If the create fails after
    the delete, the job is missing until the next update, whose plan creates it."""
    client.delete_item(action.name)
    try:
        _create_item(action, client)
    except PushError as exc:
        raise PushError(f"deleted to change its type, but creating it again failed ({exc}); the next "
                        "update creates it", exc.status, exc.attempts) from None
    return CHANGE


def _reconfigure(action: Action, client: JenkinsClient) -> None:
    """POST the item's config.xml; a folder keeps its own credential store.

    Posting a folder's config.xml replaces all its properties, so the credentials in its store
    would be deleted (JENKINS-44681; jenkinsci/job-dsl-plugin#1232, still open, proposes the
    same merge). The store is read from the folder's current config.xml just before the POST; if that
    read fails the folder is not reconfigured at all rather than posted without its store.
    """
    xml = action.desired.xml
    if action.item_kind == ItemKind.FOLDER:
        try:
            current = client.job_config(action.name)
        except PushError as exc:
            raise PushError(f"folder {action.name} not reconfigured: could not read its current config.xml "
                            f"to keep its credential store ({exc})", exc.status) from None
        xml = keep_folder_credentials(xml, current, action.name)
    client.reconfigure_item(action.name, xml)


def keep_folder_credentials(desired: bytes, current: str, name: str) -> bytes:
    """`desired` with the credential-store property of `current` (the folder's config.xml as
    Jenkins returns it) under its <properties>; `desired` unchanged when there is none.

    Only that one element is taken, whole and unread: the secrets in it are encrypted by
    Jenkins and must go back as they came. It is never logged, nor cached (the cache keeps
    `desired`, so the next run compares the generated XML and finds it unchanged)."""
    try:
        store = ET.fromstring(current.encode("utf-8")).find(f"properties/{FOLDER_CREDENTIALS_TAG}")
    except ET.ParseError as exc:
        # The parser's message names a line and column only, never the text.
        raise PushError(f"folder {name} not reconfigured: its current config.xml is not XML ({exc}), "
                        "so its credential store could not be kept") from None
    if store is None:
        return desired
    root = ET.fromstring(desired)
    properties = root.find("properties")
    if properties is None:
        properties = ET.SubElement(root, "properties")
    for generated in properties.findall(FOLDER_CREDENTIALS_TAG):
        properties.remove(generated)  # the server's store wins: it holds the real credentials
    properties.append(store)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def without_folder_credentials(current: str) -> str:
    """A folder's config.xml as Jenkins returns it, without its credential store: what `update`
    would change is shown without the (encrypted) secrets it keeps as they are."""
    try:
        root = ET.fromstring(current.encode("utf-8"))
    except ET.ParseError:
        return current  # not XML: the diff shows it as it is, and update refuses the folder
    properties = root.find("properties")
    stores = properties.findall(FOLDER_CREDENTIALS_TAG) if properties is not None else []
    if not stores:
        return current
    for store in stores:
        properties.remove(store)
    return ET.tostring(root, encoding="unicode")


def _parallel(run, actions: list[Action], workers: int) -> None:
    if workers <= 1 or len(actions) <= 1:
        for action in actions:
            run(action)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, actions))


def _inside(name: str, folders: set[str]) -> bool:
    return any(name.lower().startswith(f"{folder}/") for folder in folders)


def missing_folder_reason(folder: str) -> str:
    return f"folder {folder} does not exist on the server: run the root update first (it creates the project folders)"


def _missing_folder(action: Action, planned_folders: set[str], known: set[str] | None) -> str | None:
    """The topmost folder above a CREATE that neither the server listed (`known`: None when
    this client never listed it) nor the plan creates; None when there is none."""
    if action.kind != CREATE or known is None:
        return None
    parts = action.name.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if folder.lower() not in known and folder.lower() not in planned_folders:
            return folder
    return None


def _inside_which(name: str, folders: dict[str, str]) -> str | None:
    lowered = name.lower()
    return next((shown for folder, shown in folders.items() if lowered.startswith(f"{folder}/")), None)


def _key(action: Action) -> str:
    return item_key(action.name, action.item_kind)
