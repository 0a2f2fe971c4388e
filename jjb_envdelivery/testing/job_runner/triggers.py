"""Triggers and the downstream builds they start.

- ``jenkins.triggers.ReverseBuildTrigger`` (core ReverseBuildTrigger.java:90-92, 128-180):
  ``upstreamProjects`` is a comma list resolved from the downstream job's folder
  (``Items.fromNameList``: trimmed, unresolvable names and non-jobs dropped, full-name fallback;
  ``jenkins_names.split_names`` and ``ItemIndex.resolve``); it fires when the upstream result is
  at least ``threshold``, read by its ``ordinal`` only (core Result.java:187-192).
- ``hudson.tasks.BuildTrigger`` (publisher; core BuildTrigger.java:100-108, 158-166): the
  upstream names its ``childProjects``, resolved from its own folder, with a ``threshold``.
- Both feed the dependency graph; when a build ends, ``BuildTrigger.execute``
  (BuildTrigger.java:254-300) schedules each downstream in topological order with an
  ``UpstreamCause``, skipping disabled ones ("… is disabled. Triggering skipped") and folding
  into a waiting queue item ("… is already in the queue"). Builds run as SYSTEM, which sees
  every job, so the permission checks of §6.1 always pass.
- ``hudson.triggers.SCMTrigger`` → ``JobRunner.poll``; ``hudson.triggers.TimerTrigger`` →
  ``JobRunner.fire_timer``: their schedules (``spec``) are not kept; the caller decides when.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .errors import RunnerError
from .results import threshold_from_xml
from .xml_fields import text

SCM_TRIGGER = "hudson.triggers.SCMTrigger"
TIMER_TRIGGER = "hudson.triggers.TimerTrigger"
REVERSE_TRIGGER = "jenkins.triggers.ReverseBuildTrigger"
BUILD_TRIGGER = "hudson.tasks.BuildTrigger"


@dataclass(frozen=True)
class Triggers:
    scm: bool = False
    timer: bool = False
    upstream: tuple[tuple[str, str], ...] = ()  # (upstreamProjects text, threshold)


def parse_triggers(el: ET.Element | None, job: str) -> Triggers:
    found: dict[str, Any] = {"upstream": []}
    for trigger in list(el) if el is not None else []:
        if trigger.tag == SCM_TRIGGER:
            found["scm"] = True
        elif trigger.tag == TIMER_TRIGGER:
            found["timer"] = True
        elif trigger.tag == REVERSE_TRIGGER:
            found["upstream"].append((text(trigger, "upstreamProjects") or "",
                                      _threshold(trigger)))
        else:
            raise RunnerError(f"{job}: triggers/{trigger.tag}: this trigger is not implemented "
                              f"by the job runner (implemented: {SCM_TRIGGER}, {TIMER_TRIGGER}, "
                              f"{REVERSE_TRIGGER})")
    found["upstream"] = tuple(found["upstream"])
    return Triggers(**found)


def _threshold(el: ET.Element) -> str:
    threshold = el.find("threshold")
    if threshold is None:
        return "SUCCESS"  # the field's default (ReverseBuildTrigger.java:92)
    return threshold_from_xml(text(threshold, "ordinal"))


@dataclass(frozen=True)
class ChildProjects:
    """``hudson.tasks.BuildTrigger`` in ``publishers``: nothing to do in the build itself
    (freestyle children are scheduled through the dependency graph, BuildTrigger.java:186-190)."""

    child_projects: str
    threshold: str

    display_name = "Build other projects"

    def run(self, ctx: Any) -> None:
        pass


def parse_build_trigger(el: ET.Element, job: str) -> ChildProjects:
    return ChildProjects(child_projects=text(el, "childProjects") or "",
                         threshold=_threshold(el))


def topological(names: list[str], edges: dict[str, set[str]]) -> list[str]:
    """``names`` ordered so that a job comes before the jobs downstream of it (the order
    ``DependencyGraph.compare`` gives ``BuildTrigger.execute``); ties by name."""
    remaining = sorted(set(names))
    reach: dict[str, set[str]] = {}

    def reachable(start: str) -> set[str]:
        if start not in reach:
            seen: set[str] = set()
            stack = [start]
            while stack:
                for nxt in edges.get(stack.pop(), ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
            reach[start] = seen
        return reach[start]

    ordered: list[str] = []
    while remaining:
        # the first job (by name) that no other remaining job leads to, or a cycle's first
        pick = next((n for n in remaining
                     if not any(n in reachable(m) for m in remaining if m != n)), remaining[0])
        ordered.append(pick)
        remaining.remove(pick)
    return ordered
