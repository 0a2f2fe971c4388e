"""The local provider's catalog: templates and environments in one SQLite database, mirrored in
metadata files beside the data, so that losing the database loses nothing.

Every row is written before the files it describes and removed after them, so the database
always knows about everything on disk. Rows in a transient state (``saving``, ``deleting``,
``provisioning``, or an ephemeral environment) carry the owner's process token; once the owner
is gone, ``LocalProvider.recover`` finishes or undoes what it was doing.

The mirror: ``templates/<id>/template.json`` is rewritten (atomically) on every status or pin
change, and ``environments/<id>.json`` exists from before the environment's directory is made
until after it is removed. A missing, empty or damaged ``catalog.sqlite`` is rebuilt from them
when the catalog is opened, under an exclusive lock on ``catalog.lock``; the damaged file is
kept aside, never deleted.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .catalog import BUILT, DELETING, SAVING, STATUSES, VERIFIED, Template, TemplateMeta, now
from .provider import Environment, NotFound, ProviderError, TemplateGone

SCHEMA = """
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY,
    variant TEXT NOT NULL,
    release TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    owner TEXT,
    UNIQUE (variant, release, version)
);
CREATE TABLE IF NOT EXISTS versions (
    variant TEXT NOT NULL,
    release TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (variant, release)
);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    variant TEXT NOT NULL,
    release TEXT NOT NULL,
    purpose TEXT NOT NULL,
    template_id TEXT,
    state TEXT NOT NULL,
    owner TEXT,
    created_at TEXT NOT NULL,
    versions TEXT NOT NULL DEFAULT '{}'
);
"""
TABLES = {"templates", "versions", "environments"}
SQLITE_FULL = 13
DEPLOYABLE = (BUILT, VERIFIED)


def disk_full(exc: BaseException) -> bool:
    """ENOSPC (or a quota) from a file operation, or SQLite's "database or disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL or "disk is full" in str(exc)
    return False


