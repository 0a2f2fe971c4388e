"""A stored job's config.xml, read into what the runner executes; anything it does not
implement is refused here, by its element, before any build of the job starts.

Freestyle jobs (``<project>``, core Items.java:767) and Pipeline jobs (``<flow-definition>``,
workflow-job's WorkflowJob: ``pipeline_job``) run. Freestyle fields
(AbstractProject.java:147-249, Project.java:72-86) are read as XStream reads them: unknown
elements are old data and ignored, as Jenkins ignores them (jenkins-plugin-semantics.md §2);
known fields the runner does not implement are refused unless they hold their do-nothing value.
``quietPeriod``, ``blockBuildWhen…Building`` and ``concurrentBuild`` need nothing: the runner
takes queued builds at once, one at a time.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .artifacts import parse_artifact_archiver, parse_copy_artifact, parse_fingerprinter
from .errors import RunnerError
from .git_scm import GIT_SCM, GitScm, parse_git_scm
from .junit import parse_junit
from .pipeline_job import WorkflowJobConfig, parse_workflow_job
from .properties import Properties, parse_properties
from .shell import parse_shell
from .triggers import BUILD_TRIGGER, ChildProjects, Triggers, parse_build_trigger, parse_triggers
from .wrappers import (
    parse_build_timeout,
    parse_pre_build_cleanup,
    parse_secret_wrapper,
    parse_timestamper,
)
from .xml_fields import flag, refuse_unless_default, text

Parser = Callable[[ET.Element, str], Any]

BUILDERS: dict[str, Parser] = {
    "hudson.tasks.Shell": parse_shell,
    "hudson.plugins.copyartifact.CopyArtifact": parse_copy_artifact,
}
PUBLISHERS: dict[str, Parser] = {
    "hudson.tasks.ArtifactArchiver": parse_artifact_archiver,
    "hudson.tasks.Fingerprinter": parse_fingerprinter,
    "hudson.tasks.junit.JUnitResultArchiver": parse_junit,
    BUILD_TRIGGER: parse_build_trigger,
}
WRAPPERS: dict[str, Parser] = {
    "hudson.plugins.timestamper.TimestamperBuildWrapper": parse_timestamper,
    "org.jenkinsci.plugins.credentialsbinding.impl.SecretBuildWrapper": parse_secret_wrapper,
    "hudson.plugins.build__timeout.BuildTimeoutWrapper": parse_build_timeout,
    "hudson.plugins.ws__cleanup.PreBuildCleanup": parse_pre_build_cleanup,
}
NULL_SCM = "hudson.scm.NullSCM"


@dataclass(frozen=True)
class JobConfig:
    job: str
    disabled: bool
    can_roam: bool
    assigned_node: str | None
    properties: Properties
    scm: GitScm | None
    triggers: Triggers
    wrappers: tuple[Any, ...]
    builders: tuple[Any, ...]
    publishers: tuple[Any, ...]

    @property
    def child_projects(self) -> list[ChildProjects]:
        return [p for p in self.publishers if isinstance(p, ChildProjects)]


def parse_job(job: str, config: str) -> JobConfig | WorkflowJobConfig:
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise RunnerError(f"{job}: config.xml is not well-formed: {exc}") from None
    if root.tag == "flow-definition":
        return parse_workflow_job(job, root)
    if root.tag != "project":
        raise RunnerError(f"{job}: <{root.tag}>: the job runner runs freestyle jobs (<project>) "
                          f"and Pipeline jobs (<flow-definition>) only")
    refuse_unless_default(root, job, "project", {
        "customWorkspace": ("",), "jdk": ("", "(System)", "(Default)"),
        "scmCheckoutRetryCount": ("", "0"),
    })
    for tag in ("logRotator", "scmCheckoutStrategy"):
        if root.find(tag) is not None:
            raise RunnerError(f"{job}: project/{tag}: not implemented by the job runner")
    assigned = text(root, "assignedNode")
    scm_el = root.find("scm")
    return JobConfig(
        job=job,
        disabled=flag(root, "disabled"),
        # a missing canRoam loads as false (XStream: no field initialiser runs, §2)
        can_roam=flag(root, "canRoam"),
        assigned_node=assigned.strip() if assigned is not None else None,
        properties=parse_properties(root.find("properties"), job),
        scm=_scm(scm_el, job),
        triggers=parse_triggers(root.find("triggers"), job),
        wrappers=_components(root, "buildWrappers", WRAPPERS, job),
        builders=_components(root, "builders", BUILDERS, job),
        publishers=_components(root, "publishers", PUBLISHERS, job),
    )


def _scm(el: ET.Element | None, job: str) -> GitScm | None:
    cls = el.get("class", NULL_SCM) if el is not None else NULL_SCM
    if cls == NULL_SCM:
        return None
    if cls == GIT_SCM:
        assert el is not None
        return parse_git_scm(el, job)
    raise RunnerError(f"{job}: scm class={cls!r}: this SCM is not implemented by the job runner "
                      f"(implemented: {GIT_SCM}, {NULL_SCM})")


def _components(root: ET.Element, section: str, known: dict[str, Parser], job: str) -> tuple:
    holder = root.find(section)
    out = []
    for el in list(holder) if holder is not None else []:
        parse = known.get(el.tag)
        if parse is None:
            raise RunnerError(f"{job}: {section}/{el.tag}: not implemented by the job runner "
                              f"(implemented: {', '.join(sorted(known))})")
        out.append(parse(el, job))
    return tuple(out)
