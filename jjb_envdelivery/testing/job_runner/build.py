"""One build of a freestyle job, in the order core runs it (AbstractBuild.java:466-545,
Build.java:127-195, Run.java:1800-1910):

causes and "Running as SYSTEM" → the node and workspace → pre-checkout wrappers (ws-cleanup) →
SCM checkout → wrappers set up → builders, stopping at the first that fails → wrappers torn down
→ publishers (all of them, even after a failure) → downstream builds scheduled → "Finished: X".

An AbortException-like failure (``StepAbort``) prints ``ERROR: <message>`` and fails the build;
a timeout interrupts it (``BuildInterrupted``); publishers still run after both.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..emulator_state import Build, raw_encode
from .config import JobConfig
from .console import Console
from .errors import BuildInterrupted, StepAbort
from .git_scm import checkout
from .labels import BUILT_IN, Agent
from .results import worse
from .shell import kill_group
from .wrappers import PreBuildCleanup

UPSTREAM_CAUSE = "hudson.model.Cause$UpstreamCause"
MAX_CAUSE_DEPTH = 10  # UpstreamCause.MAX_DEPTH: deeper upstream causes are trimmed


@dataclass
class BuildRecord:
    """A build the runner ran. ``causes`` are as Jenkins's api/json shows them."""

    job: str  # full name
    number: int
    result: str  # SUCCESS | UNSTABLE | FAILURE | ABORTED | NOT_BUILT
    causes: list[dict[str, Any]]
    duration: float  # seconds
    console: str
    workspace: Path
    artifacts: list[str]
    node: str = BUILT_IN


