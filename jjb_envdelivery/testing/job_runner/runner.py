"""``JobRunner``: the queue, the executors and the triggers around ``BuildExecution`` (freestyle)
and ``PipelineExecution`` (Pipeline jobs: ``pipeline_job``, ``pipeline_run``).

The queue is the emulator's own (``State.queue``), so ``api/json`` shows ``inQueue`` and
``queueItem`` while a build waits; once a runner is attached, queued builds wait for it instead
of turning into simulated records. Scheduling a job that already waits folds the new cause into
the waiting item (core Queue.java:612-652, CauseAction.java:169-177), so one build can have
several upstream causes. The runner takes the oldest waiting item (FIFO), runs it to the end on
its agent's one executor, then schedules the downstream builds: a freestyle upstream's through
the dependency graph (``BuildTrigger.execute``), and every trigger between jobs that are not
both freestyle through ``ReverseBuildTrigger``'s RunListener when the build completes (core
ReverseBuildTrigger.java:235-302: the graph holds ``AbstractProject``s only, :172-180).
"""

from __future__ import annotations

import os
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ...jenkins_names import ItemIndex, split_names
from ..emulator_state import Build, Item, QueueItem
from .build import MAX_CAUSE_DEPTH, UPSTREAM_CAUSE, BuildExecution, BuildRecord, job_url
from .config import JobConfig, parse_job
from .credentials import CredentialStore
from .errors import RunnerError
from .fingerprints import Fingerprints
from .git_scm import empty_build_data, environment, poll
from .labels import BUILT_IN, Agent, Agents
from .log_rotation import rotate
from .pipeline_job import (
    PIPELINE_TRIGGERS,
    WorkflowJobConfig,
    choose_agent,
    job_properties,
    poll_plan,
    prepare,
)
from .pipeline_run import PipelineExecution, parameter_values
from .properties import COPY_PERMISSION, PARAMETERS, ParameterDefinition, copy_grants, parse_properties
from .results import at_least
from .shell import kill_group
from .triggers import BUILD_TRIGGER, REVERSE_TRIGGER, topological
from .xml_fields import text

LABEL = "runs the jobs this project generates, on this machine; not Jenkins"
# What GitSCM.buildEnvironment sets (git GitSCM.java:1529-1591)
_GIT_VARIABLES = {"GIT_COMMIT", "GIT_PREVIOUS_COMMIT", "GIT_PREVIOUS_SUCCESSFUL_COMMIT",
                  "GIT_BRANCH", "GIT_LOCAL_BRANCH", "GIT_CHECKOUT_DIR", "GIT_URL"}


def user_cause(user: str | None = None) -> dict[str, Any]:
    """``Cause.UserIdCause`` ("Started by user {0}"); no user = anonymous."""
    return {"_class": "hudson.model.Cause$UserIdCause",
            "shortDescription": f"Started by user {user or 'anonymous'}",
            "userId": user, "userName": user or "anonymous"}


SCM_CAUSE = {"_class": "hudson.triggers.SCMTrigger$SCMTriggerCause",
             "shortDescription": "Started by an SCM change"}
TIMER_CAUSE = {"_class": "hudson.triggers.TimerTrigger$TimerTriggerCause",
               "shortDescription": "Started by timer"}


