"""Apply a scope's plan to the server, and report what was done.

Everything that can be refused is refused before the first write. Writes go folders
first (so no job misses its folder), then jobs and views in parallel, then deletions.
Each confirmed write is recorded in the scope's cache at once, so a failed run loses
nothing and a rerun converges.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..jjb.rendered import ItemKind, RenderedScope
from .cache import ScopeCache
from .client import JenkinsClient, PushError
from .plan import CHANGE, CREATE, DELETE, KEEP, UNCHANGED, Action, DesiredItem, Plan, item_key
from .progress import Progress

log = logging.getLogger(__name__)

# A folder's own credential store, as XStream writes it under the folder's <properties>
# (cloudbees-folder FolderCredentialsProvider$FolderCredentialsProperty; `$` becomes `_-`).
FOLDER_CREDENTIALS_TAG = ("com.cloudbees.hudson.plugins.folder.properties."
                          "FolderCredentialsProvider_-FolderCredentialsProperty")


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
        lines += [f"  failed {name}: {why}" for name, why in self.failed]
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

    def run(action: Action) -> None:
        try:
            _apply(action, client)
        except PushError as exc:
            with lock:
                report.failed.append((action.name, str(exc)))
            log.error("%s %s failed: %s", action.kind, action.name, exc)
            if progress:
                progress.advance(ok=False)
            return
        with lock:
            report.done[action.kind].append(action.name)
            if action.kind == DELETE:
                cache.forget(_key(action))
            else:
                item = action.desired
                cache.record(item.key, item.digest, item.name, item.kind, item.xml)
        log.info("%s %s %s", action.kind, action.item_kind, action.name)
        if progress:
            progress.advance(ok=True)

    pushes = [a for a in plan.actions if a.kind in (CREATE, CHANGE)]
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


def _apply(action: Action, client: JenkinsClient) -> None:
    if action.kind == DELETE:
        (client.delete_view if action.item_kind == ItemKind.VIEW else client.delete_item)(action.name)
        return
    xml = action.desired.xml
    if action.item_kind == ItemKind.VIEW:
        (client.create_view if action.kind == CREATE else client.reconfigure_view)(action.name, xml)
    elif action.kind == CREATE:
        try:
            client.create_item(action.name, xml)
        except PushError as exc:
            # A retried create whose first attempt got through answers "already exists".
            if exc.status != 400 or "already exists" not in str(exc):
                raise
            _reconfigure(action, client)
    else:
        _reconfigure(action, client)


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


def _key(action: Action) -> str:
    return item_key(action.name, action.item_kind)
