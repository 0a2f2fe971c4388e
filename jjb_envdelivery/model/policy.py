"""What a team's jobs may do in Jenkins beyond their own namespace, as the org file grants it.

Plain frozen data: the org loader (or a child updater's command line) fills it in, and
``jjb_envdelivery.policy`` judges each team scope's rendered XML against it. Deny by default:
whatever is not granted here is refused (README, "The job policy").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Labels no team may ever name: the controller's own (Jenkins.java:3316-3324 gives the built-in
# node the self-label "built-in", "master" before the rename). The updater's label is added per
# organisation (``TeamPolicy.forbidden_labels``).
CONTROLLER_LABELS = ("built-in", "master")

# A Java class name as the policy matches it (``hudson.plugins.groovy.SystemGroovy``, ``a.B$C``).
CLASS_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_$]*)+$")


class UnknownClasses:
    """The org file's ``policy.unknown-classes``: what happens to a plugin class the policy does not know."""

    REFUSE = "refuse"
    ALLOW = "allow"
    CHOICES = (REFUSE, ALLOW)


@dataclass(frozen=True)
class ClassException:
    """A class the policy refuses (or does not know), granted to one project by the org file."""

    class_name: str
    reason: str


@dataclass(frozen=True)
class Allowances:
    """The org file's ``projects[].allow``.

    `agent_labels`: labels the project's jobs may run on (each job names exactly one with `node`).
    Empty: the jobs name no label and run on any agent.
    `credentials`: credential IDs the jobs may reference. `upstreams`: full names of jobs outside
    the namespace that the jobs' triggers and artifact copies may reach. `classes`: exceptions.
    """

    agent_labels: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()
    upstreams: tuple[str, ...] = ()
    classes: tuple[ClassException, ...] = ()


@dataclass(frozen=True)
class TeamPolicy:
    """Everything the policy needs to judge one team scope: its grants, the org's choice on
    unknown classes, and the updater's label and credential (never usable by a team)."""

    allow: Allowances = field(default_factory=Allowances)
    unknown_classes: str = UnknownClasses.REFUSE
    updater_label: str | None = None
    updater_credential: str | None = None

    @property
    def forbidden_labels(self) -> tuple[str, ...]:
        return CONTROLLER_LABELS + ((self.updater_label,) if self.updater_label else ())
