"""``bootstrap``: seed a fresh server with the root folder and the root updater.

Before it creates the root updater, bootstrap checks where the updater's credential lives
(``check_updater_credential``): the updaters bind it, and it holds a token that may change any
job, so it must be in the root folder's credential store, which only the items inside that
folder can resolve (cloudbees-folder FolderCredentialsProvider.java:106-141), and nowhere a
team's job could bind it. The order is: root folder (created when missing, never rewritten),
the check, then the root updater: a refused check leaves the folder, ready for the credential,
and no updater that could not run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .. import naming
from ..errors import EnvDeliveryError
from ..jjb import pipeline
from ..jjb.rendered import ItemKind
from ..model.loader import load_organisation
from ..model.organisation import NamespaceKind, Organisation
from ..push.apply import UpdateReport, apply_plan, desired_items
from ..push.client import JenkinsClient, PushError, ServerItem
from ..push.plan import CHANGE, CREATE, KEEP, Action, Plan, make_plan
from ..render import render_scope
from ..scopes import ROOT, root_scope
from .connection import connect, open_cache
from .update import inventory

# Plugins the generated jobs and shipped templates use, with the oldest release we accept.
# Older releases may work; they are not what the XML was checked against.
REQUIRED_PLUGINS = {
    "cloudbees-folder": "6.0",
    "git": "4.0.0",
    "copyartifact": "1.46",
    "credentials-binding": "1.20",
    # BuildTimeoutWrapper's `strategy` and `operationList` fields (with FailOperation) arrived in
    # 1.13 (tag build-timeout-1.13); JJB 6.5 writes that form only for 1.14 and later
    # (jenkins_jobs/modules/wrappers.py:351), which is what the generated XML was checked against.
    "build-timeout": "1.14",
    "timestamper": "1.8",
    "junit": "1.20",
    "delivery-pipeline-plugin": "1.0.0",
}


def missing_plugins(installed: dict[str, str]) -> list[str]:
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


def bootstrap_organisation(org_path: Path, conf: Path, ignore_plugins: bool = False,
                           cache_root: Path | None = None, check_credential: bool = True) -> UpdateReport:
    """``bootstrap`` for the org file (or its directory) at `org_path`."""
    org = load_organisation(org_path)
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        return bootstrap(org, conf, Path(tmp), ignore_plugins=ignore_plugins, cache_root=cache_root,
                         check_credential=check_credential)


def bootstrap(org: Organisation, conf: Path, workdir: Path, ignore_plugins: bool = False,
              cache_root: Path | None = None, check_credential: bool = True) -> UpdateReport:
    """Create the root folder and the root updater on a fresh server; idempotent. Unless
    `check_credential` is false, the root updater is created only once the updater's credential
    is where only the root folder's items can bind it (EnvDeliveryError otherwise)."""
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
    rendered = render_scope(root_scope(org, workdir), pipeline.make_jjb_config(conf), owner=ROOT)
    wanted = {org.root_folder, naming.root_updater_name(org)}
    desired = [d for d in desired_items(rendered) if d.kind != ItemKind.VIEW and d.name in wanted]
    cache = open_cache(client, ROOT, cache_root)
    try:
        server = inventory(client)
        plan = make_plan(ROOT, None, desired, server, cache.entries, delete=False)
        # Refusals (an item no updater owns, or another scope owns) write nothing at all.
        if plan.refused:
            return apply_plan(plan, client, cache, workers=1)
        plan = Plan(plan.scope, [_leave_existing_folder(a, org) for a in plan.actions])
        report = UpdateReport(plan.scope, plan)
        folder = Plan(plan.scope, [a for a in plan.actions if a.name == org.root_folder])
        rest = Plan(plan.scope, [a for a in plan.actions if a.name != org.root_folder])
        _merge(report, apply_plan(folder, client, cache, workers=1))
        if report.failed:
            report.failed += [(a.name, "not pushed: the root folder could not be written") for a in rest.writes]
            return report
        if check_credential:
            check_updater_credential(client, org, server)
        _merge(report, apply_plan(rest, client, cache, workers=1))
        return report
    finally:
        cache.close()


def _leave_existing_folder(action: Action, org: Organisation) -> Action:
    """Bootstrap creates the root folder but never rewrites it: posting a folder's config.xml
    replaces all its properties, its credential store among them, so the updater's credential
    would be lost (JENKINS-44681; Job DSL and JJB updates lose folder credentials alike)."""
    if action.name != org.root_folder or action.kind != CHANGE:
        return action
    return Action(KEEP, action.name, action.item_kind,
                  "bootstrap does not rewrite an existing root folder (a config.xml POST would drop its "
                  "credential store)", action.desired)


def _merge(report: UpdateReport, part: UpdateReport) -> None:
    for kind in (CREATE, CHANGE):
        report.done[kind] += part.done[kind]
    report.failed += part.failed


# --- where the updater's credential lives --------------------------------------------------


def check_updater_credential(client: JenkinsClient, org: Organisation, server: dict[str, ServerItem]) -> None:
    """Refuse (EnvDeliveryError, one line) unless the updater's credential ID is in the root
    folder's store, and neither in the system store nor in a team folder's store. Reads IDs only.

    The system store: its GLOBAL-scope credentials resolve for every item whose build runs as
    SYSTEM, its SYSTEM-scope ones for none (credentials-plugin SystemCredentialsProvider.java:
    425-456). The REST API does not export a credential's scope (CredentialsStoreAction.java:
    1038-1125 exports id, displayName, typeName, description, fullName, fingerprint), and its
    config.xml is not read (it is the credential itself), so an ID there is refused at either
    scope. A SYSTEM-scope copy only is harmless but of no use to the updaters either; it still
    needs the root folder's copy. A team folder's store resolves for that team's jobs
    (FolderCredentialsProvider.java:106-141)."""
    credential, root = org.updater.credential_id, org.root_folder
    if credential in _store_ids(client, None):
        raise EnvDeliveryError(
            f"credential {credential} is in the system store, where at GLOBAL scope every job can bind it "
            f"(the REST API does not show its scope): move it to the credential store of folder {root} "
            f"(Manage > Credentials); if it is at SYSTEM scope and must stay, pass --skip-credential-check")
    team_folders = sorted({p.namespace.value for p in org.projects if p.namespace.kind == NamespaceKind.FOLDER})
    listed = {name.lower(): item for name, item in server.items()}  # item names are case-insensitive
    for folder in team_folders:
        existing = listed.get(folder.lower())
        if existing is None or existing.kind != ItemKind.FOLDER:
            continue  # no folder, no store
        if credential in _store_ids(client, folder):
            raise EnvDeliveryError(
                f"credential {credential} is in the credential store of team folder {folder}, where that "
                f"team's jobs can bind it: delete it there and keep it only in the credential store of "
                f"folder {root}")
    if credential not in _store_ids(client, root):
        raise EnvDeliveryError(
            f"credential {credential} (updater.credential-id) is not in the credential store of folder "
            f"{root}: add it there (folder {root} > Credentials > Add Credentials) and run bootstrap again")


def _store_ids(client: JenkinsClient, folder: str | None) -> set[str]:
    try:
        return client.credential_ids(folder)
    except PushError as exc:
        store = f"folder {folder}'s credential store" if folder else "the system credential store"
        on = f" on folder {folder}" if folder else ""
        raise EnvDeliveryError(
            f"cannot read the credential IDs of {store} ({exc}): the user of the JJB ini needs "
            f"Credentials/View{on} (Overall/Administer includes it; without it Jenkins answers 404), "
            "or pass --skip-credential-check") from None
