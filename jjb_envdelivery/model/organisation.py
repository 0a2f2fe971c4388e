"""The organisation, as the org file (delivery.yaml) describes it.

Plain frozen data: loading and checking live in ``model.loader``; what jobs it implies
lives in ``generator``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from .policy import Allowances, TeamPolicy, UnknownClasses

NIGHTLY = "H H(0-5) * * *"

# Names become parts of Jenkins job names, branches of paths and CLI arguments: keep them
# to characters every one of those accepts without quoting. The org loader and the JJB
# builders (which take names the root scope baked in) check with these.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*[._-]$")

# Build timeouts, in minutes. The build-timeout plugin raises an absolute timeout below 3 minutes
# to 3 without a word (build-timeout-plugin AbsoluteTimeOutStrategy.java:36-44 with
# BuildTimeoutWrapper.java:46), so the org file refuses anything shorter instead.
MIN_BUILD_TIMEOUT = 3
DEFAULT_BUILD_TIMEOUT = 60


@dataclass(frozen=True)
class GitRepo:
    url: str
    branch: str
    # A directory standing in for a checkout of this repo (examples, tests, offline renders).
    local_checkout: Path | None = None
    # The Jenkins credential the git plugin clones with; None clones anonymously.
    credential_id: str | None = None


# The root scope's name: what the root updater's owner marks say, so no project may take it.
ROOT_SCOPE = "root"

# A project's `ci`: its services' CI jobs are freestyle (envdelivery-service) or Pipeline
# (envdelivery-pipeline-service) jobs.
CI_FREESTYLE, CI_PIPELINE = "freestyle", "pipeline"
CI_KINDS = (CI_FREESTYLE, CI_PIPELINE)

# Nightly, like the environment builds.
DEFAULT_DRIFT_CHECK = NIGHTLY


@dataclass(frozen=True)
class Updater:
    label: str
    credential_id: str
    poll: str
    build_timeout: int = DEFAULT_BUILD_TIMEOUT
    # When the drift-check job compares every scope's live items with git (a Jenkins cron spec).
    drift_check: str = DEFAULT_DRIFT_CHECK


@dataclass(frozen=True)
class ReleaseLine:
    name: str
    branch: str


class NamespaceKind(StrEnum):
    FOLDER = "folder"
    PREFIX = "prefix"


@dataclass(frozen=True)
class Namespace:
    """Where a project's jobs live: in a folder, or at the top level under a name prefix."""

    kind: NamespaceKind
    value: str

    def __post_init__(self):
        object.__setattr__(self, "kind", NamespaceKind(self.kind))

    @classmethod
    def of_job_prefix(cls, prefix: str) -> Namespace:
        """The namespace whose ``job_prefix`` is `prefix` (``compute/`` or ``portal-``)."""
        if prefix.endswith("/"):
            return cls(NamespaceKind.FOLDER, prefix[:-1])
        return cls(NamespaceKind.PREFIX, prefix)

    @property
    def job_prefix(self) -> str:
        """What every job name of the namespace starts with."""
        return f"{self.value}/" if self.kind == NamespaceKind.FOLDER else self.value

    def contains(self, job_name: str) -> bool:
        """Segment-wise (the stage checks every name of a team scope with it): a
        folder holds names whose first segment is the folder and that have an item below it
        (not ``compute-evil/x``, not ``compute`` itself); a prefix holds a top-level name that
        starts with it (not ``portal-x/y``). A path step (``compute/../identity/x``) or an
        empty segment names no item, so nothing holds it."""
        segments = job_name.split("/")
        if any(segment in ("", ".", "..") for segment in segments):
            return False
        if self.kind == NamespaceKind.FOLDER:
            return segments[0] == self.value and len(segments) > 1
        return len(segments) == 1 and job_name.startswith(self.value)

    def rule(self) -> str:
        """What ``contains`` asks of a name, as refusals say it (the stage's and the plan's)."""
        if self.kind == NamespaceKind.FOLDER:
            return (f"every name must start with {self.job_prefix!r} and name an item inside that folder "
                    "(not the folder itself, no empty, '.' or '..' segment)")
        return f"every name must start with {self.job_prefix!r} and lie at the top level (no '/')"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Project:
    name: str
    description: str
    repo: GitRepo
    jobs_path: str
    namespace: Namespace
    services: tuple[str, ...]
    # What its jobs may use beyond its namespace (``projects[].allow``; see model.policy).
    allow: Allowances = field(default_factory=Allowances)
    # ``projects[].renamed-from``: the project's former name. Its scope takes over the items the
    # former scope owns in its namespace (``--adopt-from``), and the root renames the former folder.
    renamed_from: str | None = None
    # ``projects[].ci``: the kind of CI job its services use (CI_KINDS). The delivery pipeline
    # views start a Pipeline team's services at the package job: that view shows freestyle jobs only.
    ci: str = CI_FREESTYLE