class JobRunner:
    """Runs the jobs stored in a ``JenkinsEmulator`` on this machine (see the package docstring)."""

    def __init__(self, emulator: Any, home: Path, *,
                 remotes: Mapping[str, Path] | None = None,
                 credentials: Path | None = None,
                 agents: Mapping[str, Iterable[str]] | None = None,
                 env: Mapping[str, str] | None = None,
                 minute: float = 60.0,
                 log: Callable[[str], None] | None = None) -> None:
        self.emulator = emulator
        self.home = Path(home).resolve()
        self.remotes = {url: Path(path).resolve() for url, path in (remotes or {}).items()}
        self.credentials = CredentialStore(Path(credentials) if credentials else None)
        self.agents = Agents(agents)
        self.agent_env = dict(env) if env is not None else None
        if minute <= 0:
            raise RunnerError(f"minute must be positive, got {minute}")
        self.minute = minute
        self.log = log
        self.home.mkdir(parents=True, exist_ok=True)
        self.fingerprints = Fingerprints(self.home / "fingerprints.json")
        self.builds: list[BuildRecord] = []
        self.server_cookie = secrets.token_hex(16)
        self._triggers: dict[str, tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = {}
        with self.emulator.lock:
            self.emulator.state.runner_attached = True
        self.note(f"job runner: {LABEL}")

    # --- public API ------------------------------------------------------------------------

    def schedule(self, job: str, parameters: dict[str, Any] | None = None,
                 cause: dict[str, Any] | None = None) -> None:
        """Queue a build of ``job`` (default cause: a user), or fold the cause into the build
        already waiting with the same parameters."""
        with self.emulator.lock:
            item = self._job_item(job)
            if item.disabled:
                raise RunnerError(f"{item.full_name}: the job is disabled; Jenkins does not build "
                                  f"it (POST build answers 409)")
            definitions = self._definitions(item, strict=True)
            if parameters and definitions is None:
                raise RunnerError(f"{item.full_name}: parameters given, but the job has no "
                                  f"{PARAMETERS}")
            given = {k: str(v) for k, v in (parameters or {}).items()}
            # undefined parameters stay with the queue item; the build drops them (SECURITY-170)
            values = {**_fill(definitions, given, item.full_name),
                      **{k: v for k, v in given.items()
                         if k not in {d.name for d in definitions or ()}}}
            self._enqueue(item, [cause or user_cause()], values)

    def poll(self, job: str) -> bool:
        """What the job's ``SCMTrigger`` does on its schedule: poll the SCM and queue a build
        (cause ``SCMTriggerCause``) if the remote has changes the job counts."""
        with self.emulator.lock:
            item = self._job_item(job)
            config = self._config(item)
            if not config.triggers.scm:
                raise RunnerError(f"{item.full_name}: triggers/hudson.triggers.SCMTrigger: the "
                                  f"job has none, so Jenkins never polls it")
            if config.disabled:
                self.note(f"poll {item.full_name}: disabled, not polled")
                return False  # AbstractProject.poll: "Build disabled" → no changes
            last = item.builds[0] if item.builds else None
            data = None if last is None else (self._scm_data_from(item, last.number + 1)
                                              or empty_build_data(""))
            workspace = Path(last.workspace) if last is not None and last.workspace else None
            scm = config.scm
            full_name = item.full_name
            if isinstance(config, WorkflowJobConfig):
                # WorkflowJob.poll (WorkflowJob.java:621-705): see pipeline_job
                queued = any(q.item is item and q.build is None
                             for q in self.emulator.state.queue.values())
                plan, detail = poll_plan(item, queued)
                if plan != "compare":
                    self.note(f"poll {full_name}: {detail}")
                    if plan == "build":
                        self._enqueue(item, [dict(SCM_CAUSE)], _fill(self._definitions(item), {},
                                                                      job))
                    return plan == "build"
                workspace = Path(detail.workspace) if detail.workspace else None
        if scm is None:
            self.note(f"poll {full_name}: no SCM (NullSCM), no changes")
            return False
        local = self.remote_path(full_name, scm.url)
        notes: list[str] = []
        changed = poll(scm, local, data, workspace, self._agent_environment(), notes.append)
        for line in notes:
            self.note(f"poll {full_name}: {line}")
        self.note(f"poll {full_name}: {'changes found' if changed else 'no changes'}")
        if changed:
            with self.emulator.lock:
                item = self._job_item(full_name)
                self._enqueue(item, [dict(SCM_CAUSE)], _fill(self._definitions(item), {}, job))
        return changed

    def fire_timer(self, job: str) -> None:
        """What the job's ``TimerTrigger`` does when its schedule comes: queue a build
        (cause ``TimerTriggerCause``); a disabled job is not scheduled."""
        with self.emulator.lock:
            item = self._job_item(job)
            config = self._config(item)
            if not config.triggers.timer:
                raise RunnerError(f"{item.full_name}: triggers/hudson.triggers.TimerTrigger: the "
                                  f"job has none")
            if config.disabled:
                self.note(f"timer {item.full_name}: disabled, not scheduled")
                return
            self._enqueue(item, [dict(TIMER_CAUSE)], _fill(self._definitions(item), {}, job))

    def run_next(self) -> BuildRecord | None:
        """Run the oldest waiting build to its end; None when the queue is empty. RunnerError
        (the item leaves the queue) when the runner cannot run the job."""
        with self.emulator.lock:
            waiting = [q for q in self.emulator.state.queue.values() if q.build is None]
            if not waiting:
                return None
            q = min(waiting, key=lambda w: w.id)
            try:
                execution = self._start(q)
            except RunnerError:
                del self.emulator.state.queue[q.id]
                self.emulator.persist()
                raise
        try:
            result = execution.execute()
        except BaseException:  # interrupted (Ctrl-C): record the build as aborted, then go on
            for pgid in execution.process_groups:
                kill_group(pgid, grace=0.5)
            execution.console.line("Build was aborted")
            self._finish(execution, "ABORTED")
            raise
        return self._finish(execution, result)

    def run_queue(self, limit: int = 1000) -> list[BuildRecord]:
        """Run builds until the queue is empty (or ``limit`` builds ran), in queue order."""
        ran: list[BuildRecord] = []
        while len(ran) < limit:
            record = self.run_next()
            if record is None:
                break
            ran.append(record)
        return ran

    # --- the queue ------------------------------------------------------------------------

    def _job_item(self, job: str) -> Item:
        item = self.emulator.state.find(job)
        if item is None:
            raise RunnerError(f"{job}: no such job in the emulator")
        if item.is_folder:
            raise RunnerError(f"{item.full_name}: a folder; folders never build")
        return item

    def _config(self, item: Item) -> JobConfig | WorkflowJobConfig:
        return parse_job(item.full_name, item.config)

    def _definitions(self, item: Item, strict: bool = False) -> tuple[ParameterDefinition, ...] | None:
        root = _xml(item.config)
        if root is None:
            return None
        try:
            if root.tag == "flow-definition":
                return job_properties(root, item.full_name)[0].parameters
            return parse_properties(root.find("properties"), item.full_name).parameters
        except RunnerError:
            if strict:
                raise
            return None  # the build will refuse the job with the message

    def _enqueue(self, item: Item, causes: list[dict[str, Any]],
                 parameters: dict[str, str]) -> tuple[QueueItem, bool]:
        """``Queue.schedule2``: a new waiting item, or the causes folded into the one waiting."""
        state = self.emulator.state
        before = state.next_queue_id
        params = "".join(f"\n{k}={v}" for k, v in parameters.items())
        q = state.schedule(item, params, 0.0, causes=causes)
        q.parameters = dict(parameters)
        folded = q.id < before
        what = ", ".join(str(c.get("shortDescription")) for c in causes)
        self.note(f"{'folded into queued' if folded else 'queued'} {item.full_name} "
                  f"(queue item {q.id}): {what}")
        self.emulator.persist()
        return q, folded

    def _start(self, q: QueueItem) -> BuildExecution:
        """Everything that can refuse the job happens here, before any of the build runs."""
        item = q.item
        job = item.full_name
        config = self._config(item)
        if isinstance(config, WorkflowJobConfig):
            return self._start_pipeline(q, config)
        agent = self.agents.choose(job, config.can_roam, config.assigned_node)
        if config.scm is not None:
            self.remote_path(job, config.scm.url)
        definitions = config.properties.parameters
        given = dict(q.parameters)
        parameters = _fill(definitions, given, job)
        number = item.next_build_number
        item.next_build_number += 1
        build_dir = self._build_dir(job, number)
        workspace = self.workspace_of(job, agent)
        record = self._record(q, number, definitions, parameters, build_dir, workspace,
                              built_on="" if agent.name == BUILT_IN else agent.name)
        execution = BuildExecution(self, config, record, agent, workspace, parameters, build_dir)
        self._started(execution, given, parameters, agent.name, "")
        return execution

    def _record(self, q: QueueItem, number: int, definitions, parameters: dict[str, str],
                build_dir: Path, workspace: Path, built_on: str, scm: Any = None) -> Build:
        """The build's record, first in its job's list: the queue item has left the queue."""
        exported = None
        if definitions is not None:
            exported = [d.exported(parameters[d.name]) for d in definitions]
        record = Build(number, q.id, int(time.time() * 1000), None, building=True,
                       causes=[dict(c) for c in q.causes] or [user_cause()],
                       parameters=exported, built_on=built_on, build_dir=str(build_dir),
                       workspace=str(workspace), scm=scm)
        q.item.builds.insert(0, record)
        q.build, q.left_at = record, time.time()
        self.emulator.persist()
        return record

    def _started(self, execution: BuildExecution, given: dict[str, str], parameters: dict[str, str],
                 agent: str, what: str) -> None:
        dropped = sorted(set(given) - set(parameters))
        if dropped:
            execution.console.line(f"Skipped {len(dropped)} undefined parameter(s) on "
                                   f"{execution.job.replace('/', ' » ')}: {', '.join(dropped)}")
        causes = ", ".join(str(c.get("shortDescription")) for c in execution.record.causes or [])
        self.note(f"started {execution.job} #{execution.record.number}{what} on {agent}: {causes}")

    def _start_pipeline(self, q: QueueItem, config: WorkflowJobConfig) -> BuildExecution:
        """``WorkflowRun.run`` up to the script's start: the script is obtained and read, and
        the top-level agent chosen, before the build exists, so that a script outside the
        runner's subset or a label no agent has is refused (``RunnerError``) with nothing run."""
        item = q.item
        job = item.full_name
        definitions = config.properties.parameters
        given = dict(q.parameters)
        parameters = _fill(definitions, given, job)
        number = item.next_build_number
        params = parameter_values(definitions, parameters)
        prepared = prepare(self, config, number, {**self.run_environment(job, number),
                                                  **parameters}, params)
        agent = choose_agent(self, job, prepared)
        item.next_build_number += 1
        build_dir = self._build_dir(job, number)
        workspace = self.workspace_of(job, agent)
        # WorkflowRun is no AbstractBuild: it has no builtOn
        record = self._record(q, number, definitions, parameters, build_dir, workspace, built_on="",
                              scm=prepared.scm_data)
        execution = PipelineExecution(self, config, record, agent, workspace, parameters,
                                      build_dir, prepared, params)
        self._started(execution, given, parameters, agent.name, f" (Pipeline {prepared.path})")
        return execution

    def _build_dir(self, job: str, number: int) -> Path:
        build_dir = self.home / "jobs" / Path(*job.split("/")) / "builds" / str(number)
        if build_dir.exists():  # a leftover of an earlier runner on the same home
            import shutil

            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        return build_dir

    def _finish(self, execution: BuildExecution, result: str) -> BuildRecord:
        record = execution.record
        job = execution.job
        duration = time.time() - execution.started
        with self.emulator.lock:
            record.result = result
            record.duration = int(duration * 1000)
            lines = self._trigger_downstream(job, record) + self._trigger_listeners(job, record)
        execution.finish(lines)
        with self.emulator.lock:
            record.building = False
            item = self.emulator.state.find(job)
            rotator = execution.config.properties.log_rotator
            if item is not None and rotator is not None:
                deleted, _ = rotate(item.builds, rotator)
                item.builds = [b for b in item.builds if all(b is not d for d in deleted)]
            self.emulator.persist()
        done = BuildRecord(job=job, number=record.number, result=result,
                           causes=[exported_cause(c) for c in record.causes or []],
                           duration=duration, console=execution.console.text(),
                           workspace=execution.workspace, artifacts=list(record.artifacts),
                           node=execution.agent.name)
        self.builds.append(done)
        self.note(f"finished {job} #{record.number}: {result} in {duration:.1f} s")
        return done

    # --- downstream -----------------------------------------------------------------------

    def _trigger_info(self, item: Item) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(ReverseBuildTrigger (names, threshold)…, BuildTrigger (names, threshold)…) of a
        job, read leniently: a job the runner would refuse still takes part in the graph. A
        Pipeline job's triggers are in its PipelineTriggersJobProperty (or the legacy
        ``triggers``, WorkflowJob.java:155-157)."""
        cached = self._triggers.get(item.full_name)
        if cached is not None and cached[0] is item.config:
            return cached[1], cached[2]
        reverse: list[tuple[str, str]] = []
        children: list[tuple[str, str]] = []
        root = _xml(item.config)
        from .triggers import _threshold

        if root is not None and root.tag == "project":
            for el in root.findall(f"triggers/{REVERSE_TRIGGER}"):
                reverse.append((text(el, "upstreamProjects") or "", _threshold(el)))
            for el in root.findall(f"publishers/{BUILD_TRIGGER}"):
                children.append((text(el, "childProjects") or "", _threshold(el)))
        elif root is not None and root.tag == "flow-definition":
            for path in (f"properties/{PIPELINE_TRIGGERS}/triggers/{REVERSE_TRIGGER}",
                         f"triggers/{REVERSE_TRIGGER}"):
                for el in root.findall(path):
                    reverse.append((text(el, "upstreamProjects") or "", _threshold(el)))
        self._triggers[item.full_name] = (item.config, reverse, children)
        return reverse, children

    @staticmethod
    def _freestyle(item: Item) -> bool:
        return item.type.root == "project"

    def _dependency_graph(self) -> tuple[dict[str, dict[str, list[str]]], dict[str, Item]]:
        """upstream → downstream → thresholds, as ``DependencyGraph`` builds it (as SYSTEM)."""
        state = self.emulator.state
        items = state.all_items()
        index = ItemIndex((i.full_name, i.is_folder) for i in items)
        jobs = {i.full_name: i for i in items if not i.is_folder}
        graph: dict[str, dict[str, list[str]]] = {}

        def job_named(name: str, context: str) -> str | None:
            found, _ = index.resolve(name, context)
            if found is None or found[1]:
                return None  # unresolvable names and folders are dropped (Items.fromNameList)
            return found[0]

        for name, item in jobs.items():
            reverse, children = self._trigger_info(item)
            if not self._freestyle(item):
                continue  # only AbstractProjects build the graph (ReverseBuildTrigger.java:172-180)
            for names, threshold in reverse:
                for upstream in split_names(names):
                    up = job_named(upstream, name)
                    if up is not None and self._freestyle(jobs[up]):
                        graph.setdefault(up, {}).setdefault(name, []).append(threshold)
            for names, threshold in children:
                for child in split_names(names):
                    down = job_named(child, name)
                    # A Pipeline child is scheduled by BuildTrigger.perform itself, with the
                    # same lines (BuildTrigger.java:191-236); here it rides in the graph.
                    if down is not None:
                        graph.setdefault(name, {}).setdefault(down, []).append(threshold)
        return graph, jobs

    def _trigger_downstream(self, job: str, record: Build) -> list[str]:
        """``BuildTrigger.execute`` (core BuildTrigger.java:254-300); returns its console lines."""
        graph, jobs = self._dependency_graph()
        downstream = graph.get(job, {})
        wanted = [d for d, thresholds in downstream.items()
                  if any(at_least(record.result, t) for t in thresholds)]
        edges = {up: set(downs) for up, downs in graph.items()}
        lines: list[str] = []
        for name in topological(wanted, edges):
            item = jobs[name]
            shown = name.replace("/", " » ")
            if item.disabled:
                lines.append(f"{shown} is disabled. Triggering skipped")
                continue
            _, folded = self._enqueue(item, [_upstream_cause(job, record)],
                                      _fill(self._definitions(item), {}, name))
            lines.append(f"{shown} is already in the queue" if folded
                         else f"Triggering a new build of {shown}")
        return lines

    def _trigger_listeners(self, job: str, record: Build) -> list[str]:
        """``ReverseBuildTrigger.RunListenerImpl.onCompleted`` (core ReverseBuildTrigger.java:
        235-302): each ReverseBuildTrigger naming this job, unless both jobs are freestyle (the
        dependency graph's), schedules its job when the result reaches the threshold; the
        schedule returns the queue item even when it folds into a waiting one, so the line is
        "Triggering a new build of <job> #<next number>" (ParameterizedJobMixIn.java:161-170,
        Queue.java:612-652). Jobs in ``allItems`` order (by name, folders depth-first)."""
        state = self.emulator.state
        items = state.all_items()
        index = ItemIndex((i.full_name, i.is_folder) for i in items)
        jobs = {i.full_name: i for i in items if not i.is_folder}
        upstream = jobs.get(job)
        if upstream is None:
            return []
        lines: list[str] = []
        for name, item in jobs.items():
            reverse, _ = self._trigger_info(item)
            if not reverse or (self._freestyle(item) and self._freestyle(upstream)):
                continue
            names, threshold = reverse[0]  # ParameterizedJobMixIn.getTrigger: the job's one
            if not any(found is not None and not found[1] and found[0] == job
                       for found, _ in (index.resolve(up, name) for up in split_names(names))):
                continue
            if not at_least(record.result, threshold):
                continue
            shown = name.replace("/", " » ")
            if item.disabled:
                lines.append(f"{shown} is disabled. Triggering skipped")
                continue
            number = item.next_build_number
            self._enqueue(item, [_upstream_cause(job, record)], _fill(self._definitions(item), {}, name))
            lines.append(f"Triggering a new build of {shown} #{number}")
        return lines

    def schedule_catch_up(self, job: str, number: int) -> None:
        """git's "Multiple candidate revisions": another build for the next one
        (git GitSCM.java:1176-1192)."""
        with self.emulator.lock:
            item = self.emulator.state.find(job)
            if item is None or item.disabled:
                return
            cause = dict(SCM_CAUSE)
            cause["_note"] = (f"This build was triggered by build {number} because more than one "
                              f"build candidate was found.")
            self._enqueue(item, [cause], _fill(self._definitions(item), {}, job))

    # --- what builds read (the "history" of copyartifact, git's previous data) -------------

    def resolve_job(self, name: str, context_job: str) -> str | None:
        """``Jenkins.getItem(name, copier's folder, Job.class)`` as SYSTEM."""
        with self.emulator.lock:
            index = ItemIndex((i.full_name, i.is_folder) for i in self.emulator.state.all_items())
        found, _ = index.resolve(name, context_job)
        return found[0] if found is not None and not found[1] else None

    def copy_grants(self, job: str) -> tuple[str, ...] | None:
        with self.emulator.lock:
            item = self.emulator.state.find(job)
            root = _xml(item.config) if item is not None else None
        prop = root.find(f"properties/{COPY_PERMISSION}") if root is not None else None
        return copy_grants(prop) if prop is not None else None

    def builds_of(self, job: str) -> list[Build]:
        with self.emulator.lock:
            item = self.emulator.state.find(job)
            return list(item.builds) if item is not None and not item.is_folder else []

    def build(self, job: str, number: int) -> Build | None:
        return next((b for b in self.builds_of(job) if b.number == number), None)

    def _scm_data_from(self, item: Item, below: int) -> dict[str, Any] | None:
        """``GitSCM.getBuildData``: the newest BuildData of a build numbered below ``below``."""
        for b in item.builds:
            if b.number < below and b.scm:
                return b.scm
        return None

    def previous_scm_data(self, job: str, number: int) -> dict[str, Any] | None:
        with self.emulator.lock:
            item = self.emulator.state.find(job)
            return self._scm_data_from(item, number) if item is not None else None

    def scm_environment(self, job: str, number: int, data: dict[str, Any],
                        url: str) -> dict[str, str]:
        with self.emulator.lock:
            item = self.emulator.state.find(job)
            older = [b for b in item.builds if b.number < number] if item else []
            built = next((b for b in older if not b.building), None)
            successful = next((b for b in older if not b.building
                               and at_least(b.result, "UNSTABLE")), None)
            previous = self._scm_data_from(item, built.number + 1) if item and built else None
            previous_ok = (self._scm_data_from(item, successful.number + 1)
                           if item and successful else None)
        return environment(data, url, previous, previous_ok)

    def remote_path(self, job: str, url: str) -> Path:
        local = self.remotes.get(url)
        if local is None:
            raise RunnerError(f"{job}: scm/userRemoteConfigs url {url!r}: no local repository "
                              f"is mapped to this URL (JobRunner remotes=)")
        return local

    # --- environment ------------------------------------------------------------------------

    def _agent_environment(self) -> dict[str, str]:
        """The agent process's environment. An agent is a process Jenkins started, so it does
        not carry the variables a build gets from the git plugin or copyartifact: if the runner
        itself runs inside a CI build, those are dropped rather than leaked into every build."""
        env = dict(self.agent_env) if self.agent_env is not None else dict(os.environ)
        return {k: v for k, v in env.items() if k not in _GIT_VARIABLES
                and not k.startswith(("GIT_URL_", "COPYARTIFACT_BUILD_NUMBER_"))}

    def workspace_of(self, job: str, agent: Agent) -> Path:
        parts = Path(*job.split("/"))
        if self.agents.any_label:
            return self.home / "workspace" / parts
        return self.home / "agents" / agent.name / "workspace" / parts

    def base_environment(self, build: BuildExecution) -> dict[str, str]:
        """The variables Jenkins sets before the SCM's and the wrappers'
        (core Job.java:398-435, Run.java:2405-2433, CoreEnvironmentContributor.java:26-69,
        Computer.java:1190-1210, AbstractBuild.java:955-963)."""
        return {**self.run_environment(build.job, build.number),
                **self.node_environment(build.agent, build.workspace)}

    def run_environment(self, job: str, number: int) -> dict[str, str]:
        """The run's variables, without the node's (a Pipeline build gets those inside
        ``node``: workflow-durable-task-step ExecutorStepExecution.java:1108-1136)."""
        root_url = self.emulator.url
        url = job_url(job)
        env = self._agent_environment()
        env.update({
            "JENKINS_URL": root_url, "HUDSON_URL": root_url,
            "JENKINS_SERVER_COOKIE": self.server_cookie,
            "HUDSON_SERVER_COOKIE": self.server_cookie,
            "JOB_NAME": job, "JOB_BASE_NAME": job.rsplit("/", 1)[-1], "CLASSPATH": "",
            "BUILD_NUMBER": str(number), "BUILD_ID": str(number),
            "BUILD_TAG": f"jenkins-{job.replace('/', '-')}-{number}",
            "BUILD_DISPLAY_NAME": f"#{number}",
            "BUILD_URL": f"{root_url}{url}{number}/",
            "CI": "true", "JOB_URL": root_url + url,
            "JENKINS_HOME": str(self.home), "HUDSON_HOME": str(self.home),
        })
        return env

    def node_environment(self, agent: Agent, workspace: Path) -> dict[str, str]:
        return {"EXECUTOR_NUMBER": "0", "NODE_NAME": agent.name,
                "NODE_LABELS": agent.node_labels, "WORKSPACE": str(workspace),
                "WORKSPACE_TMP": str(workspace.parent / (workspace.name + "@tmp"))}

    def note(self, message: str) -> None:
        if self.log is not None:
            self.log(f"[job runner] {message}")


def _fill(definitions: tuple[ParameterDefinition, ...] | None, given: dict[str, str],
          job: str) -> dict[str, str]:
    """Each defined parameter's value: given, or its default (``ParametersDefinitionProperty``
    adds the defaults when a trigger schedules the job); undefined ones are not kept."""
    if definitions is None:
        return {}
    return {d.name: d.value(given.get(d.name), job) for d in definitions}


def exported_cause(cause: dict[str, Any]) -> dict[str, Any]:
    """A cause as api/json shows it: ``_class`` and the exported properties."""
    return {k: v for k, v in cause.items() if k == "_class" or not k.startswith("_")}


def _upstream_cause(job: str, record: Build) -> dict[str, Any]:
    """``Cause.UpstreamCause`` of a build of `job`, with its own causes one level deep."""
    return {"_class": UPSTREAM_CAUSE,
            "shortDescription": f'Started by upstream project "{job}" build number {record.number}',
            "upstreamBuild": record.number, "upstreamProject": job, "upstreamUrl": job_url(job),
            "_upstreamCauses": _trim(record.causes or [], 1)}


def _trim(causes: list[dict[str, Any]], depth: int) -> list[dict[str, Any]]:
    """The upstream build's causes, kept inside an UpstreamCause (deeper ones dropped)."""
    if depth >= MAX_CAUSE_DEPTH:
        return []
    return [{**c, "_upstreamCauses": _trim(c.get("_upstreamCauses") or [], depth + 1)}
            if c.get("_class") == UPSTREAM_CAUSE else dict(c) for c in causes]


def _xml(config: str) -> ET.Element | None:
    try:
        return ET.fromstring(config)
    except ET.ParseError:
        return None
