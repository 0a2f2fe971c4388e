"""``jjb-envdelivery demo``: the example organisation pushed, end to end, into the Jenkins REST
emulator: bootstrap, then the root scope's update, then every team's."""

from __future__ import annotations

import secrets
import tempfile
import threading
from pathlib import Path

from ..data_dirs import example_org_dir
from ..model.loader import load_organisation
from ..orchestration.bootstrap import REQUIRED_PLUGINS
from ..orchestration.demo import push_organisation
from ..push.apply import summary_table
from ..testing.emulator_state import DEFAULT_PLUGINS
from ..testing.jenkins_emulator import JenkinsEmulator

DEMO_USER = "demo"


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="push the example organisation into a local Jenkins REST emulator",
        description="Starts the Jenkins REST emulator on 127.0.0.1 (it stores and checks configuration and "
        "runs no builds), bootstraps the organisation into it, runs the root scope's update and every "
        "team's, prints what it made and where to look, and stops the emulator (or keeps it with --keep).",
    )
    parser.add_argument("org", nargs="?", type=Path, help="org directory (default: the example organisation)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--state-dir", type=Path, help="keep the emulator's state here across runs")
    parser.add_argument("--keep", action="store_true", help="keep serving until interrupted")
    parser.set_defaults(run=run)


def demo_plugins() -> list[dict]:
    """A server with the plugins the generated jobs need, at the oldest accepted versions."""
    names = {p["shortName"] for p in DEFAULT_PLUGINS}
    return DEFAULT_PLUGINS + [{"shortName": name, "version": version, "longName": name}
                              for name, version in REQUIRED_PLUGINS.items() if name not in names]


def run(args) -> int:
    org_dir = args.org or example_org_dir()
    org = load_organisation(org_dir)
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-demo-") as tmp, JenkinsEmulator(
        port=args.port, users={DEMO_USER: secrets.token_hex(8)}, tokens={DEMO_USER: token},
        plugins=demo_plugins(), state_dir=args.state_dir, quiet_period=0.0,
    ) as emulator:
        work = Path(tmp)
        conf = work / "jenkins_jobs.ini"
        conf.write_text(f"[jenkins]\nurl={emulator.url}\nuser={DEMO_USER}\npassword={token}\n"
                        "query_plugins_info=False\n", encoding="utf-8")
        cache = work / "cache"
        print(f"Jenkins REST emulator at {emulator.url} (stores configuration, runs no builds)")
        reports = push_organisation(org, conf, work, cache)
        print(summary_table(reports))
        jobs = len(emulator.jobs())
        views = len([v for v in emulator.views() if v != "all"])  # "all" is every server's default view
        print(f"\n{jobs} jobs and folders and {views} views are stored. Look at them with:\n"
              f"  curl -s -u {DEMO_USER}:{token} '{emulator.url}api/json?tree=jobs[name,jobs[name]],views[name]'\n"
              f"  curl -s -u {DEMO_USER}:{token} '{emulator.url}job/{org.root_folder}/job/root-updater/config.xml'")
        failed = not all(r.ok for r in reports)
        if args.keep:
            print("Serving until interrupted (Ctrl-C).")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
        return 1 if failed else 0
