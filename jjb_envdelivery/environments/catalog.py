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

    @property
    def services(self) -> dict:
        """The bill of materials: every service (the provisioning tool included) with what identifies
        its build, sorted by name; see ``service_entry``."""
        return {name: service_entry(self.artifacts[name]) for name in sorted(self.artifacts, key=str)}

    def to_json(self) -> dict:
        # "artifacts" as stored, for compatibility; "services" is the same, normalised (service_entry).
        return {"id": self.id, **self.metadata(), "services": self.services, "detail": self.detail}

    @classmethod
    def from_metadata(cls, template_id: str, data: dict, detail: dict | None = None) -> Template:
        return cls(id=str(template_id), variant=str(data["variant"]), release=str(data["release"]),
                   version=int(data["version"]), status=str(data["status"]), pinned=bool(data.get("pinned")),
                   artifacts=dict(data.get("artifacts") or {}), build=dict(data.get("build") or {}),
                   created_at=str(data.get("created_at", "")), updated_at=str(data.get("updated_at", "")),
                   detail=dict(detail or {}))


# A service's entry in a bill of materials, in this order: its version, and when recorded the image
# digest and reference (container providers), the file's sha256 and name (the provisioning tool's
# artifact) and the source commit.
SERVICE_FIELDS = ("version", "digest", "image", "sha256", "file", "commit")
# What identifies a build of a service: two templates whose entries differ in any of these have
# different builds of it. ``image`` and ``file`` only name where it came from.
IDENTITY_FIELDS = ("version", "digest", "sha256", "commit")


def service_entry(recorded) -> dict:
    """{"version": ..., and those of the other SERVICE_FIELDS that were recorded}, from what a
    template's ``artifacts`` holds for the service (a bare version is taken as one)."""
    if not isinstance(recorded, dict):
        return {"version": recorded}
    entry = {"version": recorded.get("version")}
    entry.update((key, recorded[key]) for key in SERVICE_FIELDS[1:] if recorded.get(key) not in (None, ""))
    return entry


@dataclass
class ServicesDiff:
    """How the bill of materials of template ``to_id`` differs from that of ``from_id``."""

    from_id: str
    to_id: str
    added: dict = field(default_factory=dict)  # name -> entry: in `to` only
    removed: dict = field(default_factory=dict)  # name -> entry: in `from` only
    changed: dict = field(default_factory=dict)  # name -> {"from": entry, "to": entry}
    unchanged: list = field(default_factory=list)  # names

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_json(self) -> dict:
        return {"from": self.from_id, "to": self.to_id, "added": self.added, "removed": self.removed,
                "changed": self.changed, "unchanged": self.unchanged}

    def report(self) -> list[str]:
        """One line per added, removed and changed service (in that order, each by name), then
        the count of unchanged ones."""
        rows = [("added", name, _describe(entry)) for name, entry in self.added.items()]
        rows += [("removed", name, _describe(entry)) for name, entry in self.removed.items()]
        rows += [("changed", name, _describe_change(c["from"], c["to"])) for name, c in self.changed.items()]
        width = max((len(name) for _, name, _ in rows), default=0)
        lines = [f"{kind:<7}  {name:<{width}}  {what}".rstrip() for kind, name, what in rows]
        count = len(self.unchanged)
        lines.append(f"unchanged: {count} service{'' if count == 1 else 's'}")
        return lines


def diff_services(a: Template, b: Template) -> ServicesDiff:
    """What changed in the services from template ``a`` to template ``b``: a service is changed
    when any of IDENTITY_FIELDS differs, a value recorded on one side only included."""
    before, after = a.services, b.services
    diff = ServicesDiff(from_id=a.id, to_id=b.id)
    for name in sorted({*before, *after}, key=str):
        if name not in before:
            diff.added[name] = after[name]
        elif name not in after:
            diff.removed[name] = before[name]
        elif any(before[name].get(key) != after[name].get(key) for key in IDENTITY_FIELDS):
            diff.changed[name] = {"from": before[name], "to": after[name]}
        else:
            diff.unchanged.append(name)
    return diff


def _short(value, prefix: str = "") -> str:
    """A digest, sha256 or commit as a human reads it: ``sha256:`` and 12 hex digits."""
    if value in (None, ""):
        return "none"
    text = str(value)
    if prefix and ":" not in text:
        text = prefix + text
    algorithm, sep, rest = text.rpartition(":")
    return f"{algorithm}{sep}{rest[:12]}…" if len(rest) > 12 else text


def _version(entry: dict) -> str:
    return "?" if entry.get("version") in (None, "") else str(entry["version"])


def _describe(entry: dict) -> str:
    if entry.get("digest"):
        return f"{_version(entry)} ({_short(entry['digest'])})"
    if entry.get("sha256"):
        return f"{_version(entry)} ({_short(entry['sha256'], 'sha256:')})"
    return _version(entry)


def _describe_change(before: dict, after: dict) -> str:
    old, new = _version(before), _version(after)
    text = old if old == new else f"{old} -> {new}"
    notes = []
    for key, prefix, label in (("digest", "", ""), ("sha256", "sha256:", ""), ("commit", "", "commit ")):
        if before.get(key) != after.get(key):
            notes.append(f"{label}{_short(before.get(key), prefix)} -> {_short(after.get(key), prefix)}")
    return text + "".join(f" ({note})" for note in notes)


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