@dataclass(frozen=True)
class CredentialBinding:
    """A Jenkins credential bound to environment variables by the credentials-binding plugin.

    `kind` is JJB's ``credentials-binding`` type (e.g. ``username-password-separated``);
    `variables` pairs each of that type's variable options (``username``, ``password``,
    ``variable``) with the environment variable it sets."""

    kind: str
    credential_id: str
    variables: tuple[tuple[str, str], ...]

    def jjb(self) -> dict:
        """One entry of JJB's ``credentials-binding`` wrapper list."""
        return {self.kind: {"credential-id": self.credential_id, **dict(self.variables)}}


@dataclass(frozen=True)
class ProviderConfig:
    """The org file's choice of environment provider; `settings` are checked against what the
    provider declares, with defaults filled in (see ``model.settings``). `credential` is the
    Jenkins credential the environment jobs bind for it, when the provider reads one."""

    name: str
    settings: dict = field(default_factory=dict, hash=False, compare=False)
    credential: CredentialBinding | None = None


@dataclass(frozen=True)
class ProvisioningTool:
    service: str
    artifact: str
    command: str


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    services: tuple[str, ...]
    schedule: str
    retain: int
    validate: tuple[str, ...]
    release_lines: tuple[str, ...]
    build_timeout: int = DEFAULT_BUILD_TIMEOUT
    # The Compose file describing the variant's environment (container provider), absolute.
    compose: Path | None = None


@dataclass(frozen=True)
class Environments:
    agent_label: str
    provider: ProviderConfig
    provisioning_tool: ProvisioningTool
    variants: tuple[Variant, ...]
    # The custom-environment jobs' timeout; each variant has its own for its jobs.
    build_timeout: int = DEFAULT_BUILD_TIMEOUT
    # The service stage whose builds start a variant's env build (the provider's BUILDS_AFTER):
    # "package" where the tool installs packages, "deliver" where environments pull delivered images.
    builds_after: str = "package"


@dataclass(frozen=True)
class Organisation:
    name: str
    org_file: Path
    jobs_repo: GitRepo
    root_folder: str
    updater: Updater
    release_lines: tuple[ReleaseLine, ...]
    projects: tuple[Project, ...]
    environments: Environments | None
    # The org-wide default: the teams' jobs get it (context defaults); the updaters and the
    # environment jobs get it unless their own section overrides it.
    build_timeout: int = DEFAULT_BUILD_TIMEOUT
    # ``policy.unknown-classes``: whether team jobs may use plugin classes the policy does not know.
    unknown_classes: str = UnknownClasses.REFUSE
    # ``limits``: overrides of the bounds on a team scope's work (jjb.limits.Limits), by field name.
    limits: tuple[tuple[str, int | float], ...] = ()

    def team_policy(self, project: Project) -> TeamPolicy:
        """What the job policy judges `project`'s rendered jobs against. The credential its
        repository is cloned with is granted with the rest: its CI jobs clone the same repository."""
        allow = project.allow
        own = project.repo.credential_id
        if own and own not in allow.credentials and own != self.updater.credential_id:
            allow = replace(allow, credentials=(*allow.credentials, own))
        return TeamPolicy(allow=allow, unknown_classes=self.unknown_classes,
                          updater_label=self.updater.label, updater_credential=self.updater.credential_id)

    @property
    def org_dir(self) -> Path:
        return self.org_file.parent

    def project(self, name: str) -> Project:
        for project in self.projects:
            if project.name == name:
                return project
        known = ", ".join(p.name for p in self.projects)
        raise KeyError(f"no project {name!r} in {self.org_file} (projects: {known})")

    def owner_of(self, service: str) -> Project:
        for project in self.projects:
            if service in project.services:
                return project
        raise KeyError(f"no project owns service {service!r}")

    def release_line(self, name: str) -> ReleaseLine:
        for line in self.release_lines:
            if line.name == name:
                return line
        known = ", ".join(r.name for r in self.release_lines)
        raise KeyError(f"no release line {name!r} in {self.org_file} (release lines: {known})")
