#!/usr/bin/env python3
"""A complete provider for jjb-envdelivery's ``command`` provider, in one stdlib-only script.

    envprovider.py OPERATION < request.json > answer.json

OPERATION is one of the protocol's operations (provision, run, save, deploy, destroy,
update-environment, list-environments, list-templates, update-template, delete-template); the
request and answer are those of jjb_envdelivery/environments/command_protocol.json. On failure
it exits 1 printing {"error": ..., "not-found"?: true}.

Environments and templates are directories under $ENVPROVIDER_ROOT, each with its metadata
beside it (no central index that could be lost):

    environments/ID/          the environment: the provisioning tool's {target}
    environments/ID.json      its metadata (the environment exists while this file does)
    templates/ID/             tree/ (the snapshot) and manifest.json (every file and its size)
    templates/ID.json         its metadata (the template is registered while this file does)
    tmp/                      saves in progress (ID.saving) and trash (*.trash)
    lock                      flock(2): version numbers, registrations and status changes

Metadata files are replaced atomically (write, fsync, rename). Whatever a killed run leaves is
recorded with the killed process's lease, and jjb-envdelivery's recover() asks for its removal.

ENVPROVIDER_COPY_DELAY (seconds, default 0) slows every file copied; it exists so that tests can
kill a save or a deploy in the middle of its copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

USABLE = ("built", "verified", "failed")


class Failure(Exception):
    """The operation failed; ``not_found``: the object the request names does not exist."""

    def __init__(self, message: str, not_found: bool = False):
        super().__init__(message)
        self.not_found = not_found


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self, root: Path):
        self.root = root
        self.environments = root / "environments"
        self.templates = root / "templates"
        self.tmp = root / "tmp"
        for directory in (self.environments, self.templates, self.tmp):
            directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self):
        with open(self.root / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield  # the lock goes with the file (and with the process, if it is killed)

    # -- metadata -----------------------------------------------------------------------------
    @staticmethod
    def write(path: Path, data: dict) -> None:
        """Replace ``path`` atomically: readers see the old file or the new one, never a part."""
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(temporary, "w") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)

    @staticmethod
    def read(path: Path, kind: str) -> dict:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise Failure(f"no {kind} {path.stem!r}", not_found=True) from None
        except ValueError:
            # Never skipped: a list missing an entry would make it look unused.
            raise Failure(f"unreadable {kind} metadata {path}") from None

    def all(self, directory: Path, kind: str) -> list[dict]:
        items = []
        for path in sorted(directory.glob("*.json")):
            try:
                items.append(self.read(path, kind))
            except Failure as exc:
                if not exc.not_found:
                    raise  # unreadable: fail loudly
                # removed since the glob: gone, so not listed
        return items

    def rewrite(self, path: Path, data: dict, kind: str) -> None:
        """Replace the metadata of an object that must still exist (call it holding the lock): an
        owner whose lease lapsed, and whose work was removed, must not bring it back."""
        if not path.exists():
            raise Failure(f"{kind} {path.stem} was removed while this run worked on it (its lease had lapsed)")
        self.write(path, data)

    def env_meta(self, env_id: str) -> Path:
        return self.environments / f"{env_id}.json"

    def template_meta(self, template_id: str) -> Path:
        return self.templates / f"{template_id}.json"

    # -- removal ------------------------------------------------------------------------------
    def trash(self, path: Path) -> None:
        """Move ``path`` out of the way at once (a rename), then remove it."""
        if path.exists():
            target = self.tmp / f"{path.name}.{secrets.token_hex(4)}.trash"
            os.rename(path, target)
            shutil.rmtree(target, ignore_errors=True)

    def empty_trash(self) -> None:
        for path in self.tmp.glob("*.trash"):
            shutil.rmtree(path, ignore_errors=True)

    def remove_environment(self, env_id: str) -> None:
        self.trash(self.environments / env_id)
        self.env_meta(env_id).unlink(missing_ok=True)  # the record last: a killed removal is redone

    def remove_template(self, template_id: str) -> None:
        self.trash(self.templates / template_id)
        self.trash(self.tmp / f"{template_id}.saving")
        self.template_meta(template_id).unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def copy_tree(source: Path, target: Path) -> dict:
    """Copy ``source`` to a new ``target``, failing on any error (a source removed midway
    included); returns the manifest {relative path: size} of what was copied."""
    delay = float(os.environ.get("ENVPROVIDER_COPY_DELAY", "0"))
    manifest = {}

    def walk(directory: Path, into: Path) -> None:
        into.mkdir()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                source_path, target_path = Path(entry.path), into / entry.name
                relative = str(source_path.relative_to(source))
                if entry.is_symlink():
                    os.symlink(os.readlink(source_path), target_path)
                    manifest[relative] = -1
                elif entry.is_dir():
                    walk(source_path, target_path)
                else:
                    time.sleep(delay)
                    shutil.copyfile(source_path, target_path)
                    shutil.copymode(source_path, target_path)
                    with open(target_path, "rb") as handle:
                        os.fsync(handle.fileno())
                    manifest[relative] = target_path.stat().st_size
        fsync_dir(into)

    walk(source, target)
    return manifest


# -- operations ------------------------------------------------------------------------------
def provision(store: Store, request: dict) -> dict:
    env_id = f"{request['purpose']}-{secrets.token_hex(4)}"
    directory = store.environments / env_id
    meta = {"id": env_id, "variant": request["variant"], "release": request["release"],
            "purpose": request["purpose"], "template": None, "state": "provisioning", "created_at": now(),
            "access": access(directory), "versions": {}, "lease": request["lease"]}
    with store.locked():
        store.write(store.env_meta(env_id), meta)  # registered first: whatever exists is known
    try:
        directory.mkdir()
        meta["versions"] = run_tool(request, directory)
        meta["state"] = "running"
        with store.locked():
            store.rewrite(store.env_meta(env_id), meta, "environment")
    except BaseException:
        store.remove_environment(env_id)
        raise
    return {"id": env_id, "access": meta["access"], "versions": meta["versions"]}


def access(directory: Path) -> dict:
    return {"path": str(directory), "use": f"cd {directory} && ENVDELIVERY_ENV={directory} <command>"}


def run_tool(request: dict, target: Path) -> dict:
    """The provisioning tool, as jjb-envdelivery's local provider runs it ({config} with a
    report-file, {artifacts}, {target}); its output goes to stderr (stdout is the answer)."""
    with tempfile.TemporaryDirectory(prefix="envprovider-") as work:
        report = Path(work) / "versions.json"
        config = Path(work) / "environment.json"
        config.write_text(json.dumps({**request["config"], "report-file": str(report)}))
        quoted = {"config": config, "artifacts": request["artifacts"], "target": target}
        try:
            line = request["tool-command"].format(**{k: shlex.quote(str(v)) for k, v in quoted.items()})
        except (KeyError, IndexError, ValueError) as exc:
            raise Failure(f"tool-command {request['tool-command']!r}: bad placeholder {exc}") from None
        done = subprocess.run(line, shell=True, stdout=sys.stderr, stdin=subprocess.DEVNULL,
                              env={**os.environ, "ENVDELIVERY_ENV": str(target)})
        if done.returncode != 0:
            raise Failure(f"the provisioning tool failed (exit status {done.returncode}): {line}")
        if not report.exists():
            return {}
        versions = json.loads(report.read_text())
        return {str(k): str(v) for k, v in versions.items()}


def run(store: Store, request: dict) -> dict:
    store.read(store.env_meta(request["environment"]), "environment")
    directory = store.environments / request["environment"]
    done = subprocess.run(request["command"], shell=True, cwd=directory, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, "ENVDELIVERY_ENV": str(directory)})
    status = done.returncode if done.returncode >= 0 else 128 - done.returncode  # killed by a signal
    return {"exit-status": status, "output": done.stdout.decode(errors="replace")}


def save(store: Store, request: dict) -> dict:
    env = store.read(store.env_meta(request["environment"]), "environment")
    if env["state"] != "running":
        raise Failure(f"environment {env['id']} is {env['state']}, not running")
    wanted = request["template"]
    stamp = now()
    with store.locked():
        # The version is assigned here, under the lock, and recorded at once (status saving): two
        # saves of one line never get the same number.
        line = [t["version"] for t in store.all(store.templates, "template")
                if (t["variant"], t["release"]) == (wanted["variant"], wanted["release"])]
        template_id = f"tpl-{secrets.token_hex(4)}"
        meta = {"id": template_id, "variant": wanted["variant"], "release": wanted["release"],
                "version": max(line, default=0) + 1, "status": "saving", "pinned": False,
                "artifacts": wanted["artifacts"], "build": wanted["build"], "created_at": stamp,
                "updated_at": stamp, "lease": request["lease"], "previous-status": None}
        store.write(store.template_meta(template_id), meta)
    staging = store.tmp / f"{template_id}.saving"
    try:
        staging.mkdir()
        manifest = copy_tree(store.environments / env["id"], staging / "tree")
        store.write(staging / "manifest.json", manifest)
        os.rename(staging, store.templates / template_id)
        fsync_dir(store.templates)
        meta.update(status="built", lease=None, updated_at=now(),
                    detail={"path": str(store.templates / template_id / "tree"), "files": len(manifest),
                            "bytes": sum(size for size in manifest.values() if size > 0)})
        with store.locked():
            store.rewrite(store.template_meta(template_id), meta, "template")  # the commit point
    except BaseException:
        store.remove_template(template_id)
        raise
    return meta


def deploy(store: Store, request: dict) -> dict:
    template_id = request["template"]
    env_id = f"{request['purpose']}-{secrets.token_hex(4)}"
    directory = store.environments / env_id
    with store.locked():
        template = deployable(store, template_id)
        # Registered with its template before anything is copied: gc, which marks the template
        # deleting before it lists environments, either sees this one or made us stop above.
        meta = {"id": env_id, "variant": template["variant"], "release": template["release"],
                "purpose": request["purpose"], "template": template_id, "state": "provisioning",
                "created_at": now(), "access": access(directory), "lease": request["lease"],
                "versions": {name: a["version"] for name, a in template["artifacts"].items()
                             if isinstance(a, dict) and isinstance(a.get("version"), str)}}
        store.write(store.env_meta(env_id), meta)
    try:
        try:
            expected = json.loads((store.templates / template_id / "manifest.json").read_text())
            copied = copy_tree(store.templates / template_id / "tree", directory)
        except OSError:
            store.read(store.template_meta(template_id), "template")  # deleted meanwhile: not-found
            raise
        if copied != expected:
            raise Failure(f"the copy of template {template_id} is incomplete ({len(copied)} of "
                          f"{len(expected)} files, or sizes differ)")
        meta["state"] = "running"
        with store.locked():
            # Still there? (deleting is fine now: the gc that marked it lists this environment and
            # keeps the template; failing here would make both back out).
            store.read(store.template_meta(template_id), "template")
            store.rewrite(store.env_meta(env_id), meta, "environment")
    except BaseException:
        store.remove_environment(env_id)
        raise
    return {"id": env_id, "access": meta["access"], "versions": meta["versions"]}


def deployable(store: Store, template_id: str) -> dict:
    template = store.read(store.template_meta(template_id), "template")
    if template["status"] in ("saving", "deleting"):
        raise Failure(f"template {template_id} is {template['status']}", not_found=True)
    if template["status"] == "failed":
        raise Failure(f"template {template_id} failed verification")
    return template


def destroy(store: Store, request: dict) -> dict:
    store.empty_trash()
    store.read(store.env_meta(request["environment"]), "environment")
    store.remove_environment(request["environment"])
    return {}


def update_environment(store: Store, request: dict) -> dict:
    with store.locked():
        meta = store.read(store.env_meta(request["environment"]), "environment")
        meta["lease"] = request["lease"]
        store.write(store.env_meta(meta["id"]), meta)
    return meta


def list_environments(store: Store, request: dict) -> list:
    return store.all(store.environments, "environment")


def list_templates(store: Store, request: dict) -> list:
    return store.all(store.templates, "template")


def update_template(store: Store, request: dict) -> dict:
    with store.locked():
        meta = store.read(store.template_meta(request["template"]), "template")
        if meta["status"] != request["expect-status"]:
            raise Failure(f"template {meta['id']} is {meta['status']}, not {request['expect-status']} "
                          "(changed meanwhile)")
        for key in ("status", "pinned", "lease", "previous-status"):
            if key in request:
                meta[key] = request[key]
        meta["updated_at"] = now()
        store.write(store.template_meta(meta["id"]), meta)
    return meta


def delete_template(store: Store, request: dict) -> dict:
    store.empty_trash()
    store.read(store.template_meta(request["template"]), "template")
    store.remove_template(request["template"])
    return {}


OPERATIONS = {"provision": provision, "run": run, "save": save, "deploy": deploy, "destroy": destroy,
              "update-environment": update_environment, "list-environments": list_environments,
              "list-templates": list_templates, "update-template": update_template,
              "delete-template": delete_template}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in OPERATIONS:
        print(f"usage: {Path(argv[0]).name} {{{','.join(OPERATIONS)}}} < request.json", file=sys.stderr)
        return 2
    operation = argv[1]
    try:
        root = os.environ["ENVPROVIDER_ROOT"]
        request = json.load(sys.stdin)
        answer = OPERATIONS[operation](Store(Path(root)), request)
    except KeyError as exc:
        answer, status = {"error": f"missing {exc} (ENVPROVIDER_ROOT, or a request field)"}, 1
    except ValueError as exc:
        answer, status = {"error": f"the request is not JSON: {exc}"}, 1
    except Failure as exc:
        answer, status = {"error": str(exc), **({"not-found": True} if exc.not_found else {})}, 1
    except OSError as exc:
        # Disk full among others: what was half-made is removed above, and the error is one line.
        answer, status = {"error": f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")}, 1
    else:
        status = 0
    print(json.dumps(answer))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
