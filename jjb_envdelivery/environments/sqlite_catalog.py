"""The local provider's catalog: templates and environments in one SQLite database.

Every row is written before the files it describes and removed after them, so the database
always knows about everything on disk. Rows in a transient state (``saving``, ``deleting``,
``provisioning``, or an ephemeral environment) carry the owner's process token; once the owner
is gone, ``LocalProvider.recover`` finishes or undoes what it was doing.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from .catalog import STATUSES, Template, TemplateMeta, now
from .provider import Environment

SAVING, DELETING = "saving", "deleting"

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


class SqliteCatalog:
    def __init__(self, path: Path):
        self.path = path
        # Autocommit mode, explicit BEGIN IMMEDIATE: writers serialise, readers never see half a change.
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA synchronous=FULL")
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

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
            db.execute("INSERT INTO templates VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                       (template.id, template.variant, template.release, version, SAVING,
                        json.dumps({"artifacts": meta.artifacts, "build": meta.build}), stamp, stamp, owner))
        return template

    def templates(self, include_transient: bool = False) -> list[Template]:
        rows = self.db.execute("SELECT * FROM templates ORDER BY variant, release, version").fetchall()
        return [self._template(r) for r in rows if include_transient or r["status"] in STATUSES]

    def template_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM templates").fetchall()

    def get_template(self, template_id: str) -> Template | None:
        row = self.db.execute("SELECT * FROM templates WHERE id=?", (template_id,)).fetchone()
        return self._template(row) if row else None

    def update_template(self, template_id: str, expect: tuple[str, ...] | None = None, **fields) -> bool:
        """Set columns; with ``expect``, only when the current status is one of them."""
        fields["updated_at"] = now()
        assignments = ", ".join(f"{k}=?" for k in fields)
        query = f"UPDATE templates SET {assignments} WHERE id=?"
        params = [*fields.values(), template_id]
        if expect:
            query += f" AND status IN ({', '.join('?' * len(expect))})"
            params += list(expect)
        with self.transaction() as db:
            return db.execute(query, params).rowcount == 1

    def delete_template_row(self, template_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM templates WHERE id=?", (template_id,))

    @staticmethod
    def _template(row) -> Template:
        meta = json.loads(row["metadata"])
        return Template(id=row["id"], variant=row["variant"], release=row["release"], version=row["version"],
                        status=row["status"], pinned=bool(row["pinned"]), artifacts=meta.get("artifacts", {}),
                        build=meta.get("build", {}), created_at=row["created_at"], updated_at=row["updated_at"])

    # -- environments -------------------------------------------------------------------------
    def add_environment(self, env: Environment, owner: str | None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (env.id, env.variant, env.release, env.purpose, env.template_id, env.state, owner,
                        env.created_at, json.dumps(env.versions)))

    def update_environment(self, env_id: str, **fields) -> None:
        if "versions" in fields:
            fields["versions"] = json.dumps(fields["versions"])
        with self.transaction() as db:
            db.execute(f"UPDATE environments SET {', '.join(f'{k}=?' for k in fields)} WHERE id=?",
                       [*fields.values(), env_id])

    def delete_environment_row(self, env_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM environments WHERE id=?", (env_id,))

    def environment_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM environments ORDER BY created_at, id").fetchall()
