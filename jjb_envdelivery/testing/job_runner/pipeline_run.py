"""One build of a Pipeline job (workflow-job's ``WorkflowRun``) whose script is in the runner's
Declarative subset (``declarative``): a test instrument, not Jenkins.

The order of events follows the sources (pipeline-model-definition @ 42c9dc3e, under
pipeline-model-definition/src/main/: resources/org/jenkinsci/plugins/pipeline/modeldefinition/
ModelInterpreter.groovy, "MI" below; workflow-job @ cef6baef WorkflowRun.java; workflow-cps,
workflow-basic-steps @ a789b07f, workflow-durable-task-step @ 46cb22ff, durable-task @ 8dcdaa8d):

- the causes, then what ``FlowDefinition.create`` printed ("Obtained ci/Jenkinsfile from git
  …"; no "Running as SYSTEM": WorkflowRun prints it only for other users, WorkflowRun.java:
  323-334); a failure there, or a compile error, ends the build FAILURE;
- the options' wrapper arguments (``timeout(time: …)``) are evaluated with the model, before
  anything runs: an error there fails the build without ``post`` (RuntimeASTTransformer
  .transformOptions; MI:62);
- everything else runs in the top-level agent (MI:78-106): ``node`` ("Running on <node> in
  <workspace>", ExecutorStepExecution.java:1108-1139: NODE_NAME, NODE_LABELS,
  EXECUTOR_NUMBER, WORKSPACE, WORKSPACE_TMP), the implicit ``checkout scm`` in the stage
  "Declarative: Checkout SCM" unless ``skipDefaultCheckout`` (agent/CheckoutScript.groovy:50-82
  in pipeline-model-extensions; its variables, GIT_COMMIT, GIT_BRANCH, GIT_URL…, are added with
  ``withEnv``), then the ``environment`` (``withEnv``, MI:421-434), then the option wrappers in
  their order (``timeout``: TimeoutStepExecution.java:130-202, "Timeout set to expire in …",
  "Cancelling nested steps due to timeout", the build ends ABORTED with "Timeout has been
  exceeded"; ``timestamps``: nothing in consoleText), then the stages, then ``post``;
- stages run in order (MI:153-193, 242-330); after a failure the later ones print 'Stage "X"
  skipped due to earlier failure(s)' (model/Messages.properties:25); a failing ``when`` skips a
  stage ('… skipped due to when conditional'); a stage's ``post`` runs after its steps
  ("Post stage", MI:629-651);
- ``post`` (MI:692-756) runs even after a failure, in the stage "Declarative: Post Actions" when
  a condition is met; its conditions go in ``BuildCondition.getOrderedConditionNames`` order,
  each judged on the result combined with the error so far (BuildCondition.java:151-187;
  ``success`` = SUCCESS, ``unstable`` = UNSTABLE, ``failure`` = FAILURE, ``aborted`` = ABORTED,
  ``unsuccessful`` ≠ SUCCESS, ``always`` and ``cleanup`` always); during a condition's steps the
  build's result is that combined result, and is put back afterwards unless the steps changed
  it (MI:713-756); a failing post step prints "Error when executing <condition> post
  condition:" and fails the build; when the top-level agent could not run, post runs outside
  a node, where steps that need a workspace fail (MissingContextVariableException);
- the end: "[Pipeline] End of Pipeline", the error (``AbortException``: "ERROR: <message>";
  an interruption: its causes; anything else: the exception), then the downstream jobs (core
  ReverseBuildTrigger's RunListener, ReverseBuildTrigger.java:272-302), "Finished: <result>"
  (WorkflowRun.java:714-760).

Steps: ``sh`` writes the script to ``<workspace>@tmp/durable-<id>/script.sh`` and runs it in
the workspace as ``sh -xe script.sh``, or by its ``#!`` line (BourneShellScript.java:140-170,
218-262); a non-zero exit fails the step, "script returned exit code N"
(DurableTaskStep.java:689). ``echo`` prints its message (EchoStep.java:88). ``archiveArtifacts``
and ``junit`` are core's ArtifactArchiver and junit's archiver, as freestyle runs them
(``artifacts``, ``junit``): the same archive, fingerprints, test counts; failed tests make the
build UNSTABLE and mark the stage (JUnitResultsStep: a WarningAction). ``writeFile`` writes a
workspace file (WriteFileStep.java:116-123), ``error`` aborts (ErrorStep.java:67), ``unstable``
prints "WARNING: <message>" and sets UNSTABLE (UnstableStep.java:77-79), ``checkout scm``
checks the job's SCM out into the workspace (git's GitSCM.checkout, as for freestyle:
``git_scm``) and records it for polling. ``withCredentials`` binds credentials from the
runner's credential file for its block, with the freestyle wrapper's bindings
(``credentials``); its secrets stay masked in the rest of the log (credentials-binding masks
them inside the block only). Every step prints ``[Pipeline] <name>``.
"""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..emulator_state import Build
from .ant_globs import matches
from .artifacts import ArtifactArchiver
from .build import BuildExecution
from .credentials import BINDINGS, Binding, bind
from .declarative import (
    CREDENTIAL_BINDINGS,
    Condition,
    EnvEntry,
    GroovyError,
    Pipeline,
    Post,
    Scope,
    Stage,
    Step,
    evaluate,
    to_string,
    truth,
)
from .errors import BuildInterrupted, RunnerError, StepAbort
from .git_scm import checkout
from .junit import JUnitResultArchiver
from .labels import BUILT_IN, Agent
from .pipeline_job import PreparedBuild, WorkflowJobConfig
from .results import worse
from .shell import run_process

