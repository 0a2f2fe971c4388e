"""Pipeline jobs (``<flow-definition>``, workflow-job's ``WorkflowJob``) in the job runner: their
config, where a build's script comes from, which agent runs it, and how the job polls.

Sources (snapshots: workflow-job @ cef6baef, workflow-cps @ e007b7ff, git-plugin @ add6e4dc,
core @ ff9430ee; paths under src/main/java/ unless said otherwise):

- ``WorkflowJob`` fields (org/jenkinsci/plugins/workflow/job/WorkflowJob.java:115-134):
  ``definition``, the legacy ``triggers`` (moved into ``PipelineTriggersJobProperty`` on load,
  :155-157), ``quietPeriod``, ``authToken``, the legacy ``concurrentBuild`` (moved into
  ``DisableConcurrentBuildsJobProperty``, :158-160), ``disabled``; plus ``Job``'s
  ``properties``, ``description``, ``keepDependencies``. Unknown elements are old data and
  ignored, as XStream does (``<sandbox>`` in a ``CpsScmFlowDefinition``: the class has no such
  field, CpsScmFlowDefinition.java:76-78). The runner takes queued builds at once, one at a time,
  so ``quietPeriod``, ``DisableConcurrentBuildsJobProperty`` (also with ``abortPrevious``: builds
  never overlap here), ``DurabilityHintJobProperty`` and ``DisableResumeJobProperty`` change
  nothing.
- ``CpsScmFlowDefinition.create`` (workflow-cps plugin/src/main/java/org/jenkinsci/plugins/
  workflow/cps/CpsScmFlowDefinition.java:110-210): ``scriptPath`` expanded with the build's
  environment (:121); lightweight: the file is read through ``SCMFileSystem`` ("Obtained <path>
  from git <url>", a missing file aborts with "Unable to find <path> from git <url>", :122-135),
  which git supports for one remote and one branch spec of the forms ``refs/heads/x``, ``x``,
  ``*/x`` (or tags), never ``*`` (git jenkins/plugins/git/GitSCMFileSystem.java:259-273); it
  fetches ``+refs/heads/<x>:refs/remotes/<remote>/<x>`` into a cache on the controller
  (:363-412), i.e. reads the branch head of the remote, without a line in the build log besides
  "Obtained …". Otherwise ("Lightweight checkout support not available, falling back to full
  checkout.") the SCM is checked out on the controller into ``<workspace>@script/<mac of the
  SCM key>`` (:142-202) as a checkout of the build (it records git's BuildData, and a
  polling baseline), and the script must resolve inside that directory (:190-199).
  ``CpsFlowDefinition`` (an inline ``<script>``) runs only with ``<sandbox>true</sandbox>`` here
  (without it Jenkins wants an administrator's approval of the script). Scripts read from SCM
  always run in the sandbox; the runner's Declarative subset (``declarative``) has nothing the
  sandbox refuses (its methods are in script-security's generic-whitelist:224, 279-283, 1231,
  1235, 1393, 1397; casts to primitives and String need no approval, groovy-sandbox
  Checker.java:909-912).
- ``WorkflowJob.poll`` (WorkflowJob.java:621-705): a disabled job does not poll; no build yet →
  build now, unless the job already waits in the queue; otherwise the checkouts recorded by the
  last successful build (else the last build) are polled, each through its SCM
  (``GitSCM.compareRemoteRevisionWith``, git GitSCM.java:698-830, against the BuildData of the
  job's last build); a build that checked nothing out gives nothing to poll, so the job is never
  started by polling again. ``getSCMs`` (:588-607) is the definition's SCM plus those checkouts;
  here every checkout is of the definition's SCM (``checkout scm``, the implicit Declarative
  checkout, a heavyweight script checkout), so a build "checked out" exactly when it recorded
  BuildData.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .declarative import CompileError, GroovyError, Pipeline, Scope, evaluate, parse, to_string
from .errors import RunnerError, StepAbort
from .git_scm import GIT_SCM, GitScm, checkout, parse_git_scm
from .labels import BUILT_IN, Agent, parse_label
from .properties import Properties, parse_properties
from .triggers import Triggers, parse_triggers
from .xml_fields import expand, flag, text

WORKFLOW_RUN = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
CPS_SCM = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
CPS_INLINE = "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
JOB_PROPERTIES = "org.jenkinsci.plugins.workflow.job.properties."
PIPELINE_TRIGGERS = JOB_PROPERTIES + "PipelineTriggersJobProperty"
# WorkflowJob properties that change nothing a build does in the runner (see the docstring)
_NO_EFFECT = {JOB_PROPERTIES + "DisableConcurrentBuildsJobProperty",
              JOB_PROPERTIES + "DurabilityHintJobProperty",
              JOB_PROPERTIES + "DisableResumeJobProperty"}
# GitSCMFileSystem.BuilderImpl.supports (GitSCMFileSystem.java:265-270)
_LIGHTWEIGHT_HEADS = r"^((refs/heads/.*)|([^/]+)|(\*/[^/*]+(/[^/*]+)*))$"
_LIGHTWEIGHT_TAGS = r"^((refs/tags/.*)|([^/]+)|(\*/[^/*]+(/[^/*]+)*))$"


@dataclass(frozen=True)
class ScmDefinition:
    """``CpsScmFlowDefinition``."""

    scm: GitScm
    script_path: str
    lightweight: bool


@dataclass(frozen=True)
class InlineDefinition:
    """``CpsFlowDefinition`` with the sandbox."""

    script: str


@dataclass(frozen=True)
class WorkflowJobConfig:
    job: str
    disabled: bool
    properties: Properties
    triggers: Triggers
    definition: ScmDefinition | InlineDefinition

    @property
    def scm(self) -> GitScm | None:
        """The definition's SCM (what ``getSCMs`` starts from)."""
        return self.definition.scm if isinstance(self.definition, ScmDefinition) else None


