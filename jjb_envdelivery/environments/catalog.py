"""Templates as versioned artifacts: their metadata, which one to use, and which ones gc deletes.

Provider-independent: each provider stores the records (SQLite, Skytap descriptions, the
organisation's tool); the rules that pick and retain them live here, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class TemplateStatus(StrEnum):
    """A template's place in its lifecycle: built (saved, not yet verified), verified (deployed
    afresh and validated: deployable), failed (verification failed)."""

    BUILT = "built"
    VERIFIED = "verified"
    FAILED = "failed"


BUILT, VERIFIED, FAILED = TemplateStatus.BUILT, TemplateStatus.VERIFIED, TemplateStatus.FAILED
STATUSES = tuple(TemplateStatus)
# Transient states, held under a lease by the process doing the work: a template being saved is
# not yet usable; one being deleted can no longer be deployed. Neither is ever gc's to judge.
SAVING, DELETING = "saving", "deleting"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TemplateMeta:
    """What a build knows about the template it saves; the provider adds id, version and times."""

    variant: str
    release: str
    artifacts: dict  # name -> {"version": ..., "file"?: ..., "sha256"?: ...}
    build: dict  # {"url": BUILD_URL, "job": JOB_NAME, "number": BUILD_NUMBER} (empty outside Jenkins)


@dataclass
class Template:
    id: str
    variant: str
    release: str
    version: int
    status: TemplateStatus | str  # a provider's own status text is kept as it is
    pinned: bool = False
    artifacts: dict = field(default_factory=dict)
    build: dict = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    detail: dict = field(default_factory=dict)  # provider-specific: snapshot path, size, Skytap URL

    @property
    def label(self) -> str:
        return f"{self.id} ({self.variant} {self.release} v{self.version}, {self.status})"

    def metadata(self) -> dict:
        """Everything but the id, as stored by providers that keep metadata as text."""
        return {"variant": self.variant, "release": self.release, "version": self.version,
                "status": self.status, "pinned": self.pinned, "artifacts": self.artifacts,
                "build": self.build, "created_at": self.created_at, "updated_at": self.updated_at}

    def to_json(self) -> dict:
        return {"id": self.id, **self.metadata(), "detail": self.detail}

    @classmethod
    def from_metadata(cls, template_id: str, data: dict, detail: dict | None = None) -> Template:
        return cls(id=str(template_id), variant=str(data["variant"]), release=str(data["release"]),
                   version=int(data["version"]), status=str(data["status"]), pinned=bool(data.get("pinned")),
                   artifacts=dict(data.get("artifacts") or {}), build=dict(data.get("build") or {}),
                   created_at=str(data.get("created_at", "")), updated_at=str(data.get("updated_at", "")),
                   detail=dict(detail or {}))


def encode_metadata(template: Template) -> str:
    return json.dumps(template.metadata(), sort_keys=True, separators=(",", ":"))


def of_line(templates: list[Template], variant: str, release: str) -> list[Template]:
    """The templates of one variant and release line, newest first."""
    return sorted((t for t in templates if t.variant == variant and t.release == release),
                  key=lambda t: t.version, reverse=True)


def newest(templates: list[Template], variant: str, release: str, status: str) -> Template | None:
    return next((t for t in of_line(templates, variant, release) if t.status == status), None)


def next_version(templates: list[Template], variant: str, release: str) -> int:
    return max((t.version for t in of_line(templates, variant, release)), default=0) + 1


@dataclass
class GcPlan:
    delete: list[tuple[Template, str]] = field(default_factory=list)
    keep: list[tuple[Template, str]] = field(default_factory=list)


def plan_gc(templates: list[Template], in_use: dict[str, list[str]], variant: str, release: str,
            keep: int) -> GcPlan:
    """Keep the newest ``keep`` verified templates of the line; never delete a pinned template,
    one a running environment was deployed from, the newest verified one, or a built one newer
    than it (it is waiting for its verify job). Everything else goes, with the reason."""
    if keep < 1:
        raise ValueError("keep at least 1 template")
    line = [t for t in of_line(templates, variant, release) if t.status in STATUSES]
    verified = [t for t in line if t.status == VERIFIED]
    newest_verified = verified[0].version if verified else 0
    plan = GcPlan()
    for template in line:
        if template.pinned:
            plan.keep.append((template, "pinned (golden)"))
        elif in_use.get(template.id):
            plan.keep.append((template, f"in use by {', '.join(sorted(in_use[template.id]))}"))
        elif template.status == VERIFIED and template.version == newest_verified:
            plan.keep.append((template, "newest verified"))
        elif template.status == VERIFIED and template in verified[:keep]:
            plan.keep.append((template, f"among the newest {keep} verified"))
        elif template.status == VERIFIED:
            plan.delete.append((template, f"older than the newest {keep} verified"))
        elif template.status == BUILT and template.version > newest_verified:
            plan.keep.append((template, "built, waiting for verification"))
        elif template.status == BUILT:
            plan.delete.append((template, "built but superseded by a newer verified template"))
        else:
            plan.delete.append((template, "failed verification"))
    return plan
