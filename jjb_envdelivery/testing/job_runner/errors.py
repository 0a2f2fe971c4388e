"""The job runner's exceptions: what it refuses, and how a build step stops a build."""

from __future__ import annotations


class RunnerError(Exception):
    """A job the runner cannot run: an unknown job, a component (builder, publisher, wrapper,
    trigger, property, SCM) it does not implement, named by its XML element, no agent for the
    job's label, a git URL with no local remote, a malformed credential file. Raised before
    anything of the build runs; the message names the job and the element."""


class StepAbort(Exception):
    """Jenkins's ``hudson.AbortException``: an orderly failure with a message for the console
    (``ERROR: <message>``), no stack trace. The build ends FAILURE (core Run.java:1847-1850)."""


class BuildInterrupted(Exception):
    """The executor was interrupted (a build timeout): the build ends with ``result``
    (core Run.java:1854-1858: ``Executor.abortResult()``, "Build was aborted")."""

    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result
