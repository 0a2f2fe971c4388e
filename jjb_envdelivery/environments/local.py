"""The ``local`` provider (the default): environments are directories, templates read-only snapshots.

Settings (all optional)::

    environments:
      provider:
        name: local
        settings:
          root: /var/lib/envdelivery   # relative paths are relative to the org file
          clone: auto                  # auto (reflink, else copy) | reflink (fail without CoW) | copy
          command-timeout: 3600        # seconds for the provisioning tool and each validation command

It reads no credential (``credential-id`` is refused).

The root defaults to ``~/.local/share/jjb-envdelivery``; the environment variable
``JJB_ENVDELIVERY_LOCAL_ROOT``, when set, overrides both (an engineer's own machine, tests).

Layout under the root: ``catalog.sqlite`` (templates and environments), ``templates/<id>/``
(``tree/``, the snapshot, plus ``template.json`` and ``manifest.json``), ``environments/<id>/``
(the environment the provisioning tool wrote into as ``{target}``) with ``environments/<id>.json``
beside it, ``tmp/`` (saves and deletions in progress).

The metadata files mirror the catalog (``sqlite_catalog``): a lost or damaged ``catalog.sqlite`` is
rebuilt from them, never answered by deleting the data.

A save copies the environment into ``tmp/``, fsyncs it, writes its manifest, renames it into
``templates/`` and only then marks the catalog row ``built``, so a crash or kill at any point leaves
either a complete template or a row in state ``saving`` that the next command (``recover``) removes
with its files. A deploy registers its environment in the transaction that checks the template is
deployable, and reports it running only once the copy matches the template's manifest.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ..model.settings import Setting
from . import clone
from .catalog import BUILT, DELETING, SAVING, STATUSES, VERIFIED, Template, TemplateMeta, now
from .process import is_alive, my_token, run_shell
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError
from .sqlite_catalog import (
    SqliteCatalog,
    SqliteTemplates,
    disk_full,
    environment_values,
    read_json,
    template_document,
    template_from_document,
    write_json_atomic,
)
from .tool import run_tool

ROOT_ENV = "JJB_ENVDELIVERY_LOCAL_ROOT"
DEFAULT_ROOT = "~/.local/share/jjb-envdelivery"
CLONE_MODES = ("auto", "reflink", "copy")
DESTROYING = "destroying"
KEEP_BY_HAND = "remove it by hand if unwanted"


class LocalProvider(SqliteTemplates, Provider):
    name = "local"
    SETTINGS = (
        Setting("root", str, default=DEFAULT_ROOT,
                help=f"directory of the catalog, templates and environments; {ROOT_ENV} overrides it"),
        Setting("clone", str, default="auto", choices=CLONE_MODES,
                help="how templates are cloned: auto (reflink, else copy), reflink (fail without CoW), copy"),
        Setting("command-timeout", float, default=3600.0,
                help="seconds for the provisioning tool and each validation command"),
    )
    CREDENTIAL = None  # directories on this machine: nothing to log in to

    def __init__(self, settings: dict, org_dir: Path):
        super().__init__(settings, org_dir)
        self.clone_mode = self.settings["clone"]
        self.timeout = float(self.settings["command-timeout"])
        root = Path(os.environ.get(ROOT_ENV) or self.settings["root"]).expanduser()
        self.root = (self.org_dir / root).resolve() if not root.is_absolute() else root
        try:
            for sub in ("templates", "environments", "tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProviderError(f"local provider: cannot use root {self.root}: {exc.strerror}") from None
        self.catalog = SqliteCatalog(self.root)
        self.token = my_token()

    def close(self) -> None:
        self.catalog.close()

    # -- paths --------------------------------------------------------------------------------
    def env_dir(self, env_id: str) -> Path:
        return self.root / "environments" / env_id

    def template_dir(self, template_id: str) -> Path:
        return self.root / "templates" / template_id

    def _tmp(self, name: str) -> Path:
        return self.root / "tmp" / name

    # -- errors -------------------------------------------------------------------------------
    def _failure(self, exc: OSError | sqlite3.Error, doing: str, consequence: str) -> ProviderError:
        """The one-line error for an OS or SQLite failure while ``doing`` (e.g. "saving T")."""
        if disk_full(exc):
            free = shutil.disk_usage(self.root).free
            return ProviderError(f"local provider: disk full under {self.root} while {doing} "
                                 f"({free} bytes free); {consequence}")
        if isinstance(exc, clone.NoReflink):
            return ProviderError(f"local provider: the file system under {self.root} has no copy-on-write "
                                 f"clones (reflink) while {doing}; set clone: auto or clone: copy")
        if isinstance(exc, OSError):
            return ProviderError(f"local provider: {exc.strerror or exc} ({exc.filename}) while {doing}; "
                                 f"{consequence}")
        return ProviderError(f"local provider: the catalog failed while {doing} ({exc}); {consequence}")

    # -- environments -------------------------------------------------------------------------
    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        env_id = f"{spec.purpose}-{spec.config['name']}-{secrets.token_hex(3)}"
        env = Environment(id=env_id, variant=spec.variant, release=spec.release, purpose=spec.purpose,
                          template_id=None, state="provisioning", created_at=now(),
                          access={"path": str(self.env_dir(env_id))})
        try:
            # The row and its metadata file first: whatever exists on disk is known to the catalog.
            self.catalog.add_environment(env, owner=self.token)
            try:
                self.env_dir(env_id).mkdir()
                env.versions = run_tool(spec.tool_command, spec.config, spec.artifacts_dir,
                                        str(self.env_dir(env_id)), cwd=None, env=self._env_vars(env),
                                        timeout=self.timeout)
                self.catalog.update_environment(env_id, state="running", owner=self.token if ephemeral else None,
                                                versions=env.versions)
            except BaseException:
                self._remove_environment(env_id)
                raise
            env.state = "running"
        except (OSError, sqlite3.Error) as exc:
            raise self._failure(exc, f"provisioning {env_id}", "nothing was provisioned") from None
        return env

    def _env_vars(self, env: Environment) -> dict:
        return {**os.environ, "ENVDELIVERY_ENV": str(self.env_dir(env.id))}

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        timeout = timeout or self.timeout
        print(f"+ {command}", flush=True)
        try:
            return run_shell(command, cwd=self.env_dir(env.id), env=self._env_vars(env), timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{command!r} did not finish within {timeout:g}s in {env.id} "
                                "(it and every process it started were killed)") from None

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        if template.status not in (BUILT, VERIFIED):
            raise ProviderError(f"template {template.label} cannot be deployed")
        env_id = f"{purpose}-{template.id}-{secrets.token_hex(3)}"
        env = Environment(id=env_id, variant=template.variant, release=template.release, purpose=purpose,
                          template_id=template.id, state="provisioning", created_at=now(),
                          access={"path": str(self.env_dir(env_id))})
        try:
            # Registered in the transaction that checks the template is deployable: from now on gc
            # sees the environment and keeps the template (delete_unused_template).
            self.catalog.add_environment(env, owner=self.token)
        except (OSError, sqlite3.Error) as exc:
            raise self._failure(exc, f"deploying {template.id}", "nothing was deployed") from None
        try:
            self.check_deployable(template.id)
            stats = self._copy_verified(template, self.env_dir(env_id))
            self.catalog.update_environment(env_id, state="running", owner=self.token if ephemeral else None)
        except BaseException as exc:
            self._remove_environment(env_id)
            if isinstance(exc, (OSError, sqlite3.Error)):
                raise self._failure(exc, f"deploying {template.id}", "the partial environment was removed") from None
            raise
        print(f"deployed {template.id} to {self.env_dir(env_id)}: {stats}", flush=True)
        env.state = "running"
        return env

    def _copy_verified(self, template: Template, target: Path) -> clone.CloneStats:
        """Clone the snapshot to ``target`` and check the copy against the manifest saved with it."""
        snapshot = self.template_dir(template.id)
        if not (snapshot / "tree").is_dir():
            raise ProviderError(f"template {template.id}: its snapshot {snapshot / 'tree'} is missing")
        # Templates saved before manifests existed are checked against their snapshot as it is.
        expected = read_json(snapshot / "manifest.json") or clone.manifest(snapshot / "tree")
        stats = clone.clone_tree(snapshot / "tree", target, self.clone_mode, writable=True)
        difference = clone.manifest_difference(expected, clone.manifest(target))
        if difference:
            raise ProviderError(f"deploying {template.id}: the copy does not match the template's manifest "
                                f"({difference}); the partial environment was removed")
        return stats

    def destroy(self, env_id: str) -> None:
        if not any(row["id"] == env_id for row in self.catalog.environment_rows()):
            raise NotFound(f"no environment {env_id!r} (env list shows the existing ones)")
        self._remove_environment(env_id)

    def keep_environment(self, env: Environment) -> None:
        self.catalog.update_environment(env.id, owner=None)

    def _remove_environment(self, env_id: str) -> None:
        try:
            self.catalog.update_environment(env_id, state=DESTROYING, owner=self.token)
        except BaseException as exc:
            if not disk_full(exc):
                raise
            # Freeing space comes first; the trash in tmp/ tells recover what was going on.
        # Whatever still runs in the environment goes first (a tool that escaped its group's kill
        # would write into, or read from, what is being removed: seen once in CI after a SIGTERM).
        self._kill_leftover_processes(env_id)
        self._remove_environment_files(env_id)
        self.catalog.delete_environment_row(env_id)

    def _remove_environment_files(self, env_id: str) -> None:
        trash = self._tmp(f"env-{env_id}.deleting")
        if self.env_dir(env_id).exists():
            os.rename(self.env_dir(env_id), trash)
        clone.remove_tree(trash)

    def list_environments(self) -> list[Environment]:
        return [Environment(id=r["id"], variant=r["variant"], release=r["release"], purpose=r["purpose"],
                            template_id=r["template_id"], state=r["state"], created_at=r["created_at"],
                            access={"path": str(self.env_dir(r["id"]))}, versions=json.loads(r["versions"]))
                for r in self.catalog.environment_rows()]

    def describe(self, env: Environment) -> str:
        path = self.env_dir(env.id)
        return f"  path: {path}\n  use:  cd {path} && ENVDELIVERY_ENV={path} <command>"

    # -- templates ----------------------------------------------------------------------------
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        template = self.catalog.reserve_template(meta, owner=self.token)
        staging = self._tmp(f"{template.id}.saving")
        try:
            staging.mkdir()
            # Who is saving, for recover when the catalog row is lost along with its owner.
            (staging / "owner").write_text(self.token)
            stats = clone.clone_tree(self.env_dir(env.id), staging / "tree", self.clone_mode, fsync=True,
                                     writable=False)
            write_json_atomic(staging / "manifest.json", clone.manifest(staging / "tree"))
            template.status = BUILT
            write_json_atomic(staging / "template.json", template_document(template))
            (staging / "owner").unlink()
            clone.fsync_dir(staging)
            os.rename(staging, self.template_dir(template.id))
            clone.fsync_dir(self.root / "templates")
            # The commit point: only now is the template usable.
            if not self.catalog.update_template(template.id, expect=(SAVING,), status=BUILT, owner=None):
                raise ProviderError(f"template {template.id} vanished from the catalog while being saved")
        except BaseException as exc:
            # Files first (on a full disk, that is what makes room for the catalog's write).
            clone.remove_tree(staging)
            clone.remove_tree(self.template_dir(template.id))
            self.catalog.delete_template_row(template.id, give_back_version=True)
            if isinstance(exc, (OSError, sqlite3.Error)):
                raise self._failure(exc, f"saving {template.id}", "nothing was saved") from None
            raise
        print(f"saved {env.id} as template {template.id}: {stats}", flush=True)
        return self.catalog.get_template(template.id)

    def list_templates(self) -> list[Template]:
        templates = self.catalog.templates()
        for t in templates:
            t.detail = {"path": str(self.template_dir(t.id))}
        return templates

    def _update(self, template_id: str, doing: str, **fields) -> bool:
        try:
            return self.catalog.update_template(template_id, expect=STATUSES, **fields)
        except (OSError, sqlite3.Error) as exc:
            raise self._failure(exc, doing, "run it again once that is fixed") from None

    def _finish_delete(self, template_id: str) -> None:
        self._remove_template_files(template_id)
        self.catalog.delete_template_row(template_id)

    def _remove_template_files(self, template_id: str) -> None:
        trash = self._tmp(f"{template_id}.deleting")
        if self.template_dir(template_id).exists():
            os.rename(self.template_dir(template_id), trash)
        clone.remove_tree(trash)
        clone.remove_tree(self._tmp(f"{template_id}.saving"))

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Undo half-done saves, finish or undo half-done deletions, reclaim ephemeral environments
        whose process is gone; adopt snapshots the catalog lost; keep (and report) anything else.

        Nothing is deleted unless the catalog (or a metadata file) says a process that is gone
        half-made or half-deleted it. Files are removed first and rows written after, so recovery
        works on a full disk."""
        cleaned = list(self.catalog.reports)
        self.catalog.reports.clear()
        later: list[Callable[[], None]] = []  # catalog writes, once space is freed
        templates = {r["id"]: r for r in self.catalog.template_rows()}
        environments = {r["id"]: r for r in self.catalog.environment_rows()}

        for tid, row in templates.items():
            if row["status"] == SAVING and not is_alive(row["owner"]):
                self._remove_template_files(tid)
                later.append(lambda tid=tid: self.catalog.delete_template_row(tid, give_back_version=True))
                cleaned.append(f"template {tid} (saving when its process ended)")
            elif row["status"] == DELETING and not is_alive(row["owner"]):
                users = sorted(e["id"] for e in environments.values() if e["template_id"] == tid)
                if users:
                    later.append(lambda tid=tid: self.catalog.cancel_delete(tid))
                    cleaned.append(f"template {tid} kept: its delete was interrupted and {', '.join(users)} uses it")
                else:
                    self._remove_template_files(tid)
                    later.append(lambda tid=tid: self.catalog.delete_template_row(tid))
                    cleaned.append(f"template {tid} (deleting when its process ended)")
            elif row["status"] in STATUSES and not (self.template_dir(tid) / "template.json").exists():
                later.append(lambda tid=tid: self.catalog.update_template(tid, status="failed"))
                cleaned.append(f"template {tid} marked failed: its snapshot is missing")

        for eid, row in environments.items():
            if row["owner"] and not is_alive(row["owner"]):
                self._kill_leftover_processes(eid)
                self._remove_environment_files(eid)
                later.append(lambda eid=eid: self.catalog.delete_environment_row(eid))
                cleaned.append(f"environment {eid} ({row['purpose']}, its process ended)")

        cleaned += self._unregistered_templates(templates, later)
        cleaned += self._unregistered_environments(environments, later)
        cleaned += self._tmp_leftovers(templates, environments, later)
        for write in later:
            write()
        return cleaned

    def _kill_leftover_processes(self, env_id: str) -> None:
        """SIGKILL what the dead owner's tool or validation commands left running in the environment.

        They run in process groups of their own (``process.run_shell``), so killing the owner alone
        leaves them writing into a directory recovery is about to remove. They are found as Jenkins
        finds a build's processes: by a variable each inherits, here ``ENVDELIVERY_ENV``."""
        marker = f"ENVDELIVERY_ENV={self.env_dir(env_id)}".encode()
        killed = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if int(proc.name) != os.getpid() and marker in (proc / "environ").read_bytes().split(b"\0"):
                    os.kill(int(proc.name), signal.SIGKILL)
                    killed.append(proc.name)
            except (OSError, ValueError):
                continue  # gone meanwhile, or not ours
        # A killed process finishes the system call it is in: wait until none can write any more.
        deadline = time.monotonic() + 10
        while killed and time.monotonic() < deadline:
            killed = [pid for pid in killed if is_alive(f"{socket.gethostname()}:{pid}:")]
            time.sleep(0.01)

    def _unregistered_templates(self, rows: dict, later: list) -> list[str]:
        """Snapshots without a row: adopted when their template.json says what they are, else kept."""
        found = []
        for path in sorted((self.root / "templates").iterdir()):
            if path.name in rows:
                continue
            parsed = template_from_document(read_json(path / "template.json") or {})
            if parsed and parsed[0].id == path.name and parsed[0].status in STATUSES and (path / "tree").is_dir():
                later.append(lambda t=parsed[0]: self.catalog.adopt_template(t))
                found.append(f"snapshot {path.name} registered again from its template.json")
            else:
                found.append(f"kept: {path} (no catalog row, no readable template.json); {KEEP_BY_HAND}")
        return found

    def _unregistered_environments(self, rows: dict, later: list) -> list[str]:
        found = []
        for path in sorted((self.root / "environments").iterdir()):
            env_id = path.stem if path.suffix == ".json" else path.name
            if env_id in rows or path.name.startswith("."):
                continue
            data = read_json(path) if path.suffix == ".json" else None
            if data is not None and data.get("id") == env_id and self._readable_environment(data):
                later.append(lambda d=data: self.catalog.adopt_environment(d))
                found.append(f"environment {env_id} registered again from {path.name}")
            elif path.is_dir() and self.catalog.env_file(env_id).exists():
                continue  # its metadata file (above) accounts for it
            else:
                found.append(f"kept: {path} (no catalog row); {KEEP_BY_HAND}")
        return found

    @staticmethod
    def _readable_environment(data: dict) -> bool:
        try:
            environment_values(data)
        except (KeyError, TypeError):
            return False
        return True

    def _tmp_leftovers(self, templates: dict, environments: dict, later: list) -> list[str]:
        """Saves and deletions in progress: removed when empty or when their owner is gone."""
        found = []
        for path in sorted((self.root / "tmp").iterdir()):
            name, _, kind = path.name.rpartition(".")
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
                found.append(f"leftover {path.name} (empty)")
                continue
            known, owner = self._leftover_owner(name, kind, path, templates, environments)
            if not known:
                found.append(f"kept: {path} (no record of who made it); {KEEP_BY_HAND}")
            elif not is_alive(owner):
                clone.remove_tree(path)
                if name.startswith("env-") and kind == "deleting" and name[4:] in environments:
                    later.append(lambda eid=name[4:]: self.catalog.delete_environment_row(eid))
                found.append(f"leftover {path.name}")
        return found

    def _leftover_owner(self, name: str, kind: str, path: Path, templates: dict,
                        environments: dict) -> tuple[bool, str | None]:
        """(whether the owner is recorded, the owner token) of a tmp/ entry."""
        if kind == "deleting" and name.startswith("env-"):
            env_id = name[4:]
            if env_id in environments:
                return True, environments[env_id]["owner"]
            data = read_json(self.catalog.env_file(env_id))
            return (data is not None), (data or {}).get("owner")
        if kind not in ("saving", "deleting"):
            return False, None
        row = templates.get(name)
        if row is not None and row["status"] in (SAVING, DELETING):
            return True, row["owner"]
        if row is not None:
            # The template is complete and registered: this is a stale copy of a finished step.
            return True, None
        owner_file = path / "owner"
        if owner_file.is_file():
            return True, owner_file.read_text().strip()
        document = read_json(path / "template.json")
        if document and document.get("status") == DELETING:
            return True, document.get("owner")
        return False, None
