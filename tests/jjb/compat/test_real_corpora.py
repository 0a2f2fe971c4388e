"""Real-world corpora: `jenkins-jobs test` writes the same bytes with and without this package,
and `jjb-envdelivery render` writes those bytes too, on the fast path and with JJB's own classes
only (``JJB_ENVDELIVERY_FAST=0``).

All runs use this venv's Python in a subprocess; the baseline hides this distribution's metadata
(see _cli_runs.RUNNER), so JJB sees exactly the entry points of a plugin-free install.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

# Commands from the corpora README (run inside the corpus, which is read-only, so any write
# into it would fail the run), with the expected number of written jobs + views.
CORPORA = {
    "lf-global-jjb": (
        ["--conf", "jenkins.ini", "-l", "error", "test", "-r", "-o", "{out}", "jjb:.jjb-test"],
        152,
        11,
    ),
    "openstack-project-config": (
        ["--conf", "jenkins.ini", "-l", "error", "test", "-p", "plugins_info.yaml", "-o", "{out}", "jenkins/jobs"],
        12336,
        None,  # the README gives only the total
    ),
}
# The same inputs for `jjb-envdelivery render` (which always writes the --config-xml layout).
RENDER_ARGS = {
    "lf-global-jjb": ["--conf", "jenkins.ini", "-r", "jjb:.jjb-test"],
    "openstack-project-config": ["--conf", "jenkins.ini", "-p", "plugins_info.yaml", "jenkins/jobs"],
}
UNKNOWN = "Unknown entry point or macro 'envdelivery-env' for component type: 'builder'."


def _is_view(xml: bytes) -> bool:
    # Views' root elements are view classes (hudson.model.ListView, ...); jobs' are not.
    root = re.search(rb"<([\w.$-]+)[\s>/]", xml.split(b"?>", 1)[-1])
    return bool(root) and root.group(1).endswith(b"View")


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORPORA))
def test_output_identical_without_plugin(name, corpora_dir, cli_runs, tmp_path):
    corpus = corpora_dir / name
    if not corpus.is_dir():
        pytest.skip(f"no {name} in {corpora_dir}")
    args, files, views = CORPORA[name]
    procs = {}
    for label, hide in (("installed", False), ("baseline", True)):
        out = tmp_path / f"out-{label}"
        argv = [a.format(out=out) for a in args]
        # Started together: the two runs overlap on a 2-core machine.
        procs[label] = (out, cli_runs.start(hide, "jjb", argv, corpus, tmp_path / f"cache-{label}"))
    renders = {}
    for mode, switch in (("fast path", "1"), ("JJB's classes only", "0")):
        rendered = tmp_path / f"out-render-{switch}"
        renders[mode] = (rendered, subprocess.Popen(
            [sys.executable, "-m", "jjb_envdelivery.cli.main", "render", "-o", str(rendered), *RENDER_ARGS[name]],
            cwd=corpus, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache-render"),
                             "JJB_ENVDELIVERY_FAST": switch},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    trees = {}
    for label, (out, proc) in procs.items():
        rc, _, err = cli_runs.finish(proc)
        assert rc == 0, f"{label} run failed:\n{err[-3000:]}"
        trees[label] = cli_runs.read_tree(out)
    installed, baseline = trees["installed"], trees["baseline"]
    assert sorted(installed) == sorted(baseline)
    differing = [path for path in installed if installed[path] != baseline[path]]
    assert not differing, f"{len(differing)} files differ, e.g. {differing[:10]}"
    assert len(installed) == files
    if views is not None:
        assert sum(_is_view(xml) for xml in installed.values()) == views

    for mode, (rendered, render) in renders.items():
        _, err = render.communicate(timeout=1200)
        assert render.returncode == 0, f"{mode}: {err[-3000:]}"
        ours = {path.removesuffix("/config.xml"): xml for path, xml in cli_runs.read_tree(rendered).items()}
        assert sorted(ours) == sorted(installed), mode
        differing = [path for path in installed if installed[path] != ours[path]]
        assert not differing, (f"render ({mode}): {len(differing)} files differ from jenkins-jobs test, "
                               f"e.g. {differing[:10]}")


def test_baseline_hides_the_distribution(cli_runs, tmp_path):
    """The baseline process has no trace of this distribution, and only of it."""
    lines = {}
    for label, hide in (("installed", False), ("baseline", True)):
        rc, out, err = cli_runs.run(hide, "probe", [], tmp_path, tmp_path / f"cache-{label}")
        assert rc == 0, err
        lines[label] = dict(line.split(":", 1) for line in out.splitlines())
    for key in ("builders", "pkg_resources", "importlib.metadata"):
        installed = set(lines["installed"][key].split())
        baseline = set(lines["baseline"][key].split())
        ours = {"envdelivery-env", "envdelivery-update", "envdelivery-copy",
                "envdelivery-drift-check"} if key == "builders" else {cli_runs.DIST}
        assert ours <= installed, key
        assert installed - baseline == ours, key
        assert baseline <= installed, key


def test_baseline_rejects_plugin_builder(cli_runs, tmp_path):
    """A job using envdelivery-env: unknown to the baseline's JJB, known to the installed one."""
    (tmp_path / "jobs.yaml").write_text("- job:\n    name: uses-plugin\n    builders:\n      - envdelivery-env: {}\n")
    # An explicit ini, so no user or system JJB config is read.
    (tmp_path / "jenkins.ini").write_text(
        "[job_builder]\nignore_cache=True\n\n[jenkins]\nurl=http://localhost:8080\nquery_plugins_info=False\n"
    )
    results = {}
    for label, hide in (("installed", False), ("baseline", True)):
        argv = ["--conf", "jenkins.ini", "-l", "error", "test", "-o", f"out-{label}", "jobs.yaml"]
        results[label] = cli_runs.run(hide, "jjb", argv, tmp_path, tmp_path / f"cache-{label}")
    rc, _, err = results["baseline"]
    assert rc != 0 and UNKNOWN in err, err[-3000:]
    # The plugin's own verdict on `{}` may be an error; what matters is that JJB found it.
    _, _, err = results["installed"]
    assert UNKNOWN not in err, err[-3000:]


def test_runner_refuses_to_hide_a_missing_distribution(cli_runs, tmp_path):
    """Were the name ever to stop matching, the baseline must fail, not compare vacuously."""
    rc, _, err = cli_runs.run(True, "probe", [], tmp_path, tmp_path / "cache", dist="no-such-dist")
    assert rc != 0 and "nothing to hide" in err