def job_properties(root: ET.Element, job: str) -> tuple[Properties, list[ET.Element]]:
    """A WorkflowJob's properties: the ones freestyle jobs have too (``properties``), and the
    PipelineTriggersJobProperty's ``triggers``."""
    plain = ET.Element("properties")
    trigger_els: list[ET.Element] = []
    holder = root.find("properties")
    for prop in list(holder) if holder is not None else []:
        if prop.tag == PIPELINE_TRIGGERS:
            found = prop.find("triggers")
            if found is not None:
                trigger_els.append(found)
        elif prop.tag not in _NO_EFFECT:
            plain.append(prop)
    return parse_properties(plain, job), trigger_els


def parse_workflow_job(job: str, root: ET.Element) -> WorkflowJobConfig:
    """``<flow-definition>``: refuses, by element, what the runner does not implement."""
    properties, trigger_els = job_properties(root, job)
    legacy = root.find("triggers")  # WorkflowJob.triggers, moved into the property on load
    if legacy is not None:
        trigger_els.append(legacy)
    scm = timer = False
    upstream: list[tuple[str, str]] = []
    for el in trigger_els:
        parsed = parse_triggers(el, job)
        scm, timer = scm or parsed.scm, timer or parsed.timer
        upstream += parsed.upstream
    return WorkflowJobConfig(
        job=job, disabled=flag(root, "disabled"),
        properties=properties,
        triggers=Triggers(scm=scm, timer=timer, upstream=tuple(upstream)),
        definition=_definition(root.find("definition"), job))


def _definition(el: ET.Element | None, job: str) -> ScmDefinition | InlineDefinition:
    if el is None:
        # Jenkins would start a build that fails at once, "No flow definition, cannot run"
        # (WorkflowRun.java:336-339): a job nobody configured; refused like other gaps
        raise RunnerError(f"{job}: <flow-definition>: no <definition>: the job runner runs "
                          f"freestyle jobs and Pipeline jobs with a script ({CPS_SCM}, "
                          f"{CPS_INLINE}); Jenkins would fail the build with \"No flow "
                          f"definition, cannot run\"")
    cls = el.get("class", "")
    if cls == CPS_SCM:
        scm_el = el.find("scm")
        scm_cls = scm_el.get("class", "") if scm_el is not None else ""
        if scm_el is None or scm_cls != GIT_SCM:
            raise RunnerError(f"{job}: definition[CpsScmFlowDefinition]/scm class={scm_cls!r}: "
                              f"this SCM is not implemented by the job runner (implemented: "
                              f"{GIT_SCM})")
        return ScmDefinition(scm=parse_git_scm(scm_el, job),
                             script_path=text(el, "scriptPath") or "",
                             lightweight=flag(el, "lightweight"))
    if cls == CPS_INLINE:
        if not flag(el, "sandbox"):
            raise RunnerError(f"{job}: definition[CpsFlowDefinition]/sandbox false: a script "
                              f"outside the sandbox needs an administrator's approval; not "
                              f"implemented by the job runner (it runs sandboxed scripts)")
        return InlineDefinition(script=text(el, "script") or "")
    raise RunnerError(f"{job}: definition class={cls!r}: this flow definition is not implemented "
                      f"by the job runner (implemented: {CPS_SCM}, {CPS_INLINE})")


# --- the build's script ------------------------------------------------------------------------


