"""Push: plain `jenkins-jobs update --workers N` vs the scoped update, first push to an empty server.

Both push the same synthetic organisation (synth_org.py) scope by scope to a fresh Jenkins REST
emulator that adds a fixed latency to every request (Fault("latency", rate=1.0, seconds=...)):
plain JJB runs `jenkins-jobs update --workers N` once per scope (the root scope's generated YAML,
then each project's context + shipped templates + team directory, `-r`), as
tests/push/test_plain_jjb.py does; this project runs `jjb-envdelivery update --scope S --workers N`
for the root and then each project, as the updater jobs do. Plain JJB gets the root scope's folders
pushed first with one worker (its folder race, see plain_push). Each run gets a fresh emulator and
fresh caches. Reported: wall time (all scope runs), their CPU and peak RSS, and the HTTP requests
the emulator answered. Both runs must leave the same jobs and views on the server.

    python benchmarks/bench_push.py --size 400 --workers 8 --latency 0.02 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import synth_org

USER, TOKEN = "bench", "0123456789abcdef0123456789abcdef"


def new_emulator(latency: float):
    from jjb_envdelivery.cli.demo import demo_plugins
    from jjb_envdelivery.testing.jenkins_emulator import Fault, JenkinsEmulator

    faults = [Fault("latency", rate=1.0, seconds=latency)] if latency > 0 else []
    return JenkinsEmulator(users={USER: "pw"}, tokens={USER: TOKEN}, plugins=demo_plugins(),
                           quiet_period=0.0, faults=faults)


def write_conf(url: str, path: Path) -> Path:
    path.write_text(f"[job_builder]\nignore_cache=False\n\n[jenkins]\nurl={url}\nuser={USER}\npassword={TOKEN}\n"
                    "query_plugins_info=False\n")
    return path


def scope_paths(org: Path, emitted: Path) -> dict[str, list[str]]:
    from jjb_envdelivery.data_dirs import shipped_templates_dir
    from jjb_envdelivery.model.loader import load_organisation

    paths = {"root": [str(emitted / "root.yaml")]}
    for p in load_organisation(org).projects:
        paths[p.name] = [str(emitted / f"context-{p.name}.yaml"), str(shipped_templates_dir()),
                         str(p.repo.local_checkout / p.jobs_path)]
    return paths


def folders(rendered: Path) -> list[str]:
    """Full names of the folders among the rendered items (`--config-xml` layout)."""
    found = []
    for path in sorted(rendered.rglob("config.xml")):
        with path.open("rb") as handle:
            head = handle.read(200)
        if b"<com.cloudbees.hudson.plugins.folder.Folder" in head:
            found.append(path.parent.relative_to(rendered).as_posix())
    return found


def plain_push(scopes: dict[str, list[str]], folder_names: list[str], conf: Path, cache: Path,
               workers: int) -> common.Measure:
    """Per scope `jenkins-jobs update --workers N`; the root scope's folders go first, serially.

    With workers, JJB creates a folder and its jobs concurrently and the jobs fail when they win
    the race ("Cannot create job[f/j] because folder for the job does not exist", jjb-internals
    §3.3). The usual workaround, used here: push the folders alone with one worker (JJB's job-name
    arguments select them), then the whole scope; the folders are unchanged by then, so the second
    run skips them by its cache.
    """
    env = common.isolated_env(cache)
    total = common.Measure()
    base = [common.JENKINS_JOBS, "--conf", conf, "-l", "error", "update"]
    for name, paths in scopes.items():
        if name == "root" and folder_names:
            total.add(common.run(base + ["--workers", "1", ":".join(paths), *folder_names], env=env))
        recursive = [] if name == "root" else ["-r"]
        total.add(common.run(base + ["--workers", str(workers), *recursive, ":".join(paths)], env=env))
    return total


def scoped_push(org: Path, scopes: list[str], conf: Path, cache: Path, workers: int) -> common.Measure:
    env = common.isolated_env(cache / "xdg")
    total = common.Measure()
    for name in scopes:
        total.add(common.run([common.ENVDELIVERY, "update", "--scope", name, "--conf", conf, "--org-file",
                              org / "delivery.yaml", "--workers", str(workers), "--cache-dir", cache], env=env))
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=400, help="organisation size in jobs")
    parser.add_argument("--services", type=int, default=synth_org.SERVICES_PER_PROJECT,
                        help="services per project (smoke tests use fewer)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    print(common.header(sys.argv))
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        org = synth_org.write_org(work / "org", args.size, args.services)
        emitted = work / "yaml"
        common.run([common.ENVDELIVERY, "render", org, "-o", work / "rendered", "--emit-yaml", emitted])
        scopes = scope_paths(org, emitted)
        folder_names = folders(work / "rendered")
        stored: dict[str, tuple] = {}

        def measured(label: str, push):
            def run(i: int) -> common.Measure:
                with new_emulator(args.latency) as emu:
                    conf = write_conf(emu.url, work / f"{label}-{i}.ini")
                    m = push(conf, work / f"cache-{label}-{i}")
                    m.extra["requests"] = len(emu.request_log)
                    m.extra["writes"] = sum(r.write for r in emu.request_log)
                    stored[label] = (tuple(sorted(emu.jobs())), tuple(sorted(emu.views())))
                    m.extra["items"] = len(stored[label][0]) + len(stored[label][1])
                return m
            return run

        def check(i: int) -> None:
            if stored["jenkins-jobs update"] != stored["jjb-envdelivery update"]:
                a, b = stored["jenkins-jobs update"], stored["jjb-envdelivery update"]
                raise AssertionError(f"servers differ: {len(a[0])} jobs/{len(a[1])} views vs "
                                     f"{len(b[0])} jobs/{len(b[1])} views")

        print(f"first push of {org.name}: {len(scopes)} scopes, {args.workers} workers, "
              f"{args.latency * 1000:.0f} ms per request", flush=True)
        results = common.alternate(
            "jenkins-jobs update", measured("jenkins-jobs update",
                                            lambda c, d: plain_push(scopes, folder_names, c, d, args.workers)),
            "jjb-envdelivery update", measured("jjb-envdelivery update",
                                               lambda c, d: scoped_push(org, list(scopes), c, d, args.workers)),
            args.repeat, after=check)
        plain, ours = results["jenkins-jobs update"], results["jjb-envdelivery update"]
        items = ours[0].extra["items"]
        print(common.summary(f"first push, {items} items on the server after each run (same set for both)",
                             "jenkins-jobs update", plain, "jjb-envdelivery update", ours))
        print(f"  requests: jenkins-jobs update {plain[0].extra['requests']} "
              f"({plain[0].extra['requests'] / items:.2f} per item), "
              f"jjb-envdelivery update {ours[0].extra['requests']} ({ours[0].extra['requests'] / items:.2f} per item, "
              f"{ours[0].extra['requests'] - items} beyond one per item over {len(scopes)} scope runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
