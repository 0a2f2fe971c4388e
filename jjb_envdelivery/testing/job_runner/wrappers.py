"""Build wrappers: set up before the build steps, torn down (in reverse order) after them and
before the publishers (core Build.java:130-160, AbstractBuild.java:524-563).

- ``hudson.plugins.timestamper.TimestamperBuildWrapper``: accepted; it has no fields and
  leaves ``consoleText`` as it is.
- ``org.jenkinsci.plugins.credentialsbinding.impl.SecretBuildWrapper``: see ``credentials``.
- ``hudson.plugins.build__timeout.BuildTimeoutWrapper`` (build-timeout @ 79b2549c,
  src/main/java/hudson/plugins/build_timeout/): the timer starts at set-up and covers the build
  steps (BuildTimeoutWrapper.java:140-214); ``AbsoluteTimeOutStrategy`` minutes, expanded with
  the build's variables and clamped to at least 3 (impl/AbsoluteTimeOutStrategy.java:36-44,
  BuildTimeoutWrapper.java:46), each lasting the runner's ``minute`` seconds; when it fires,
  each operation prints "Build timed out (after N minutes). Marking the build as
  aborted|failed." and interrupts the build with ABORTED (AbortOperation) or FAILURE
  (FailOperation), the last one winning (core Executor.java:218-235); an empty list means
  abort (BuildTimeoutWrapper.java:133-137). ``timeoutEnvVar`` gets the timeout in ms.
- ``hudson.plugins.ws__cleanup.PreBuildCleanup`` (ws-cleanup @ d380d6f1,
  src/main/java/hudson/plugins/ws_cleanup/PreBuildCleanup.java:84-135): deletes the workspace
  before the checkout; ``cleanupParameter`` names a boolean build variable that must be true.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .credentials import Binding, bind, parse_secret_build_wrapper
from .errors import RunnerError, StepAbort
from .xml_fields import expand, refuse_unless_default, text

TIMEOUT = "hudson.plugins.build__timeout."
TIMEOUT_CLASS = "hudson.plugins.build_timeout."  # class="…" values keep single underscores
MINIMUM_TIMEOUT_MINUTES = 3


@dataclass(frozen=True)
class Timestamper:
    def set_up(self, ctx: Any) -> None:
        pass


@dataclass(frozen=True)
class SecretBuildWrapper:
    bindings: tuple[Binding, ...]

    def set_up(self, ctx: Any) -> None:
        secrets: list[str] = []
        variables: dict[str, str] = {}
        for binding in self.bindings:
            bound = bind(binding, ctx.credentials, ctx.job, ctx.workspace, ctx.cleanups)
            secrets += bound.secret.values()
            variables.update(bound.secret)
            variables.update(bound.public)
        ctx.console.mask(secrets)
        ctx.wrapper_env.update(variables)


@dataclass(frozen=True)
class BuildTimeout:
    minutes: str
    operations: tuple[str, ...]  # "ABORTED" | "FAILURE", in order
    env_var: str | None

    def set_up(self, ctx: Any) -> None:
        value = expand(self.minutes, ctx.env).strip()
        try:
            minutes = max(MINIMUM_TIMEOUT_MINUTES, int(value))
        except ValueError:
            raise StepAbort(f"build-timeout: timeoutMinutes {value!r} is not a number") from None
        if self.env_var:
            ctx.wrapper_env[self.env_var] = str(minutes * 60_000)
        ctx.start_timer(minutes, self.operations or ("ABORTED",))


@dataclass(frozen=True)
class PreBuildCleanup:
    cleanup_parameter: str | None

    def pre_checkout(self, ctx: Any) -> None:
        if self.cleanup_parameter:
            if ctx.parameters.get(self.cleanup_parameter, "").lower() != "true":
                ctx.console.line("[WS-CLEANUP] Clean-up disabled, skipping workspace deletion.")
                return
        ctx.console.line("[WS-CLEANUP] Deleting project workspace...")
        if not ctx.workspace.exists():
            return
        shutil.rmtree(ctx.workspace)
        ctx.console.line("[WS-CLEANUP] Done")

    def set_up(self, ctx: Any) -> None:
        pass


def parse_timestamper(el: ET.Element, job: str) -> Timestamper:
    return Timestamper()


def parse_secret_wrapper(el: ET.Element, job: str) -> SecretBuildWrapper:
    return SecretBuildWrapper(tuple(parse_secret_build_wrapper(el, job)))


def parse_build_timeout(el: ET.Element, job: str) -> BuildTimeout:
    where = f"buildWrappers/{el.tag}"
    strategy = el.find("strategy")
    if strategy is None:
        raise RunnerError(f"{job}: {where}: no strategy (the legacy fields "
                          f"timeoutMinutes/failBuild are not implemented by the job runner)")
    cls = strategy.get("class", "")
    if cls != TIMEOUT_CLASS + "impl.AbsoluteTimeOutStrategy":
        raise RunnerError(f"{job}: {where}/strategy class={cls!r}: this timeout strategy is not "
                          f"implemented by the job runner (implemented: AbsoluteTimeOutStrategy)")
    operations: list[str] = []
    holder = el.find("operationList")
    for op in list(holder) if holder is not None else []:
        if op.tag == TIMEOUT + "operations.AbortOperation":
            operations.append("ABORTED")
        elif op.tag == TIMEOUT + "operations.FailOperation":
            operations.append("FAILURE")
        else:
            raise RunnerError(f"{job}: {where}/operationList/{op.tag}: this timeout operation is "
                              f"not implemented by the job runner (implemented: AbortOperation, "
                              f"FailOperation)")
    env_var = (text(el, "timeoutEnvVar") or "").strip() or None
    return BuildTimeout(minutes=text(strategy, "timeoutMinutes") or "", operations=tuple(operations),
                        env_var=env_var)


def parse_pre_build_cleanup(el: ET.Element, job: str) -> PreBuildCleanup:
    where = f"buildWrappers/{el.tag}"
    patterns = el.find("patterns")
    if patterns is not None and len(patterns):
        raise RunnerError(f"{job}: {where}/patterns: cleaning by pattern is not implemented by "
                          f"the job runner (it deletes the whole workspace)")
    refuse_unless_default(el, job, where, {"externalDelete": ("",)})
    return PreBuildCleanup(cleanup_parameter=(text(el, "cleanupParameter") or "").strip() or None)
