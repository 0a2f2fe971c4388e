"""The job runner: runs the jobs this project generates, on this machine; not Jenkins.

A test instrument beside the Jenkins REST emulator (``jenkins_emulator``). It executes the
``config.xml`` of freestyle jobs and of Pipeline jobs (``<flow-definition>``, whose Jenkinsfile
it runs in a small, explicit subset of Declarative Pipeline: ``declarative``) stored in the
emulator, for the subset of Jenkins and its plugins that the shipped templates and the generator
emit, following their source (each module cites the files and lines it follows; the snapshots
are listed in shared/reference/jenkins-plugin-semantics.md §0). It records every build in the emulator, so ``api/json``,
``consoleText`` and ``artifact/…`` answer as Jenkins would. Anything it does not implement is
refused, by its XML element (in a Jenkinsfile: by its file, line and construct), before any of
that build runs (``RunnerError``).

Example::

    from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator
    from jjb_envdelivery.testing.job_runner import JobRunner

    with JenkinsEmulator() as emu:
        ...  # push jobs (jenkins-jobs update, jjb-envdelivery update)
        runner = JobRunner(emu, tmp / "home",
                           remotes={"https://git.example.com/platform/envtool.git": repo},
                           credentials=tmp / "credentials.yaml",
                           agents={"built-in": [], "builders": ["builders", "linux"]},
                           minute=0.5, log=print)
        runner.poll("platform/envtool-current-ci")     # SCMTrigger: queues a build on changes
        for build in runner.run_queue():                # the CI build, then what it triggers
            print(build.job, build.number, build.result)

API:

- ``JobRunner(emulator, home, *, remotes={}, credentials=None, agents=None, env=None,
  minute=60.0, log=None)``: ``remotes`` maps a job's git URL to a local repository (the
  workspace gets ``url.<local>.insteadOf <url>``); ``credentials`` is the credential file
  (format in ``credentials``); ``agents`` maps node names to their labels, in the order they
  are tried (``None``: one built-in node that takes any job); ``env`` is the agents'
  environment (default ``os.environ``); ``minute`` is how many seconds a build-timeout minute
  lasts; ``log`` receives one timeline line per event.
- ``schedule(job, parameters=None, cause=None)``: queue a build (default cause: a user).
- ``poll(job) -> bool``: the job's SCMTrigger; queues a build if there are changes it counts
  (a Pipeline job: ``WorkflowJob.poll``, against the checkouts of its last successful build).
- ``fire_timer(job)``: the job's TimerTrigger.
- ``run_next() -> BuildRecord | None``, ``run_queue(limit=1000) -> list[BuildRecord]``.
- ``builds``: every ``BuildRecord`` in the order the builds ran: ``job`` (full name),
  ``number``, ``result``, ``causes`` (as api/json shows them), ``duration`` (s), ``console``,
  ``workspace``, ``artifacts``, ``node``.

Home layout: ``home/workspace/<full name>/`` (with ``agents``:
``home/agents/<node>/workspace/<full name>/``), ``home/jobs/<full name>/builds/<n>/{log,archive/}``,
``home/fingerprints.json``.

What it runs, and how (the modules): the queue, triggers and downstream builds (``runner``,
``triggers``), node labels (``labels``), the build's order of events and environment
(``build``), git (``git_scm``), ``hudson.tasks.Shell`` (``shell``), credentials and their
bindings (``credentials``), wrappers incl. build timeouts and workspace clean-up
(``wrappers``), archive/fingerprint/copyartifact (``artifacts``), JUnit (``junit``), job
properties and log rotation (``properties``, ``log_rotation``); Pipeline jobs: their config, the
script read from SCM and polling (``pipeline_job``), the Declarative subset's reader
(``declarative``) and its run (``pipeline_run``).

What differs from Jenkins on purpose: builds run one at a time, as SYSTEM, on a secured
Jenkins in production mode where "authenticated" cannot read jobs; queued builds start at once
(no quiet period); trigger schedules (cron specs) are not kept: ``poll`` and ``fire_timer`` are
called by the test or the demo; a job that no agent can run raises ``RunnerError`` where
Jenkins would leave it in the queue forever.
"""

from __future__ import annotations

from .build import BuildRecord
from .errors import RunnerError
from .runner import JobRunner

__all__ = ["BuildRecord", "JobRunner", "RunnerError"]