def write_json_atomic(path: Path, data: dict) -> None:
    """Temp file, fsync, rename, fsync of the directory: readers see the old file or the new one."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "w") as out:
            out.write(json.dumps(data, indent=2, sort_keys=True))
            out.flush()
            os.fsync(out.fileno())
        os.rename(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def template_document(template: Template, owner: str | None = None, previous: str | None = None) -> dict:
    """What ``template.json`` holds: the template, and while it is being deleted, by whom and its
    status before (so a rebuilt catalog can finish or undo the delete)."""
    return {**template.to_json(), "owner": owner, "previous_status": previous}


def template_from_document(data: dict) -> tuple[Template, str | None, str | None] | None:
    """(template, owner, previous status) from a ``template.json``; None if it is not one."""
    try:
        template = Template.from_metadata(str(data["id"]), data, detail={})
    except (KeyError, TypeError, ValueError):
        return None
    if template.status not in (*STATUSES, DELETING):
        return None
    owner, previous = data.get("owner"), data.get("previous_status")
    return template, (str(owner) if owner else None), (str(previous) if previous else None)


def environment_document(row) -> dict:
    return {"id": row["id"], "variant": row["variant"], "release": row["release"], "purpose": row["purpose"],
            "template": row["template_id"], "state": row["state"], "owner": row["owner"],
            "created_at": row["created_at"], "versions": json.loads(row["versions"])}


def environment_values(data: dict) -> tuple:
    """The row of an ``environments/<id>.json``, in column order; raises KeyError/TypeError if it is not one."""
    versions = data.get("versions") or {}
    if not isinstance(versions, dict):
        raise TypeError("versions")
    return (str(data["id"]), str(data["variant"]), str(data["release"]), str(data["purpose"]),
            data["template"] and str(data["template"]), str(data["state"]), data.get("owner") or None,
            str(data["created_at"]), json.dumps(versions))


class SqliteCatalog:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / "catalog.sqlite"
        # What opening had to do (a rebuild), for ``recover`` to report.
        self.reports: list[str] = []
        problem = self._health()
        if problem is not None:
            with self._exclusive_lock():
                problem = self._health()  # another process may have rebuilt it meanwhile
                if problem is not None:
                    self._rebuild(problem)
        # Autocommit mode, explicit BEGIN IMMEDIATE: writers serialise, readers never see half a change.
        self.db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA synchronous=FULL")

    # -- opening: check, rebuild ------------------------------------------------------------
    def _health(self) -> str | None:
        """None when the database is usable; else what is wrong with it."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return "missing"
        if size == 0:
            return "empty"
        try:
            # mode=rw: never let SQLite create an empty database in place of a lost one.
            db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=60)
            try:
                check = [row[0] for row in db.execute("PRAGMA quick_check")]
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            return f"damaged ({exc})"
        if check != ["ok"]:
            return f"damaged ({'; '.join(check[:2])})"
        if not TABLES <= tables:
            return "damaged (tables missing)"
        return None

    @contextmanager
    def _exclusive_lock(self):
        with open(self.root / "catalog.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _rebuild(self, problem: str) -> None:
        """A new database from the metadata files, built aside and renamed into place."""
        templates, environments = self._read_mirror()
        fresh = problem == "missing" and not templates and not environments
        new = self.root / f"catalog.sqlite.rebuild-{os.getpid()}"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.root / f"catalog.sqlite.corrupt-{stamp}"
        try:
            new.unlink(missing_ok=True)  # a rebuild of this pid that died: never data
            db = sqlite3.connect(new, isolation_level=None)
            try:
                db.execute("PRAGMA synchronous=FULL")
                db.execute("BEGIN IMMEDIATE")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                for template, owner, previous in templates:
                    db.execute("INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               self._template_values(template, owner, previous))
                    self._raise_counter(db, template.variant, template.release, template.version)
                for values in environments:
                    db.execute("INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
                db.execute("COMMIT")
            finally:
                db.close()
            with open(new, "rb+") as out:
                os.fsync(out.fileno())
            if self.path.exists():
                os.rename(self.path, aside)
            journal = self.path.with_name(self.path.name + "-journal")
            if journal.exists():  # a hot journal belongs to the old file, not to the new one
                os.rename(journal, aside.with_name(aside.name + "-journal"))
            os.rename(new, self.path)
            fsync_dir(self.root)
        except (OSError, sqlite3.Error) as exc:
            new.unlink(missing_ok=True)
            why = "the disk is full" if disk_full(exc) else str(exc)
            raise ProviderError(f"local provider: the catalog {self.path} is {problem} and cannot be rebuilt "
                                f"from the metadata files under {self.root}: {why}; nothing was deleted") from None
        if not fresh:
            kept = f"; the damaged one is kept as {aside.name}" if problem != "missing" else ""
            self.reports.append(f"catalog {problem}: rebuilt from {len(templates)} template(s) and "
                                f"{len(environments)} environment(s){kept}")

    def _read_mirror(self) -> tuple[list, list]:
        """The readable ``template.json`` and ``environments/<id>.json`` files (``recover`` reports the rest)."""
        templates, environments, seen = [], [], set()
        for path in sorted((self.root / "templates").glob("*/template.json")):
            parsed = template_from_document(read_json(path) or {})
            if parsed and parsed[0].id == path.parent.name:
                key = (parsed[0].variant, parsed[0].release, parsed[0].version)
                if key not in seen:
                    seen.add(key)
                    templates.append(parsed)
        for path in sorted((self.root / "environments").glob("*.json")):
            try:
                values = environment_values(read_json(path) or {})
            except (KeyError, TypeError):
                continue
            if values[0] == path.stem:
                environments.append(values)
        return templates, environments

    @staticmethod
    def _template_values(template: Template, owner: str | None, previous: str | None) -> tuple:
        metadata = {"artifacts": template.artifacts, "build": template.build}
        if previous:
            metadata["previous_status"] = previous
        return (template.id, template.variant, template.release, template.version, str(template.status),
                int(template.pinned), json.dumps(metadata), template.created_at, template.updated_at, owner)

    @staticmethod
    def _raise_counter(db, variant: str, release: str, version: int) -> None:
        """The line's version counter is at least ``version``."""
        db.execute("INSERT INTO versions VALUES (?, ?, ?) ON CONFLICT (variant, release) "
                   "DO UPDATE SET last = max(last, excluded.last)", (variant, release, version))

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK would then
            # replace the real error with "cannot rollback - no transaction is active".
            if self.db.in_transaction:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the error being raised says more
            raise

    def close(self) -> None:
        self.db.close()

    # -- templates ----------------------------------------------------------------------------
    def reserve_template(self, meta: TemplateMeta, owner: str) -> Template:
        """A new row in state ``saving`` with the next version of its line; not yet usable."""
        stamp = now()
        with self.transaction() as db:
            row = db.execute("SELECT last FROM versions WHERE variant=? AND release=?",
                             (meta.variant, meta.release)).fetchone()
            version = (row["last"] if row else 0) + 1
            db.execute("INSERT OR REPLACE INTO versions VALUES (?, ?, ?)", (meta.variant, meta.release, version))
            template = Template(id=f"{meta.variant}-{meta.release}-v{version}", variant=meta.variant,
                                release=meta.release, version=version, status=SAVING,
                                artifacts=meta.artifacts, build=meta.build, created_at=stamp, updated_at=stamp)
            db.execute("INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       self._template_values(template, owner, None))
        return template

    def adopt_template(self, template: Template) -> None:
        """Register a complete snapshot that has no row (its ``template.json`` says what it is)."""
        with self.transaction() as db:
            db.execute("INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       self._template_values(template, None, None))
            self._raise_counter(db, template.variant, template.release, template.version)

    def templates(self, statuses: tuple[str, ...] = (*STATUSES, DELETING)) -> list[Template]:
        rows = self.db.execute("SELECT * FROM templates ORDER BY variant, release, version").fetchall()
        return [self._template(r) for r in rows if r["status"] in statuses]

    def template_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM templates").fetchall()

    def get_template(self, template_id: str) -> Template | None:
        row = self.db.execute("SELECT * FROM templates WHERE id=?", (template_id,)).fetchone()
        return self._template(row) if row else None

    def update_template(self, template_id: str, expect: tuple[str, ...] | None = None, **fields) -> bool:
        """Set columns; with ``expect``, only when the current status is one of them. The template's
        ``template.json`` follows the row."""
        fields["updated_at"] = now()
        assignments = ", ".join(f"{k}=?" for k in fields)
        query = f"UPDATE templates SET {assignments} WHERE id=?"
        params = [*fields.values(), template_id]
        if expect:
            query += f" AND status IN ({', '.join('?' * len(expect))})"
            params += list(expect)
        with self.transaction() as db:
            changed = db.execute(query, params).rowcount == 1
        if changed:
            self.write_template_file(template_id)
        return changed

    def begin_delete(self, template_id: str, owner: str, unless_used: bool = False) -> Template | list[str]:
        """Mark the template ``deleting`` by ``owner``, remembering its status; returns it as it was.
        With ``unless_used``, in the same transaction: when environments use it, nothing is marked
        and their ids are returned (so no deploy can register in between)."""
        with self.transaction() as db:
            if unless_used:
                users = [r["id"] for r in db.execute("SELECT id FROM environments WHERE template_id=? ORDER BY id",
                                                     (template_id,))]
                if users:
                    return users
            row = db.execute("SELECT * FROM templates WHERE id=?", (template_id,)).fetchone()
            if row is None or row["status"] not in STATUSES:
                raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")
            before = self._template(row)
            metadata = {**json.loads(row["metadata"]), "previous_status": row["status"]}
            db.execute("UPDATE templates SET status=?, owner=?, metadata=?, updated_at=? WHERE id=?",
                       (DELETING, owner, json.dumps(metadata), now(), template_id))
        self.write_template_file(template_id)
        return before

    def cancel_delete(self, template_id: str, status: str | None = None) -> None:
        """Back to the status before ``begin_delete`` (or ``status``)."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM templates WHERE id=? AND status=?", (template_id, DELETING)).fetchone()
            if row is None:
                return
            metadata = json.loads(row["metadata"])
            previous = status or metadata.pop("previous_status", None) or "built"
            metadata.pop("previous_status", None)
            db.execute("UPDATE templates SET status=?, owner=NULL, metadata=?, updated_at=? WHERE id=?",
                       (str(previous), json.dumps(metadata), now(), template_id))
        self.write_template_file(template_id)

    def previous_status(self, row) -> str | None:
        return json.loads(row["metadata"]).get("previous_status")

    def write_template_file(self, template_id: str) -> None:
        """Rewrite ``templates/<id>/template.json`` from the row (when the snapshot is there)."""
        row = self.db.execute("SELECT * FROM templates WHERE id=?", (template_id,)).fetchone()
        directory = self.root / "templates" / template_id
        if row is None or row["status"] == SAVING or not directory.is_dir():
            return
        write_json_atomic(directory / "template.json",
                          template_document(self._template(row), row["owner"], self.previous_status(row)))

    def delete_template_row(self, template_id: str, give_back_version: bool = False) -> None:
        """Remove the row; ``give_back_version``: a save that never completed does not burn its
        version number when it was the line's last."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM templates WHERE id=?", (template_id,)).fetchone()
            db.execute("DELETE FROM templates WHERE id=?", (template_id,))
            if row is not None and give_back_version:
                db.execute("UPDATE versions SET last=? WHERE variant=? AND release=? AND last=?",
                           (row["version"] - 1, row["variant"], row["release"], row["version"]))

    @staticmethod
    def _template(row) -> Template:
        meta = json.loads(row["metadata"])
        return Template(id=row["id"], variant=row["variant"], release=row["release"], version=row["version"],
                        status=row["status"], pinned=bool(row["pinned"]), artifacts=meta.get("artifacts", {}),
                        build=meta.get("build", {}), created_at=row["created_at"], updated_at=row["updated_at"])

    # -- environments -------------------------------------------------------------------------
    def env_file(self, env_id: str) -> Path:
        return self.root / "environments" / f"{env_id}.json"

    def add_environment(self, env: Environment, owner: str | None) -> None:
        """The row, then ``environments/<id>.json`` (before the caller makes the directory). An
        environment deployed from a template is registered only while the template is deployable,
        in the same transaction: otherwise ``TemplateGone`` and nothing is registered."""
        with self.transaction() as db:
            if env.template_id:
                row = db.execute("SELECT status FROM templates WHERE id=?", (env.template_id,)).fetchone()
                if row is None:
                    raise TemplateGone(f"template {env.template_id} was deleted before it could be deployed")
                if row["status"] not in DEPLOYABLE:
                    raise TemplateGone(f"template {env.template_id} is {row['status']} (env gc); deploy another one")
            db.execute("INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (env.id, env.variant, env.release, env.purpose, env.template_id, env.state, owner,
                        env.created_at, json.dumps(env.versions)))
        try:
            self.write_environment_file(env.id)
        except BaseException:
            self.delete_environment_row(env.id)  # no directory yet: nothing else to undo
            raise

    def adopt_environment(self, data: dict) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", environment_values(data))

    def update_environment(self, env_id: str, **fields) -> None:
        if "versions" in fields:
            fields["versions"] = json.dumps(fields["versions"])
        with self.transaction() as db:
            db.execute(f"UPDATE environments SET {', '.join(f'{k}=?' for k in fields)} WHERE id=?",
                       [*fields.values(), env_id])
        self.write_environment_file(env_id)

    def write_environment_file(self, env_id: str) -> None:
        row = self.db.execute("SELECT * FROM environments WHERE id=?", (env_id,)).fetchone()
        if row is not None:
            write_json_atomic(self.env_file(env_id), environment_document(row))

    def delete_environment_row(self, env_id: str) -> None:
        """The metadata file, then the row (the caller removed the directory before)."""
        self.env_file(env_id).unlink(missing_ok=True)
        with self.transaction() as db:
            db.execute("DELETE FROM environments WHERE id=?", (env_id,))

    def environment_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM environments ORDER BY created_at, id").fetchall()


class SqliteTemplates:
    """The template-catalog operations of a ``Provider`` whose catalog is a ``SqliteCatalog``
    (``self.catalog``, ``self.token``): put before ``Provider`` in the bases. The provider gives
    ``_finish_delete`` (removing the template's data, then its row) and may wrap writes in ``_update``."""

    def _known(self, template_id: str, statuses: tuple[str, ...] = STATUSES) -> Template:
        template = self.catalog.get_template(template_id)
        if template is None or template.status not in statuses:
            raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")
        return template

    def _update(self, template_id: str, doing: str, **fields) -> bool:
        """Change a usable template's row (``doing`` names the change for an error message)."""
        return self.catalog.update_template(template_id, expect=STATUSES, **fields)

    def _finish_delete(self, template_id: str) -> None:
        raise NotImplementedError

    def set_status(self, template_id: str, status: str) -> Template:
        self._known(template_id)
        if not self._update(template_id, f"marking {template_id} {status}", status=status):
            raise NotFound(f"no template {template_id!r}")
        return self.catalog.get_template(template_id)

    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        self._known(template_id)
        self._update(template_id, f"{'pinning' if pinned else 'unpinning'} {template_id}", pinned=int(pinned))
        return self.catalog.get_template(template_id)

    def delete_template(self, template_id: str) -> None:
        template = self._known(template_id, (*STATUSES, DELETING))
        if template.status != DELETING:
            self.catalog.begin_delete(template_id, owner=self.token)
        self._finish_delete(template_id)

    def begin_delete(self, template_id: str) -> Template:
        return self.catalog.begin_delete(template_id, owner=self.token)

    def cancel_delete(self, template: Template) -> None:
        self.catalog.cancel_delete(template.id, status=str(template.status))

    def delete_unused_template(self, template_id: str) -> list[str]:
        # "No environment uses it" and the switch to deleting in one transaction: a deploy registers
        # its environment in a transaction that checks the status, so one of the two always loses.
        users = self.catalog.begin_delete(template_id, owner=self.token, unless_used=True)
        if isinstance(users, list):
            return users
        self._finish_delete(template_id)
        return []