class LineBuffer:
    """A console stand-in for what a build prints before its log exists (the script's checkout
    runs while the runner decides whether it can run the build at all)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def write(self, text: str) -> None:
        chunks = (self._partial + text).split("\n")
        self._partial = chunks.pop()
        self.lines.extend(chunks)

    def error(self, message: str) -> None:
        self.line("ERROR: " + message)


@dataclass
class PreparedBuild:
    """What ``WorkflowRun.run`` knows once ``FlowDefinition.create`` returned (or failed), and
    the agent the script's top-level ``agent`` asks for."""

    path: str  # the script's path, for messages
    text: str | None = None
    pipeline: Pipeline | None = None
    has_scm: bool = False  # the `scm` variable exists (CpsScmFlowDefinition)
    compile_error: CompileError | None = None
    lines: list[str] = field(default_factory=list)  # printed by create()
    error: BaseException | None = None  # create() failed: StepAbort or GroovyError
    scm_data: dict[str, Any] | None = None  # a heavyweight script checkout's BuildData
    scm_workspace: Path | None = None
    label: str | None = None  # the evaluated agent label; None: any agent
    label_error: GroovyError | None = None


def scm_key(scm: GitScm) -> str:
    """``GitSCM.getKey``: "git" and each remote URL (GitSCM.java:1959-1971)."""
    return f"git {scm.url}"


def lightweight_supported(scm: GitScm) -> bool:
    """``GitSCMFileSystem.BuilderImpl.supports(SCM)`` (GitSCMFileSystem.java:259-273)."""
    if len(scm.branches) != 1:
        return False
    name = scm.branches[0]
    return name != "*" and (re.match(_LIGHTWEIGHT_HEADS, name) is not None
                            or re.match(_LIGHTWEIGHT_TAGS, name) is not None)


def prepare(runner: Any, config: WorkflowJobConfig, number: int, run_env: dict[str, str],
            params: dict[str, Any]) -> PreparedBuild:
    """``FlowDefinition.create`` and the top-level agent's label. ``RunnerError`` when the script
    is outside the runner's subset or no agent matches its label: nothing of the build exists
    yet. A failure Jenkins reports in the build (no such file, a compile error) is kept in the
    result for the build to report."""
    job = config.job
    definition = config.definition
    if isinstance(definition, InlineDefinition):
        prepared = PreparedBuild(path="the job's inline script", text=definition.script)
    else:
        path = expand(definition.script_path, run_env)
        prepared = PreparedBuild(path=path, has_scm=True)
        scm = definition.scm
        local = runner.remote_path(job, scm.url)
        if definition.lightweight and lightweight_supported(scm):
            _read_lightweight(scm, local, path, run_env, prepared)
        else:
            if definition.lightweight:
                prepared.lines.append("Lightweight checkout support not available, falling back "
                                      "to full checkout.")
            _read_heavyweight(runner, job, scm, local, path, run_env, number, prepared)
    if prepared.error is not None or prepared.text is None:
        return prepared
    try:
        prepared.pipeline = parse(job, prepared.path, prepared.text)
    except CompileError as exc:
        prepared.compile_error = exc
        return prepared
    agent = prepared.pipeline.agent
    if agent.label is not None:
        try:
            value = to_string(evaluate(agent.label, Scope(params, run_env))).strip()
        except GroovyError as exc:
            prepared.label_error = exc
        else:
            prepared.label = value or None  # ExecutorStep: Util.fixEmptyAndTrim (:74)
    return prepared


def choose_agent(runner: Any, job: str, prepared: PreparedBuild) -> Agent:
    """The node the top-level ``agent`` runs on: any agent for ``agent any`` or an empty label,
    else the first whose labels match. ``RunnerError`` where Jenkins would wait forever
    ("Still waiting to schedule task", ExecutorStepExecution.java:151)."""
    agents = runner.agents
    if prepared.label is None or agents.any_label:
        return agents.agents[0]
    line = prepared.pipeline.agent.line if prepared.pipeline else 0
    label = parse_label(prepared.label, job)
    for agent in agents.agents:
        if label(agent.atoms):
            return agent
    names = ", ".join(f"{a.name} [{a.node_labels}]" for a in agents.agents)
    raise RunnerError(f"{job}: {prepared.path}:{line}: agent label {prepared.label!r}: no agent "
                      f"matches it (agents: {names}); Jenkins would leave the build waiting for "
                      f"a node forever")


