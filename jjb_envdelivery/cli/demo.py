"""``jjb-envdelivery demo``: the example organisation pushed, end to end, into the Jenkins REST
emulator (bootstrap, then the root scope's update, then every team's), then the paper's loop run
through the job runner: a commit to a service (the provisioning tool, or with the container
provider an image's source), its CI, package and deliver jobs, and every environment variant's
build, verify and gc jobs (cli/demo_loop.py)."""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

from ..data_dirs import container_org_dir, example_org_dir
from ..errors import EnvDeliveryError
from ..model.loader import load_organisation
from ..orchestration.bootstrap import REQUIRED_PLUGINS
from ..orchestration.demo import push_organisation
from ..push.apply import summary_table
from ..testing.emulator_state import DEFAULT_PLUGINS
from ..testing.jenkins_emulator import JenkinsEmulator

DEMO_USER = "demo"
SHIPPED_EXAMPLES = {"example-org": example_org_dir, "container-org": container_org_dir}


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="push the example organisation into a local Jenkins REST emulator and run the paper's loop",
        description="Starts the Jenkins REST emulator on 127.0.0.1, bootstraps the organisation into it, "
        "runs the root scope's update and every team's, then commits a new version of one service to a "
        "local git repository and runs what follows with the job runner (a test instrument that runs the "
        "generated jobs on this machine; not Jenkins): the service's CI, package and deliver jobs and every "
        "environment variant's build, verify and gc jobs. With the local provider (the example "
        "organisation) the service is the provisioning tool. With the container provider "
        "(examples/container-org) it is the first service with a Containerfile: the demo starts a registry "
        "on loopback (docker-registry), delivers every service's image once, follows the commit's image "
        "into the registry and into templates of running containers (Podman), then deploys the newest "
        "template as an engineer would, asks it over HTTP and destroys it. Exit status 0 when every build "
        "succeeded and every variant's newest template is verified and carries the committed version. "
        "Needs git and dpkg-deb; the container provider also podman, runc, docker-registry and busybox-static.",
    )
    parser.add_argument("org", nargs="?", type=Path,
                        help="org directory, or a shipped example by name: example-org (the default) or "
                        "container-org (the container provider)")
    parser.add_argument("--service", help="the service whose source the loop commits to (default: the provisioning "
                        "tool with the local provider, the first service with a Containerfile with the container one)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--state-dir", type=Path, help="keep the emulator's state here across runs")
    parser.add_argument("--keep", action="store_true",
                        help="keep serving (and the demo's files, and with containers the deployed environment) "
                        "until interrupted")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (builds, templates) on stdout; the rest goes to stderr")
    parser.set_defaults(run=run)


def demo_plugins() -> list[dict]:
    """A server with the plugins the generated jobs need, at the oldest accepted versions."""
    names = {p["shortName"] for p in DEFAULT_PLUGINS}
    return DEFAULT_PLUGINS + [{"shortName": name, "version": version, "longName": name}
                              for name, version in REQUIRED_PLUGINS.items() if name not in names]


def demo_credentials(org) -> list[dict]:
    """The emulator's credential stores as the platform team sets them up: the updater's
    credential (its ID only) in the root folder's store, which bootstrap checks. The folder does
    not exist before bootstrap creates it; the emulator puts the credential in its store then."""
    return [{"id": org.updater.credential_id, "folder": org.root_folder, "type": "file"}]


def shipped_example(org: Path | None) -> Path:
    """The org directory: `org` when it exists, else one of the shipped examples by name
    (``example-org``, the default, or ``container-org``), wherever this installation keeps them."""
    if org is not None and (org.exists() or org.name not in SHIPPED_EXAMPLES or len(org.parts) > 1):
        return org
    return SHIPPED_EXAMPLES[org.name if org is not None else "example-org"]()


def run(args) -> int:
    # The job runner is imported only when the demo runs: the other commands never need it.
    from .demo_loop import check_prerequisites, container_host, uses_containers, why_no_loop

    out = sys.stderr if args.json else sys.stdout

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    org_dir = shipped_example(args.org)
    org = load_organisation(org_dir)
    no_loop = why_no_loop(org, args.service)
    if no_loop is not None and args.service:
        raise EnvDeliveryError(f"demo --service {args.service}: {no_loop}")
    if no_loop is None:
        check_prerequisites(org)  # before anything starts
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-demo-") as tmp, ExitStack() as host:
        if no_loop is None and uses_containers(org):
            # The registry, the base image and the engine's settings outlive the emulator: the
            # demo's templates are removed from the registry before it stops.
            org = host.enter_context(container_host(org, Path(tmp), say))
        emulator = host.enter_context(JenkinsEmulator(
            port=args.port, users={DEMO_USER: secrets.token_hex(8)}, tokens={DEMO_USER: token},
            plugins=demo_plugins(), state_dir=args.state_dir, quiet_period=0.0,
            credentials=demo_credentials(org)))
        return _push_and_loop(args, org, Path(tmp), emulator, token, no_loop, say)


def _push_and_loop(args, org, work: Path, emulator, token: str, no_loop: str | None, say) -> int:
    """Push the organisation into the emulator, then run the loop (unless `no_loop` says why not)."""
    from ..testing.job_runner import RunnerError
    from .demo_loop import report, run_loop

    conf = work / "jenkins_jobs.ini"
    conf.write_text(f"[jenkins]\nurl={emulator.url}\nuser={DEMO_USER}\npassword={token}\n"
                    "query_plugins_info=False\n", encoding="utf-8")
    say(f"Jenkins REST emulator at {emulator.url} (stores configuration; the job runner runs the builds)")
    reports = push_organisation(org, conf, work, work / "cache", say=say)
    say(summary_table(reports))
    jobs = len(emulator.jobs())
    views = len([v for v in emulator.views() if v != "all"])  # "all" is every server's default view
    say(f"\n{jobs} jobs and folders and {views} views are stored.")
    if not all(r.ok for r in reports):
        if args.json:
            print(json.dumps({"builds": [], "templates": [], "ok": False,
                              "failed-scopes": [r.scope for r in reports if not r.ok]}))
        return 1
    if no_loop is not None:
        say(f"\nNo loop: {no_loop}. Pushed only.")
        if args.json:
            print(json.dumps({"builds": [], "templates": [], "ok": True, "no-loop": no_loop}))
        _keep_serving(args, work, say)
        return 0
    say("\nThe paper's loop, run by the job runner (runs the generated jobs on this machine; not Jenkins):")
    try:
        result = run_loop(emulator, org, work, say, service=args.service, admin=(DEMO_USER, token), keep=args.keep)
    except RunnerError as exc:
        raise EnvDeliveryError(f"demo: the job runner cannot run a generated job: {exc}") from None
    say(report(result))
    tree = "jobs[name,lastBuild[number,result],jobs[name,lastBuild[number,result]]]"
    say(f"\nLook at the jobs and their builds with:\n"
        f"  curl -s -u {DEMO_USER}:{token} '{emulator.url}api/json?tree={tree}'")
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    _keep_serving(args, work, say)
    return 0 if result.ok else 1


def _keep_serving(args, work: Path, say) -> None:
    if not args.keep:
        say(f"\nThe demo's files (repositories, agents, environments) in {work} are removed now; "
            "--keep keeps them, and the emulator, until interrupted.")
        return
    say(f"Serving until interrupted (Ctrl-C); the demo's files are in {work}.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
