"""Render: plain `jenkins-jobs test --config-xml` vs `jjb-envdelivery render`, same jobs, same bytes.

Synthetic organisations (synth_org.py): the baseline is what a plain JJB user runs for them, one
`jenkins-jobs test --config-xml` per scope (the root scope's generated YAML; each project's context,
the shipped templates and the team's directory, `-r`), as tests/render does; each project scope
defines its own `envdelivery` defaults, so the scopes cannot be one JJB run. This project renders
the organisation in one `jjb-envdelivery render ORG -o OUT`. Both write the `--config-xml` layout;
every pair of runs is checked byte for byte.

Corpora (--corpora DIR, e.g. ../shared/corpora): one plain JJB invocation each, exactly as the
corpora README gives it (plus --config-xml), against `jjb-envdelivery render` with the same
arguments.

Also measured: the start-up cost of each command (one job), so the per-scope process starts in
the organisation figures can be told apart from per-job work.

    python benchmarks/bench_render.py --sizes 400,4000 --repeat 3
    python benchmarks/bench_render.py --sizes 4000,20000 --repeat 3 --ours-only   # scale and memory
    python benchmarks/bench_render.py --sizes 0 --corpora ../shared/corpora --repeat 3
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import synth_org

CORPORA = {
    "openstack-project-config": (["--conf", "jenkins.ini", "-p", "plugins_info.yaml"], [], "jenkins/jobs"),
    "lf-global-jjb": (["--conf", "jenkins.ini"], ["-r"], "jjb:.jjb-test"),
}


def scope_commands(org: Path, emitted: Path, out: Path, ini: Path) -> list[list[str]]:
    """One plain `jenkins-jobs test` per scope, as tests/render/test_render.py runs them."""
    from jjb_envdelivery.data_dirs import shipped_templates_dir
    from jjb_envdelivery.model.loader import load_organisation

    base = [common.JENKINS_JOBS, "--conf", str(ini), "-l", "error", "test", "--config-xml", "-o", str(out)]
    commands = [base + [str(emitted / "root.yaml")]]
    for project in load_organisation(org).projects:
        paths = [emitted / f"context-{project.name}.yaml", shipped_templates_dir(),
                 project.repo.local_checkout / project.jobs_path]
        commands.append(base + ["-r", ":".join(map(str, paths))])
    return commands


def bench_org(size: int, work: Path, repeat: int, ours_only: bool, services: int) -> dict:
    org = synth_org.write_org(work / f"org-{size}", size, services)
    ini = work / "plain.ini"
    ini.write_text(common.PLAIN_INI)
    emitted, out_ours, out_base = work / f"yaml-{size}", work / f"ours-{size}", work / f"base-{size}"
    # Untimed: the generated scope YAML the baseline needs (and a warm-up of the file cache).
    common.run([common.ENVDELIVERY, "render", org, "-o", out_ours, "--conf", ini, "--emit-yaml", emitted])
    jobs = sum(1 for _ in out_ours.rglob("config.xml"))
    commands = scope_commands(org, emitted, out_base, ini)

    def ours(i: int) -> common.Measure:
        shutil.rmtree(out_ours, ignore_errors=True)  # as for the baseline: both write a fresh tree
        return common.run([common.ENVDELIVERY, "render", org, "-o", out_ours, "--conf", ini],
                          env=common.isolated_env(work / f"cache-ours-{i}"))

    def baseline(i: int) -> common.Measure:
        shutil.rmtree(out_base, ignore_errors=True)
        total = common.Measure()
        env = common.isolated_env(work / f"cache-base-{i}")
        for command in commands:
            total.add(common.run(command, env=env))
        return total

    def check(i: int) -> None:
        common.assert_same_tree(out_base, out_ours)

    print(f"organisation of {size} requested jobs: {jobs} items (jobs + views), {len(commands)} scopes", flush=True)
    if ours_only:
        runs = [ours(i) for i in range(repeat)]
        for i, m in enumerate(runs):
            print(f"  run {i + 1}/{repeat} render: {common.describe(m)}")
        return {"size": size, "items": jobs, "ours": runs}
    results = common.alternate("jenkins-jobs test (per scope)", baseline, "jjb-envdelivery render", ours,
                               repeat, after=check)
    print(common.summary(f"render, {jobs} items, {len(commands)} scopes; outputs byte-identical in every pair",
                         "jenkins-jobs test", results["jenkins-jobs test (per scope)"],
                         "render", results["jjb-envdelivery render"]))
    return {"size": size, "items": jobs, "ours": results["jjb-envdelivery render"],
            "baseline": results["jenkins-jobs test (per scope)"]}


def bench_startup(work: Path, repeat: int) -> None:
    job = work / "one-job.yaml"
    job.write_text("- job:\n    name: one\n")
    ini = work / "plain.ini"
    ini.write_text(common.PLAIN_INI)
    out_a, out_b = work / "one-base", work / "one-ours"
    results = common.alternate(
        "jenkins-jobs test", lambda i: common.run([common.JENKINS_JOBS, "--conf", ini, "-l", "error", "test",
                                                   "--config-xml", "-o", out_a, job],
                                                  env=common.isolated_env(work / "cache-one-a")),
        "jjb-envdelivery render", lambda i: common.run([common.ENVDELIVERY, "render", job, "-o", out_b,
                                                        "--conf", ini]),
        repeat, after=lambda i: common.assert_same_tree(out_a, out_b))
    print(f"start-up (one job): jenkins-jobs test median {common.med(results['jenkins-jobs test']):.2f} s, "
          f"render median {common.med(results['jjb-envdelivery render']):.2f} s")


def bench_corpus(name: str, corpora: Path, work: Path, repeat: int) -> None:
    corpus = corpora / name
    if not corpus.is_dir():
        print(f"{name}: not in {corpora}, skipped")
        return
    options, jjb_only, paths = CORPORA[name]
    out_base, out_ours = work / f"{name}-base", work / f"{name}-ours"
    base_cmd = [common.JENKINS_JOBS, *options[:2], "-l", "error", "test", *options[2:], *jjb_only,
                "--config-xml", "-o", out_base, paths]
    ours_cmd = [common.ENVDELIVERY, "render", *options, *jjb_only, "-o", out_ours, paths]

    def baseline(i: int) -> common.Measure:
        shutil.rmtree(out_base, ignore_errors=True)
        return common.run(base_cmd, cwd=corpus, env=common.isolated_env(work / f"cache-{name}-{i}"))

    def ours(i: int) -> common.Measure:
        shutil.rmtree(out_ours, ignore_errors=True)
        return common.run(ours_cmd, cwd=corpus, env=common.isolated_env(work / f"cache-{name}-ours-{i}"))

    print(f"corpus {name}", flush=True)
    results = common.alternate("jenkins-jobs test", baseline, "render", ours, repeat,
                               after=lambda i: common.assert_same_tree(out_base, out_ours))
    files = sum(1 for _ in out_ours.rglob("config.xml"))
    print(common.summary(f"corpus {name}: {files} files, byte-identical in every pair",
                         "jenkins-jobs test", results["jenkins-jobs test"], "render", results["render"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="400,4000", help="organisation sizes in jobs (0 or '' for none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (alternating)")
    parser.add_argument("--corpora", type=Path, help="../shared/corpora: also the real-world corpora")
    parser.add_argument("--ours-only", action="store_true", help="only `render` (scale and memory runs)")
    parser.add_argument("--no-startup", action="store_true", help="skip the one-job start-up measurement")
    parser.add_argument("--services", type=int, default=synth_org.SERVICES_PER_PROJECT,
                        help="services per project (smoke tests use fewer)")
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    print(common.header(sys.argv))
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not args.no_startup and not args.ours_only:
            bench_startup(work, args.repeat)
        results = [bench_org(size, work, args.repeat, args.ours_only, args.services)
                   for size in common.parse_sizes(args.sizes) if size > 0]
        if len(results) > 1:
            print("scale (render):")
            first = results[0]
            for r in results:
                per_job = common.med(r["ours"]) / r["items"] * 1000
                growth = common.med(r["ours"]) / common.med(first["ours"])
                print(f"  {r['items']} items: median {common.med(r['ours']):.2f} s ({per_job:.2f} ms per item), "
                      f"x{growth:.2f} the time of {first['items']} items for x{r['items'] / first['items']:.2f} "
                      f"the items; max RSS {max(m.maxrss_mb for m in r['ours']):.0f} MB")
        if args.corpora:
            for name in CORPORA:
                bench_corpus(name, args.corpora, work, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