_FAILURES = (StepAbort, GroovyError, BuildInterrupted)
_UNITS = {"SECONDS": 1 / 60, "MINUTES": 1, "HOURS": 60, "DAYS": 24 * 60}  # in minutes
MISSING_WORKSPACE = ("org.jenkinsci.plugins.workflow.steps.MissingContextVariableException: "
                     "Required context class hudson.FilePath is missing\nPerhaps you forgot to "
                     "surround the code with a step that provides this, such as: node")
CHECKOUT_STAGE = "Declarative: Checkout SCM"  # SyntheticStageNames.checkout()
POST_STAGE = "Declarative: Post Actions"  # SyntheticStageNames.postBuild()


class PipelineExecution(BuildExecution):
    """A running ``WorkflowRun``; the steps use it as their ``ctx`` as freestyle components do."""

    def __init__(self, runner: Any, config: WorkflowJobConfig, record: Build, agent: Agent,
                 workspace: Path, parameters: dict[str, str], build_dir: Path,
                 prepared: PreparedBuild, params: dict[str, Any]) -> None:
        super().__init__(runner, config, record, agent, workspace, parameters, build_dir)
        self.prepared = prepared
        self.params = params
        self.run_env = {**runner.run_environment(config.job, record.number), **parameters}
        self.node_env: dict[str, str] | None = None
        self.env_layers: list[dict[str, str]] = []
        self.warnings: list[str | None] = []  # per open stage: its WarningAction result
        self.interruptions: list[str] = []
        self.scm = config.scm

    # --- the environment ------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The effective environment (EnvironmentExpander.getEffectiveEnvironment): the run's
        (Run.getEnvironment, core Run.java:2404-2422, parameters included), the node's, then
        each enclosing ``withEnv``."""
        env = dict(self.run_env)
        if self.node_env is not None:
            env.update(self.node_env)
        for layer in self.env_layers:
            env.update(layer)
        return env

    def step_env(self) -> dict[str, str]:
        return self.env

    def scope(self) -> Scope:
        return Scope(self.params, self.env)

    def fire_timeout(self) -> str:
        self.console.line("Cancelling nested steps due to timeout")
        self.interruptions.append("Timeout has been exceeded")
        self.deadline = None
        self.runner.note(f"{self.job} #{self.number}: timeout after {self.timeout_minutes} minutes")
        return "ABORTED"

    # --- the build ------------------------------------------------------------------------

    def execute(self) -> str:
        console = self.console
        for cause in self.causes:
            self._print_cause(cause, 0)
        prepared = self.prepared
        for line in prepared.lines:
            console.line(line)
        if prepared.error is not None:
            return self._end(prepared.error)
        if prepared.compile_error is not None:
            console.write(prepared.compile_error.report(prepared.text or ""))
            self.result = "FAILURE"
            return self.result
        pipeline = prepared.pipeline
        assert pipeline is not None
        console.line("[Pipeline] Start of Pipeline")
        try:
            error = self._run(pipeline)
        finally:
            self._tear_down()
        console.line("[Pipeline] End of Pipeline")
        return self._end(error)

    def _end(self, error: BaseException | None) -> str:
        """WorkflowRun.finish (WorkflowRun.java:714-736)."""
        if isinstance(error, StepAbort):
            self.console.error(str(error))
        elif isinstance(error, BuildInterrupted):
            for cause in self.interruptions:
                self.console.line(cause)
        elif error is not None:
            self.console.line(str(error))
        if error is not None:
            self.set_result(error.result if isinstance(error, BuildInterrupted) else "FAILURE")
        if self.result is None:
            self.result = "SUCCESS"
        return self.result

    def _run(self, pipeline: Pipeline) -> BaseException | None:
        """``ModelInterpreter.call`` (MI:61-129)."""
        try:
            timeouts = {id(w): self._timeout_minutes(w.timeout) for w in pipeline.wrappers
                        if w.timeout is not None}
        except _FAILURES as exc:
            return exc  # building the model failed: no post (MI:62)
        first_error: BaseException | None = None
        post_run = False

        def body() -> None:
            nonlocal first_error, post_run
            first_error = self._stages(pipeline.stages)
            try:
                post_run = True
                self._post_build(pipeline.post, first_error)
            except _FAILURES as exc:
                first_error = first_error or exc
            if first_error is not None:
                raise first_error

        try:
            self._in_agent(pipeline, lambda: self._with_environment(
                pipeline.environment, lambda: self._wrappers(list(pipeline.wrappers), timeouts,
                                                             body)))
        except _FAILURES as exc:
            first_error = first_error or exc
        finally:
            if not post_run:
                try:
                    self._post_build(pipeline.post, first_error)
                except _FAILURES as exc:
                    first_error = first_error or exc
        return first_error

    # --- agent, environment, wrappers -----------------------------------------------------

    def _block(self, name: str, body: Callable[[], None], shown: str | None = None,
               start: Callable[[], None] | None = None) -> None:
        """A block step: ``[Pipeline] name``, what its start prints, ``{``, the body, ``}``."""
        console = self.console
        console.line(f"[Pipeline] {name}")
        if start is not None:
            start()
        console.line("[Pipeline] {" if shown is None else f"[Pipeline] {{ ({shown})")
        try:
            body()
        finally:
            console.line("[Pipeline] }")
            console.line(f"[Pipeline] // {name}")

    def _in_agent(self, pipeline: Pipeline, body: Callable[[], None]) -> None:
        """``LabelScript`` / ``AnyScript``: ``node(label) { checkout; body }``."""
        if self.prepared.label_error is not None:
            raise self.prepared.label_error
        console = self.console
        console.line("[Pipeline] node")
        shown = "Jenkins" if self.agent.name == BUILT_IN else self.agent.name
        console.line(f"Running on {shown} in {self.workspace}")
        console.line("[Pipeline] {")
        self.node_env = self.runner.node_environment(self.agent, self.workspace)
        try:
            self.workspace.mkdir(parents=True, exist_ok=True)
            variables: dict[str, str] = {}
            if not pipeline.skip_default_checkout and self.prepared.has_scm:
                self._stage_block(CHECKOUT_STAGE, lambda: self._announce_and(
                    "checkout", lambda: variables.update(self._checkout())))
            if variables:
                self._with_env(variables, body)
            else:
                body()
        finally:
            self.node_env = None
            console.line("[Pipeline] }")
            console.line("[Pipeline] // node")

    def _with_env(self, values: dict[str, str], body: Callable[[], None]) -> None:
        def inner() -> None:
            self.env_layers.append(values)
            try:
                body()
            finally:
                self.env_layers.pop()

        self._block("withEnv", inner)

    def _with_environment(self, entries: tuple[EnvEntry, ...], body: Callable[[], None]) -> None:
        """``withEnvBlock`` (MI:421-434): each value evaluated, seeing the ones before it."""
        if not entries:
            body()
            return
        values: dict[str, str] = {}
        for entry in entries:
            scope = Scope(self.params, {**self.env, **values})
            values[entry.name] = to_string(evaluate(entry.value, scope))
        self._with_env(values, body)

    def _wrappers(self, wrappers: list[Any], timeouts: dict[int, float],
                  body: Callable[[], None]) -> None:
        """``recursiveWrappers`` (MI:603-620): the options' wrappers, outermost first."""
        if not wrappers:
            body()
            return
        wrapper, rest = wrappers[0], wrappers[1:]

        def inner() -> None:
            self._wrappers(rest, timeouts, body)

        if wrapper.name == "timestamps":
            self._block("timestamps", inner)
            return
        minutes = timeouts[id(wrapper)]

        def start() -> None:
            self.console.line(f"Timeout set to expire in {time_span(minutes * 60)}")
            self.timeout_minutes = minutes
            self.deadline = time.monotonic() + minutes * self.runner.minute

        def timed() -> None:
            try:
                inner()
            finally:
                self.deadline = None

        self._block("timeout", timed, start=start)

    def _timeout_minutes(self, timeout: Any) -> float:
        value = evaluate(timeout.time, Scope(self.params, self.run_env))
        if isinstance(value, bool) or not isinstance(value, int):
            raise RunnerError(f"{self.job}: {self.prepared.path}:{timeout.line}: timeout time "
                              f"evaluated to {to_string(value)!r}, not an int: not implemented "
                              f"by the job runner; the runner supports: an int, e.g. "
                              f"(params.X ?: '60') as int")
        return value * _UNITS[timeout.unit]

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise BuildInterrupted(self.fire_timeout())

    # --- stages ---------------------------------------------------------------------------

    def _stage_block(self, name: str, body: Callable[[], None]) -> None:
        self.warnings.append(None)
        try:
            self._block("stage", body, shown=name)
        finally:
            self.warnings.pop()

    def _stages(self, stages: tuple[Stage, ...]) -> BaseException | None:
        """``evaluateSequentialStages`` (MI:153-193)."""
        first_error: BaseException | None = None
        for stage in stages:
            try:
                self._stage(stage, first_error)
            except _FAILURES as exc:
                first_error = first_error or exc
        return first_error

    def _stage(self, stage: Stage, first_error: BaseException | None) -> None:
        """``evaluateStage`` (MI:242-330) for a stage with steps."""
        def body() -> None:
            if first_error is not None:
                self.console.line(f'Stage "{stage.name}" skipped due to earlier failure(s)')
                return
            if not all(self._condition(c) for c in stage.when):
                self.console.line(f'Stage "{stage.name}" skipped due to when conditional')
                return
            self._with_environment(stage.environment, lambda: self._single_stage(stage))

        self._stage_block(stage.name, body)

    def _single_stage(self, stage: Stage) -> None:
        """``executeSingleStage`` (MI:629-651)."""
        error: BaseException | None = None
        try:
            self._steps(stage.steps)
        except _FAILURES as exc:
            error = exc
        finally:
            if stage.post is not None and self._satisfied(stage.post, error, True):
                self.console.line("Post stage")
                error = self._run_post(stage.post, error, True)
        if error is not None:
            raise error

    # --- when -----------------------------------------------------------------------------

    def _condition(self, c: Condition) -> bool:
        """The ``when`` conditions (when/impl/*ConditionalScript.groovy, *Conditional.java)."""
        if c.kind == "not":
            return not self._condition(c.children[0])
        if c.kind == "allOf":
            return all(self._condition(x) for x in c.children)
        if c.kind == "anyOf":
            return any(self._condition(x) for x in c.children)
        env = self.env
        if c.kind == "changeRequest":
            return env.get("CHANGE_ID") is not None  # ChangeRequestConditional.java:221-224
        if c.kind == "branch":
            return branch_matches(self, c)
        if c.kind == "environment":
            name = to_string(evaluate(c.args["name"], self.scope()))
            value = to_string(evaluate(c.args["value"], self.scope()))
            actual = env.get(name, "")
            ignore = truth(evaluate(c.args["ignoreCase"], self.scope())) \
                if "ignoreCase" in c.args else False
            return actual.lower() == value.lower() if ignore else actual == value
        result: Any = None
        for stmt in c.body:  # expression { }: the closure's value
            result = evaluate(stmt.expr, self.scope())
            if stmt.is_return:
                break
        return truth(result)

    # --- post -----------------------------------------------------------------------------

    def _logical_result(self, error: BaseException | None, stage: bool) -> str:
        """``BuildCondition.getCombinedResult`` (BuildCondition.java:151-187)."""
        error_result = (self.warnings[-1] or "SUCCESS") if stage and self.warnings else "SUCCESS"
        if error is not None:
            error_result = error.result if isinstance(error, BuildInterrupted) else "FAILURE"
        return worse(self.result or "SUCCESS", error_result) or "SUCCESS"

    @staticmethod
    def _meets(condition: str, logical: str) -> bool:
        if condition in ("always", "cleanup"):
            return True
        if condition == "unsuccessful":
            return logical != "SUCCESS"
        wanted = {"success": "SUCCESS", "unstable": "UNSTABLE", "failure": "FAILURE",
                  "aborted": "ABORTED", "notBuilt": "NOT_BUILT"}[condition]
        return logical == wanted

    def _satisfied(self, post: Post | None, error: BaseException | None, stage: bool) -> bool:
        if post is None:
            return False
        logical = self._logical_result(error, stage)
        return any(self._meets(name, logical) for name, _ in post.conditions)

    def _post_build(self, post: Post | None, error: BaseException | None) -> None:
        """``executePostBuild`` (MI:692-702)."""
        if post is not None and self._satisfied(post, error, False):
            def body() -> None:
                nonlocal error
                error = self._run_post(post, error, False)

            self._stage_block(POST_STAGE, body)
        if error is not None:
            raise error

    def _run_post(self, post: Post, error: BaseException | None,
                  stage: bool) -> BaseException | None:
        """``runPostConditions`` (MI:713-756)."""
        for name, steps in post.conditions:
            original = self.result
            logical = self._logical_result(error, stage)
            try:
                if self._meets(name, logical):
                    self.result = logical
                    self._steps(steps)
            except _FAILURES as exc:
                self.console.line(f"Error when executing {name} post condition:")
                self.console.line(throwable(exc))
                error = error or exc
            finally:
                current = self.result or "SUCCESS"
                if current == logical and logical != original:
                    self.result = original
        return error

    # --- steps ----------------------------------------------------------------------------

    def _announce_and(self, name: str, action: Callable[[], None]) -> None:
        self.console.line(f"[Pipeline] {name}")
        action()

    def _steps(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self._check_deadline()
            if step.name == "withCredentials":
                self._with_credentials(step)
            else:
                self.console.line(f"[Pipeline] {step.name}")
                getattr(self, "_step_" + step.name)(step)
            self._check_deadline()

    def _with_credentials(self, step: Step) -> None:
        """credentials-binding's BindingStep: each binding's variables for the block, the
        secret ones masked (\"Masking supported pattern matches of $X or $Y\"), secret files
        removed when the block ends; the bindings are the freestyle wrapper's
        (``credentials.bind``)."""
        self._need_workspace()
        secret: dict[str, str] = {}
        public: dict[str, str] = {}
        cleanups: list[Callable[[], None]] = []
        try:
            for symbol, named in step.bindings:
                cls, fields, _ = CREDENTIAL_BINDINGS[symbol]
                values = {k: to_string(evaluate(v, self.scope())) for k, v in named.items()}
                bound = bind(Binding(BINDINGS + cls, values["credentialsId"],
                                     {f: values.get(f) for f in fields}),
                             self.credentials, self.job, self.workspace, cleanups)
                secret.update(bound.secret)
                public.update(bound.public)
        except BaseException:
            for cleanup in reversed(cleanups):
                cleanup()
            raise

        def start() -> None:
            self.console.line("Masking supported pattern matches of "
                              + " or ".join(f"${name}" for name in secret))
            self.console.mask(list(secret.values()))

        def body() -> None:
            self.env_layers.append({**public, **secret})
            try:
                self._steps(step.body)
            finally:
                self.env_layers.pop()
                for cleanup in reversed(cleanups):
                    cleanup()

        self._block("withCredentials", body, start=start)

    def _value(self, step: Step, key: str, default: Any = None) -> Any:
        expr = step.named.get(key)
        return default if expr is None else evaluate(expr, self.scope())

    def _string(self, step: Step, key: str, default: str | None = None) -> str | None:
        value = self._value(step, key)
        return default if value is None else to_string(value)

    def _flag(self, step: Step, key: str, default: bool) -> bool:
        value = self._value(step, key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise GroovyError(f"java.lang.IllegalArgumentException: {step.name}: {key} expects a "
                              f"boolean, got {to_string(value)!r}")
        return value

    def _need_workspace(self) -> None:
        if self.node_env is None:
            raise GroovyError(MISSING_WORKSPACE)

    def _step_sh(self, step: Step) -> None:
        self._need_workspace()
        script = self._string(step, "script") or ""
        control = self.workspace.parent / (self.workspace.name + "@tmp") / \
            f"durable-{secrets.token_hex(4)}"
        control.mkdir(parents=True, exist_ok=True)
        path = control / "script.sh"
        path.write_text(script, encoding="utf-8")
        if script.startswith("#!"):
            path.chmod(0o755)
            argv = [str(path)]
        else:
            argv = ["sh", "-xe", str(path)]
        try:
            code = run_process(self, argv)
        finally:
            shutil.rmtree(control, ignore_errors=True)
        if code != 0:
            raise StepAbort(f"script returned exit code {code}")

    def _step_echo(self, step: Step) -> None:
        self.console.line(to_string(self._value(step, "message")))

    def _step_error(self, step: Step) -> None:
        raise StepAbort(to_string(self._value(step, "message")))

    def _step_unstable(self, step: Step) -> None:
        self.console.line("WARNING: " + to_string(self._value(step, "message")))
        self._warn("UNSTABLE")

    def _warn(self, result: str) -> None:
        """A WarningAction on the step: the stage's and the build's result."""
        self.set_result(result)
        if self.warnings:
            self.warnings[-1] = worse(self.warnings[-1], result)

    def _step_archiveArtifacts(self, step: Step) -> None:
        self._need_workspace()
        ArtifactArchiver(
            artifacts=self._string(step, "artifacts") or "",
            excludes=self._string(step, "excludes"),
            allow_empty=self._flag(step, "allowEmptyArchive", False),
            only_if_successful=self._flag(step, "onlyIfSuccessful", False),
            fingerprint=self._flag(step, "fingerprint", False),
            default_excludes=self._flag(step, "defaultExcludes", True),
            case_sensitive=self._flag(step, "caseSensitive", True),
            follow_symlinks=self._flag(step, "followSymlinks", True)).run(self)

    def _step_junit(self, step: Step) -> None:
        self._need_workspace()
        skip = self._flag(step, "skipMarkingBuildUnstable", False)
        self._flag(step, "keepLongStdio", False)
        before = (self.record.tests or {}).get("failCount", 0)
        JUnitResultArchiver(test_results=self._string(step, "testResults") or "",
                            allow_empty=self._flag(step, "allowEmptyResults", False),
                            skip_marking_unstable=skip,
                            skip_old_reports=self._flag(step, "skipOldReports", False)).run(self)
        if (self.record.tests or {}).get("failCount", 0) > before and not skip:
            self._warn("UNSTABLE")

    def _step_writeFile(self, step: Step) -> None:
        self._need_workspace()
        target = self.workspace / (self._string(step, "file") or "")
        text = self._string(step, "text") or ""
        encoding = (self._string(step, "encoding") or "").strip() or None
        target.parent.mkdir(parents=True, exist_ok=True)
        if encoding == "Base64":
            target.write_bytes(base64.b64decode(text))
        else:
            try:
                target.write_bytes(text.encode(encoding or "utf-8"))
            except LookupError:
                raise GroovyError(f"java.nio.charset.UnsupportedCharsetException: {encoding}") \
                    from None

    def _step_checkout(self, step: Step) -> None:
        self._need_workspace()
        if self.scm is None:
            raise GroovyError("groovy.lang.MissingPropertyException: No such property: scm for "
                              "class: groovy.lang.Binding")
        self._checkout()

    def _checkout(self) -> dict[str, str]:
        """``SCMStep.checkout`` of the job's GitSCM into the workspace: git's checkout, its
        BuildData and a polling baseline recorded in the build (WorkflowRun.onCheckout), and
        the variables GitSCM.buildEnvironment sets, which ``checkout`` returns."""
        self._need_workspace()
        scm = self.scm
        assert scm is not None
        runner = self.runner

        def usable(cid: str) -> bool:
            found = self.credentials.find(cid, self.job)
            return found is not None and found.type in ("usernamePassword", "sshUserPrivateKey")

        data, count = checkout(scm, runner.remote_path(self.job, scm.url), self.workspace,
                               self.env, self.console,
                               runner.previous_scm_data(self.job, self.number), self.number,
                               usable)
        self.record.scm = data
        if count > 1:
            self.console.line("Multiple candidate revisions")
            self.console.line(f"Scheduling another build to catch up with "
                              f"{self.job.replace('/', ' » ')}")
            runner.schedule_catch_up(self.job, self.number)
        return runner.scm_environment(self.job, self.number, data, scm.url)


def branch_matches(ctx: PipelineExecution, c: Condition) -> bool:
    """``BranchConditionalScript.evaluate`` and ``BranchConditional.branchMatches``: BRANCH_NAME
    (multibranch) or GIT_LOCAL_BRANCH, compared as an Ant glob, case-insensitively by default
    (when/impl/BranchConditional.java:98-107, when/utils/Comparator.java:46-58)."""
    env = ctx.env
    actual = env.get("BRANCH_NAME") or env.get("GIT_LOCAL_BRANCH") or ""
    pattern = to_string(evaluate(c.args["pattern"], ctx.scope()))
    comparator = to_string(evaluate(c.args["comparator"], ctx.scope())) \
        if "comparator" in c.args else "GLOB"
    if not actual and not pattern:
        return True
    if not actual or not pattern:
        return False
    if comparator == "EQUALS":
        return actual == pattern
    if comparator == "REGEXP":
        return re.fullmatch(pattern, actual) is not None
    return matches(pattern, actual, case_sensitive=False)


def throwable(exc: BaseException) -> str:
    """``Functions.printThrowable`` of a step's failure, its first line."""
    if isinstance(exc, StepAbort):
        return f"hudson.AbortException: {exc}"
    if isinstance(exc, BuildInterrupted):
        return "org.jenkinsci.plugins.workflow.steps.FlowInterruptedException"
    return str(exc)


def time_span(seconds: float) -> str:
    """``Util.getTimeSpanString`` (core Util.java:735-769) for whole seconds and more."""
    total = int(round(seconds))
    units = ((86400, "day"), (3600, "hr"), (60, "min"), (1, "sec"))
    for index, (size, name) in enumerate(units):
        if total >= size:
            big, rest = divmod(total, size)
            shown = f"{big} {'days' if name == 'day' and big != 1 else name}"
            if big >= 10 or index == len(units) - 1:
                return shown
            small_size, small_name = units[index + 1]
            small = rest // small_size
            small_shown = f"{small} {'days' if small_name == 'day' and small != 1 else small_name}"
            return f"{shown} {small_shown}"
    return "0 ms"


def parameter_values(definitions: Any, values: dict[str, str]) -> dict[str, Any]:
    """``params``: each ParameterValue's value (ParamsVariable): a Boolean for boolean
    parameters, else the String."""
    kinds = {d.name: d.kind for d in definitions or ()}
    return {k: (v == "true") if kinds.get(k) == "Boolean" else v for k, v in values.items()}