def _read_lightweight(scm: GitScm, local: Path, path: str, env: dict[str, str],
                      prepared: PreparedBuild) -> None:
    """``SCMFileSystem.of(...).child(path).contentAsString()``: the file at the head of the
    branch the spec names (HeadNameResult.calculate, GitSCMFileSystem.java:303-329)."""
    spec = expand(scm.branches[0], env)
    prefix = "refs/tags/" if spec.startswith("refs/tags/") else "refs/heads/"
    if spec.startswith(prefix):
        head = spec[len(prefix):]
    elif spec.startswith("*/"):
        head = spec[2:]
    else:
        head = spec
    key = scm_key(scm)
    sha = _git(local, "rev-parse", "--verify", "--quiet", f"{prefix}{head}^{{commit}}")
    if not sha:
        # the fetch of a missing ref fails: GitException → IOException, with its stack trace
        prepared.error = GroovyError(
            f"java.io.IOException: hudson.plugins.git.GitException: Command \"git fetch "
            f"--no-tags --force --progress --prune -- origin +{prefix}{head}:refs/remotes/"
            f"{scm.remote}/{head}\" returned status code 128:\nstderr: fatal: couldn't find "
            f"remote ref {prefix}{head}")
        return
    content = _git_bytes(local, "show", f"{sha}:{path.lstrip('/')}") if _is_file(local, sha, path) \
        else None
    if content is None:
        prepared.error = StepAbort(f"Unable to find {path} from {key}")
        return
    prepared.text = content.decode("utf-8", "replace")
    prepared.lines.append(f"Obtained {path} from {key}")


def _read_heavyweight(runner: Any, job: str, scm: GitScm, local: Path, path: str,
                      env: dict[str, str], number: int, prepared: PreparedBuild) -> None:
    """The full checkout into ``<workspace>@script/<key>`` on the controller (:142-202)."""
    key = scm_key(scm)
    base = runner.workspace_of(job, Agent(BUILT_IN, ()))
    mac = hmac.new(runner.server_cookie.encode(), key.encode(), hashlib.sha256).hexdigest()
    directory = base.parent / (base.name + "@script") / mac
    buffer = LineBuffer()
    buffer.line(f"Checking out {key} into {directory} to read {path}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory.parent / (directory.name + "-scm-key.txt")).write_text(key, encoding="utf-8")

    def usable(cid: str) -> bool:
        found = runner.credentials.find(cid, job)
        return found is not None and found.type in ("usernamePassword", "sshUserPrivateKey")

    try:
        data, _ = checkout(scm, local, directory, env, buffer,
                           runner.previous_scm_data(job, number), number, usable)
    except StepAbort as exc:
        # the retry loop, with Jenkins's default of no retries (:166-188)
        buffer.error(str(exc))
        prepared.lines += buffer.lines
        prepared.error = StepAbort("Maximum checkout retry attempts reached, aborting")
        return
    prepared.lines += buffer.lines
    prepared.scm_data = data
    prepared.scm_workspace = directory
    script = directory / path
    if not script.resolve().is_relative_to(directory.resolve()):
        prepared.error = GroovyError(f"java.io.IOException: {script} references a file that is "
                                     f"not inside {directory}")
        return
    if not script.is_file():
        prepared.error = StepAbort(f"{script} not found")
        return
    prepared.text = script.read_text(encoding="utf-8", errors="replace")


def _git(local: Path, *args: str) -> str:
    """git on the controller (the runner's process), as GitSCMFileSystem's cache is."""
    done = subprocess.run(["git", "-C", str(local), *args], capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    return done.stdout.strip() if done.returncode == 0 else ""


def _git_bytes(local: Path, *args: str) -> bytes | None:
    done = subprocess.run(["git", "-C", str(local), *args], capture_output=True,
                          env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    return done.stdout if done.returncode == 0 else None


def _is_file(local: Path, sha: str, path: str) -> bool:
    """A file (blob) at ``path`` in the commit: ``SCMFile.contentAsString`` of anything else
    fails as a missing file does."""
    return _git(local, "cat-file", "-t", f"{sha}:{path.lstrip('/')}") == "blob"



# --- polling -----------------------------------------------------------------------------------


def poll_plan(item: Any, queued: bool) -> tuple[str, Any]:
    """``WorkflowJob.poll`` up to the SCM's comparison: ("build", None) with no build yet,
    ("none", reason) when there is nothing to poll, ("compare", checkout build) otherwise."""
    builds = item.builds
    if not builds:
        if queued:
            return "none", "no previous build to compare to; the job is already in the queue"
        return "build", "no previous build to compare to"
    last = builds[0]
    completed = [b for b in builds if not b.building]
    successful = next((b for b in completed if b.result in ("SUCCESS", "UNSTABLE")), None)
    base = successful or last
    if not base.scm:
        return "none", (f"build #{base.number} recorded no checkout: nothing to poll (a "
                        f"Jenkinsfile that never checks out is started by polling only once)")
    return "compare", base
