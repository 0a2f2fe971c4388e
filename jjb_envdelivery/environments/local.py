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
(``tree/``, the snapshot, plus ``template.json``), ``environments/<id>/`` (the environment the
provisioning tool wrote into as ``{target}``), ``tmp/`` (saves and deletions in progress).

A save copies the environment into ``tmp/``, fsyncs it, renames it into ``templates/`` and only
then marks the catalog row ``built``, so a crash or kill at any point leaves either a complete
template or a row in state ``saving`` that the next command (``recover``) removes with its files.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

from ..model.settings import Setting
from . import clone
from .catalog import BUILT, STATUSES, VERIFIED, Template, TemplateMeta, now
from .process import is_alive, my_token
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError
from .sqlite_catalog import DELETING, SAVING, SqliteCatalog
from .tool import run_tool

ROOT_ENV = "JJB_ENVDELIVERY_LOCAL_ROOT"
DEFAULT_ROOT = "~/.local/share/jjb-envdelivery"
CLONE_MODES = ("auto", "reflink", "copy")
DESTROYING = "destroying"


class LocalProvider(Provider):
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
        self.catalog = SqliteCatalog(self.root / "catalog.sqlite")
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

    # -- environments -------------------------------------------------------------------------
    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        env_id = f"{spec.purpose}-{spec.config['name']}-{secrets.token_hex(3)}"
        env = Environment(id=env_id, variant=spec.variant, release=spec.release, purpose=spec.purpose,
                          template_id=None, state="provisioning", created_at=now(),
                          access={"path": str(self.env_dir(env_id))})
        # The row first: whatever exists on disk is known to the catalog.
        self.catalog.add_environment(env, owner=self.token)
        try:
            self.env_dir(env_id).mkdir()
            env.versions = run_tool(spec.tool_command, spec.config, spec.artifacts_dir, str(self.env_dir(env_id)),
                                    cwd=None, env=self._env_vars(env), timeout=self.timeout)
        except BaseException:
            self._remove_environment(env_id)
            raise
        env.state = "running"
        self.catalog.update_environment(env_id, state="running", owner=self.token if ephemeral else None,
                                        versions=env.versions)
        return env

    def _env_vars(self, env: Environment) -> dict:
        return {**os.environ, "ENVDELIVERY_ENV": str(self.env_dir(env.id))}

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        timeout = timeout or self.timeout
        print(f"+ {command}", flush=True)
        try:
            return subprocess.run(command, shell=True, cwd=self.env_dir(env.id), env=self._env_vars(env),
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{command!r} did not finish within {timeout:g}s in {env.id}") from None

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        if template.status not in (BUILT, VERIFIED):
            raise ProviderError(f"template {template.label} cannot be deployed")
        tree = self.template_dir(template.id) / "tree"
        if not tree.is_dir():
            raise ProviderError(f"template {template.id}: its snapshot {tree} is missing")
        env_id = f"{purpose}-{template.id}-{secrets.token_hex(3)}"
        env = Environment(id=env_id, variant=template.variant, release=template.release, purpose=purpose,
                          template_id=template.id, state="provisioning", created_at=now(),
                          access={"path": str(self.env_dir(env_id))})
        self.catalog.add_environment(env, owner=self.token)
        try:
            stats = clone.clone_tree(tree, self.env_dir(env_id), self.clone_mode, writable=True)
        except OSError as exc:
            self._remove_environment(env_id)
            raise ProviderError(f"cannot deploy {template.id}: {exc}") from None
        except BaseException:
            self._remove_environment(env_id)
            raise
        print(f"deployed {template.id} to {self.env_dir(env_id)}: {stats}", flush=True)
        env.state = "running"
        self.catalog.update_environment(env_id, state="running", owner=self.token if ephemeral else None)
        return env

    def destroy(self, env_id: str) -> None:
        if not any(row["id"] == env_id for row in self.catalog.environment_rows()):
            raise NotFound(f"no environment {env_id!r} (env list shows the existing ones)")
        self._remove_environment(env_id)

    def keep_environment(self, env: Environment) -> None:
        self.catalog.update_environment(env.id, owner=None)

    def _remove_environment(self, env_id: str) -> None:
        self.catalog.update_environment(env_id, state=DESTROYING, owner=self.token)
        trash = self._tmp(f"env-{env_id}.deleting")
        if self.env_dir(env_id).exists():
            os.rename(self.env_dir(env_id), trash)
        clone.remove_tree(trash)
        self.catalog.delete_environment_row(env_id)

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
            stats = clone.clone_tree(self.env_dir(env.id), staging / "tree", self.clone_mode, fsync=True,
                                     writable=False)
            template.status = BUILT
            (staging / "template.json").write_text(json.dumps(template.to_json(), indent=2))
            clone.fsync_dir(staging)
            os.rename(staging, self.template_dir(template.id))
            clone.fsync_dir(self.root / "templates")
            # The commit point: only now is the template usable.
            if not self.catalog.update_template(template.id, expect=(SAVING,), status=BUILT, owner=None):
                raise ProviderError(f"template {template.id} vanished from the catalog while being saved")
        except BaseException:
            clone.remove_tree(staging)
            clone.remove_tree(self.template_dir(template.id))
            self.catalog.delete_template_row(template.id)
            raise
        print(f"saved {env.id} as template {template.id}: {stats}", flush=True)
        return self.catalog.get_template(template.id)

    def list_templates(self) -> list[Template]:
        templates = self.catalog.templates()
        for t in templates:
            t.detail = {"path": str(self.template_dir(t.id))}
        return templates

    def _known(self, template_id: str) -> Template:
        template = self.catalog.get_template(template_id)
        if template is None or template.status not in STATUSES:
            raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")
        return template

    def set_status(self, template_id: str, status: str) -> Template:
        self._known(template_id)
        if not self.catalog.update_template(template_id, expect=STATUSES, status=status):
            raise NotFound(f"no template {template_id!r}")
        return self.catalog.get_template(template_id)

    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        self._known(template_id)
        self.catalog.update_template(template_id, expect=STATUSES, pinned=int(pinned))
        return self.catalog.get_template(template_id)

    def delete_template(self, template_id: str) -> None:
        self._known(template_id)
        if not self.catalog.update_template(template_id, expect=STATUSES, status=DELETING, owner=self.token):
            raise NotFound(f"no template {template_id!r}")
        self._finish_delete(template_id)

    def _finish_delete(self, template_id: str) -> None:
        trash = self._tmp(f"{template_id}.deleting")
        if self.template_dir(template_id).exists():
            os.rename(self.template_dir(template_id), trash)
        clone.remove_tree(trash)
        clone.remove_tree(self._tmp(f"{template_id}.saving"))
        self.catalog.delete_template_row(template_id)

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Undo half-done saves, finish half-done deletions, reclaim ephemeral environments whose
        process is gone, and remove files no catalog row accounts for."""
        cleaned = []
        for row in self.catalog.template_rows():
            if row["status"] in (SAVING, DELETING) and not is_alive(row["owner"]):
                self._finish_delete(row["id"])
                cleaned.append(f"template {row['id']} ({row['status']} when its process ended)")
            elif row["status"] in STATUSES and not (self.template_dir(row["id"]) / "template.json").exists():
                self.catalog.update_template(row["id"], status="failed")
                cleaned.append(f"template {row['id']} marked failed: its snapshot is missing")
        for row in self.catalog.environment_rows():
            if row["owner"] and not is_alive(row["owner"]):
                self._remove_environment(row["id"])
                cleaned.append(f"environment {row['id']} ({row['purpose']}, its process ended)")
        templates = {r["id"]: r for r in self.catalog.template_rows()}
        environments = {r["id"]: r for r in self.catalog.environment_rows()}
        for path in (self.root / "templates").iterdir():
            if path.name not in templates:
                clone.remove_tree(path)
                cleaned.append(f"unregistered snapshot {path.name}")
        for path in (self.root / "environments").iterdir():
            if path.name not in environments:
                clone.remove_tree(path)
                cleaned.append(f"unregistered environment directory {path.name}")
        for path in (self.root / "tmp").iterdir():
            name, _, kind = path.name.rpartition(".")
            if name.startswith("env-") and kind == "deleting":
                row = environments.get(name[4:])
            else:
                row = templates.get(name)
            if row is None or not is_alive(row["owner"]):
                clone.remove_tree(path)
                cleaned.append(f"leftover {path.name}")
        return cleaned