class BuildExecution:
    """The state of one running build; the components (shell, copy, wrappers…) use it as
    their ``ctx``."""

    def __init__(self, runner: Any, config: JobConfig, record: Build, agent: Agent,
                 workspace: Path, parameters: dict[str, str], build_dir: Path) -> None:
        self.runner = runner
        self.config = config
        self.job = config.job
        self.record = record
        self.number = record.number
        self.agent = agent
        self.workspace = workspace
        self.parameters = parameters
        self.build_dir = build_dir
        self.archive_dir = build_dir / "archive"
        self.console = Console(build_dir / "log")
        self.causes: list[dict[str, Any]] = record.causes or []
        self.result: str | None = None
        self.started = time.time()
        self.credentials = runner.credentials
        self.fingerprints = runner.fingerprints
        self.history = runner
        self.cleanups: list[Callable[[], None]] = []
        self.process_groups: list[int] = []
        self.deadline: float | None = None
        self.timeout_minutes = 0
        self.timeout_results: tuple[str, ...] = ()
        self.base_env = runner.base_environment(self)
        self.scm_env: dict[str, str] = {}
        self.wrapper_env: dict[str, str] = {}
        self.action_env: dict[str, str] = dict(parameters)  # ParametersAction, EnvAction

    # --- what components use -----------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """``AbstractBuild.getEnvironment`` (AbstractBuild.java:955-977): the node's and the
        job's variables, then the SCM's, the wrappers', the actions' (parameters)."""
        return {**self.base_env, **self.scm_env, **self.wrapper_env, **self.action_env}

    def step_env(self) -> dict[str, str]:
        """What a Shell step gets: the environment plus the build variables
        (CommandInterpreter.java:132-138)."""
        return {**self.env, **self.parameters}

    def set_result(self, result: str) -> None:
        """``Run.setResult`` only ever makes the result worse."""
        self.result = worse(self.result, result)

    def add_artifacts(self, paths: list[str]) -> None:
        self.record.artifacts = sorted(set(self.record.artifacts) | set(paths))

    def record_tests(self, total: int, failed: int, skipped: int) -> None:
        tests = self.record.tests or {"totalCount": 0, "failCount": 0, "skipCount": 0}
        tests["totalCount"] += total
        tests["failCount"] += failed
        tests["skipCount"] += skipped
        self.record.tests = tests

    def start_timer(self, minutes: int, results: tuple[str, ...]) -> None:
        self.timeout_minutes = minutes
        self.timeout_results = results
        self.deadline = time.monotonic() + minutes * self.runner.minute

    def fire_timeout(self) -> str:
        """The timer task: each operation prints its line and interrupts the executor; the
        last interruption's result wins."""
        result = "ABORTED"
        for result in self.timeout_results:
            shown = "aborted" if result == "ABORTED" else "failed"
            self.console.line(f"Build timed out (after {self.timeout_minutes} minutes). "
                              f"Marking the build as {shown}.")
        self.deadline = None
        self.runner.note(f"{self.job} #{self.number}: build timeout after "
                         f"{self.timeout_minutes} minutes")
        return result

    # --- the build ------------------------------------------------------------------------

    def execute(self) -> str:
        console = self.console
        for cause in self.causes:
            self._print_cause(cause, 0)
        console.line("Running as SYSTEM")
        if self.runner.agents.only_built_in:
            console.line(f"Building in workspace {self.workspace}")
        elif self.agent.name == BUILT_IN:
            console.line(f"Building on the built-in node in workspace {self.workspace}")
        else:
            labels = " ".join(sorted(set(self.agent.labels) - {self.agent.name}))
            shown = f" ({labels})" if labels else ""
            console.line(f"Building remotely on {self.agent.name}{shown} in workspace "
                         f"{self.workspace}")
        try:
            try:
                self._run()
            finally:
                self._tear_down()
        except StepAbort as exc:
            self.result = "FAILURE"
            console.error(str(exc))
        except BuildInterrupted as exc:
            self.result = exc.result
            console.line("Build was aborted")
        except Exception as exc:  # noqa: BLE001 - a bug in a step fails the build, as in Jenkins
            self.result = "FAILURE"
            console.error(f"{type(exc).__name__}: {exc}")
            console.write(traceback.format_exc())
        self._post()
        if self.result is None:
            self.result = "SUCCESS"
        return self.result

    def _print_cause(self, cause: dict[str, Any], depth: int) -> None:
        """``Cause.print`` / ``UpstreamCause.print`` (core Cause.java:129-131, 329-356)."""
        pad = " " * depth
        self.console.line(pad + str(cause.get("shortDescription", "")))
        nested = cause.get("_upstreamCauses") or []
        if cause.get("_class") == UPSTREAM_CAUSE and nested:
            self.console.line(pad + "originally caused by:")
            for inner in nested:
                self._print_cause(inner, depth + 1)

    def _run(self) -> None:
        """``AbstractRunner.run`` and ``BuildExecution.doRun`` up to the builders."""
        self.workspace.mkdir(parents=True, exist_ok=True)
        for wrapper in self.config.wrappers:
            if isinstance(wrapper, PreBuildCleanup):
                wrapper.pre_checkout(self)
        scm = self.config.scm
        if scm is not None:
            data, count = checkout(
                scm, self.runner.remote_path(self.job, scm.url), self.workspace, self.base_env,
                self.console, self.runner.previous_scm_data(self.job, self.number), self.number,
                lambda cid: self.credentials.find(cid, self.job) is not None
                and self.credentials.find(cid, self.job).type in ("usernamePassword",
                                                                   "sshUserPrivateKey"))
            self.record.scm = data
            self.scm_env = self.runner.scm_environment(self.job, self.number, data, scm.url)
            if count > 1:
                self.console.line("Multiple candidate revisions")
                self.console.line(f"Scheduling another build to catch up with "
                                  f"{self.job.replace('/', ' » ')}")
                self.runner.schedule_catch_up(self.job, self.number)
        self.workspace.mkdir(parents=True, exist_ok=True)
        for wrapper in self.config.wrappers:
            wrapper.set_up(self)
        for builder in self.config.builders:
            before = self.result
            can_continue = builder.run(self) is not False
            if self.result != before:
                self.console.line(f"Build step '{builder.display_name}' changed build result "
                                  f"to {self.result}")
            if not can_continue:
                self.console.line(f"Build step '{builder.display_name}' marked build as "
                                  f"failure")
                self.set_result("FAILURE")
                break
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise BuildInterrupted(self.fire_timeout())  # Build.java:204-208

    def _tear_down(self) -> None:
        """Environments torn down in reverse order: the timer cancelled, secret files removed."""
        self.deadline = None
        for cleanup in reversed(self.cleanups):
            cleanup()
        self.cleanups.clear()

    def _post(self) -> None:
        """``post2``: every publisher runs; a failing one fails the build
        (AbstractBuild.java:760-800)."""
        for publisher in self.config.publishers:
            before = self.result
            try:
                publisher.run(self)
            except StepAbort as exc:
                self.console.error(f"Step ‘{publisher.display_name}’ failed: {exc}")
                self.set_result("FAILURE")
            except Exception as exc:  # noqa: BLE001 - reported like Jenkins, the build goes on
                self.console.error(f"Step ‘{publisher.display_name}’ aborted due to exception: "
                                   f"{type(exc).__name__}: {exc}")
                self.set_result("FAILURE")
            if self.result != before:
                self.console.line(f"Build step '{publisher.display_name}' changed build "
                                  f"result to {self.result}")

    def finish(self, downstream_lines: list[str]) -> None:
        for line in downstream_lines:
            self.console.line(line)
        self.console.line(f"Finished: {self.result}")
        self.console.close()
        for pgid in self.process_groups:
            kill_group(pgid, grace=0.5)  # what a step left running dies with the build


def job_url(full_name: str) -> str:
    """``Job.getUrl()``: ``job/a/job/b/``."""
    return "".join(f"job/{raw_encode(part)}/" for part in full_name.split("/"))
