"""The job policy: what a team's rendered jobs may do in Jenkins (DESIGN.md, "Trust").

Applied in one place, ``render.render_scope``, which ``render``, ``graph``, ``plan``, ``update``
and the root updater's graph check all go through, so they agree. Deny by default: controller
code, permission changes, agents, credentials and other jobs beyond what the org file grants
the project are refused, each naming the YAML file and line, the job and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import EnvDeliveryError
from ..model.organisation import Namespace
from ..model.policy import TeamPolicy
from .check import Finding, Judgement, judge_item
from .classes import Rule

__all__ = ["Finding", "Judgement", "PolicyError", "Rule", "enforce", "judge_scope"]

# Enough refusals to act on; the rest are counted.
SHOWN_REFUSALS = 20


class PolicyError(EnvDeliveryError):
    """A team scope's jobs do what the org file does not grant its project."""


def judge_scope(project: str, namespace: Namespace, policy: TeamPolicy, items: Iterable) -> Judgement:
    """Every refusal and notice for a scope's rendered items (``RenderedItem``s)."""
    items = list(items)
    own = frozenset(item.name.lower() for item in items if item.kind != "view")  # jjb.rendered.ItemKind.VIEW
    judgement = Judgement([], [])
    for item in items:
        found = judge_item(item.name, item.source, item.output(), namespace, policy, project, own)
        judgement.refused.extend(found.refused)
        judgement.notices.extend(found.notices)
    return judgement


def _grouped(refused: list[Finding]) -> list[str]:
    """One line per refusal made at one place for one reason, naming the jobs it applies to
    (a template refused once is refused for every job it expands to)."""
    groups: dict[tuple[str, Rule, str], list[str]] = {}
    for finding in refused:
        groups.setdefault((finding.source, finding.rule, finding.message), []).append(finding.job)
    lines = []
    for (source, rule, message), jobs in list(groups.items())[:SHOWN_REFUSALS]:
        where = f"{source}: " if source else ""
        named = jobs[0] if len(jobs) == 1 else f"{jobs[0]} and {len(jobs) - 1} more job(s)"
        lines.append(f"  {where}{named}: [{rule}] {message}")
    if len(groups) > SHOWN_REFUSALS:
        lines.append(f"  ... and {len(groups) - SHOWN_REFUSALS} more")
    return lines


def enforce(project: str, namespace: Namespace, policy: TeamPolicy, items: Iterable) -> list[str]:
    """``judge_scope``, raising ``PolicyError`` if anything is refused; returns the notices
    (exceptions and unknown classes the org lets through), once per class, for the caller to show."""
    judgement = judge_scope(project, namespace, policy, items)
    if judgement.refused:
        raise PolicyError(f"scope {project}: the job policy refuses what its jobs would do "
                          "(README, \"The job policy\"):\n" + "\n".join(_grouped(judgement.refused)))
    notices: dict[str, str] = {}
    for notice in judgement.notices:
        notices.setdefault(notice.message, f"scope {project}: {notice}")
    return list(notices.values())
