"""``bootstrap``: seed a fresh server with the root folder and the root updater."""

from __future__ import annotations

import tempfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .. import naming
from ..errors import EnvDeliveryError
from ..jjb import pipeline
from ..jjb.rendered import ItemKind
from ..model.loader import load_organisation
from ..model.organisation import Organisation
from ..push.apply import UpdateReport, apply_plan, desired_items
from ..push.client import PushError
from ..push.plan import make_plan
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
                           cache_root: Path | None = None) -> UpdateReport:
    """``bootstrap`` for the org file (or its directory) at `org_path`."""
    org = load_organisation(org_path)
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        return bootstrap(org, conf, Path(tmp), ignore_plugins=ignore_plugins, cache_root=cache_root)


def bootstrap(org: Organisation, conf: Path, workdir: Path, ignore_plugins: bool = False,
              cache_root: Path | None = None) -> UpdateReport:
    """Create the root folder and the root updater on a fresh server; idempotent."""
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
        plan = make_plan(ROOT, None, desired, inventory(client), cache.entries, delete=False)
        return apply_plan(plan, client, cache, workers=1)
    finally:
        cache.close()
