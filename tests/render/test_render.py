"""`jjb-envdelivery render`: output layout, equality with plain `jenkins-jobs test`, and
that a failed render writes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jjb import pipeline

SMALL_ORG = Path(__file__).parent / "fixtures" / "small-org"
JENKINS_JOBS = Path(sys.executable).with_name("jenkins-jobs")


@pytest.fixture
def small_org(tmp_path):
    """A writable copy, so tests can break it."""
    return Path(shutil.copytree(SMALL_ORG, tmp_path / "org"))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def jenkins_jobs_test(paths: list[Path], out: Path, recursive: bool) -> None:
    command = [JENKINS_JOBS, "-l", "error", "test", "--config-xml", "-o", out]
    if recursive:
        command.append("-r")
    subprocess.run([*command, os.pathsep.join(map(str, paths))], check=True, capture_output=True,
                   cwd=out.parent)


def test_small_org_layout(small_org, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["render", str(small_org), "-o", str(out)]) == 0
    assert "rendered 23 jobs and 6 views in 3 scopes: 29 files" in capsys.readouterr().out
    files = tree(out)
    assert all(name.endswith("/config.xml") for name in files)
    assert "payments/billing-current-lint/config.xml" in files
    assert "web-ui-current-ci/config.xml" in files
    assert "delivery/updater-web/config.xml" in files


def assert_same_as_jenkins_jobs_test(org_dir: Path, tmp_path: Path, projects: list[tuple[str, Path]]):
    out, emitted, expected = tmp_path / "render", tmp_path / "yaml", tmp_path / "expected"
    expected.mkdir()
    assert main(["render", str(org_dir), "-o", str(out), "--emit-yaml", str(emitted)]) == 0
    jenkins_jobs_test([emitted / "root.yaml"], expected, recursive=False)
    for project, jobs_dir in projects:
        # Team directories are read recursively, as `jenkins-jobs test -r` would.
        jenkins_jobs_test([emitted / f"context-{project}.yaml", shipped_templates_dir(), jobs_dir],
                          expected, recursive=True)
    rendered, plain = tree(out), tree(expected)
    assert rendered.keys() == plain.keys()
    assert [name for name in rendered if rendered[name] != plain[name]] == []
    return rendered


@pytest.fixture(params=["fast path", "JJB's classes only"])
def render_mode(request):
    """Both ways of rendering (``jjb.fast``'s switch) must write the same bytes."""
    pipeline.set_fast_path(request.param == "fast path")
    yield request.param
    pipeline.set_fast_path(None)


def test_small_org_equals_plain_jenkins_jobs_test(small_org, tmp_path, render_mode):
    assert_same_as_jenkins_jobs_test(small_org, tmp_path, [
        ("payments", small_org / "teams/payments/jenkins"), ("web", small_org / "teams/web/jenkins")])


@pytest.mark.slow
def test_example_org_equals_plain_jenkins_jobs_test(example_org_dir, tmp_path, render_mode):
    from jjb_envdelivery.model.loader import load_organisation

    org = load_organisation(example_org_dir)
    rendered = assert_same_as_jenkins_jobs_test(
        example_org_dir, tmp_path,
        [(p.name, p.repo.local_checkout / p.jobs_path) for p in org.projects])
    # About 400 jobs, like the paper's organisation: 40 services x 3 release lines x 3 jobs,
    # plus 6 folders, 7 updaters, the drift check, 27 environment jobs and the identity team's 6
    # multibranch jobs; and the views.
    jobs = [name for name in rendered if not name.startswith(("project-", "release-", "pipeline-"))]
    assert len(jobs) == 40 * 3 * 3 + 6 + 7 + 1 + 27 + 6


def test_invalid_org_writes_nothing(small_org, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["render", str(small_org), "-o", str(out)]) == 0
    before = tree(out)
    text = (small_org / "delivery.yaml").read_text().replace("services: [billing, ui]", "services: [nope]")
    (small_org / "delivery.yaml").write_text(text)
    assert main(["render", str(small_org), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{small_org / 'delivery.yaml'}:29: environments.variants[0].services: unknown service 'nope'" in err
    assert tree(out) == before


def test_bad_team_yaml_names_scope_and_file(small_org, tmp_path, capsys):
    bad = small_org / "teams/web/jenkins/jobs.yaml"
    bad.write_text(bad.read_text() + "      - no-such-builder\n")
    out = tmp_path / "out"
    assert main(["render", str(small_org), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "scope web:" in err and "no-such-builder" in err
    assert not out.exists()


def test_processes_option(small_org, tmp_path, capsys):
    """One process and several write the same tree; a count below 1 is refused before any work."""
    trees = []
    for count in ("1", "2"):
        out = tmp_path / f"out-{count}"
        assert main(["render", str(small_org), "-o", str(out), "--processes", count]) == 0
        trees.append({p.relative_to(out): p.read_bytes() for p in out.rglob("config.xml")})
    assert trees[0] == trees[1] and len(trees[0]) > 20
    capsys.readouterr()
    assert main(["render", str(small_org), "-o", str(tmp_path / "out-0"), "--processes", "0"]) == 1
    assert "--processes must be at least 1, not 0" in capsys.readouterr().err
    assert not (tmp_path / "out-0").exists()


def test_team_yaml_syntax_error_names_scope_file_and_line(small_org, tmp_path, capsys):
    (small_org / "teams/web/jenkins/broken.yaml").write_text("- job:\n    name: [unclosed\n")
    out = tmp_path / "out"
    assert main(["render", str(small_org), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jjb-envdelivery: error: scope web: ")
    assert "broken.yaml\", line 3" in err and "Traceback" not in err
    assert not out.exists()


def test_plain_yaml_syntax_error_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "jobs.yaml").write_text("- job:\n    name: x\n  bad: [\n")
    assert main(["render", str(tmp_path / "jobs.yaml"), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jjb-envdelivery: error: ") and "jobs.yaml\", line" in err and "Traceback" not in err


def test_error_jjb_cannot_print_a_snippet_for_is_still_one_error(tmp_path, capsys):
    """JJB's own snippet code fails (IndexError) for an error inside a !j2: template."""
    (tmp_path / "jobs.yaml").write_text("- job:\n    name: j\n    description: !j2: '{{ nope.attr }}'\n")
    assert main(["render", str(tmp_path / "jobs.yaml"), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{tmp_path / 'jobs.yaml'}:1:3: In job 'j'" in err and "'nope' is undefined" in err
    assert not (tmp_path / "out").exists()


def test_team_job_outside_its_namespace_is_refused(small_org, tmp_path, capsys):
    (small_org / "teams/web/jenkins/escape.yaml").write_text(
        "- job:\n    name: delivery/root-updater\n    disabled: false\n")
    assert main(["render", str(small_org), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "scope web: " in err and "escape.yaml:1:3:" in err
    assert "job 'delivery/root-updater' is outside the scope's namespace: every name must start with 'web-'" in err


def test_rerender_replaces_stale_output(small_org, tmp_path):
    out = tmp_path / "out"
    assert main(["render", str(small_org), "-o", str(out)]) == 0
    jobs = small_org / "teams/web/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("name: web-ui-current-ci", "name: web-ui-upcoming-ci"))
    assert main(["render", str(small_org), "-o", str(out)]) == 0
    assert not (out / "web-ui-current-ci").exists()
    assert (out / "web-ui-upcoming-ci" / "config.xml").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left


def test_refuses_to_replace_a_directory_it_did_not_write(small_org, tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["render", str(small_org), "-o", str(out)]) == 1
    assert "refusing to replace" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_project_without_local_checkout_is_noted(small_org, tmp_path, capsys):
    text = (small_org / "delivery.yaml").read_text().replace(", local-checkout: teams/web", "")
    (small_org / "delivery.yaml").write_text(text)
    assert main(["render", str(small_org), "-o", str(tmp_path / "out")]) == 0
    assert "note: project web: no local-checkout" in capsys.readouterr().out
    assert not (tmp_path / "out" / "web-ui-current-ci").exists()


def test_missing_jobs_directory(small_org, tmp_path, capsys):
    shutil.rmtree(small_org / "teams/web/jenkins")
    assert main(["render", str(small_org), "-o", str(tmp_path / "out")]) == 1
    assert "project web: no job YAML directory at" in capsys.readouterr().err


def test_plain_jjb_paths(tmp_path):
    job = tmp_path / "jobs.yaml"
    job.write_text("- job:\n    name: f\n    project-type: folder\n- job:\n    name: f/j\n")
    out, expected = tmp_path / "out", tmp_path / "expected"
    expected.mkdir()
    assert main(["render", str(job), "-o", str(out)]) == 0
    jenkins_jobs_test([job], expected, recursive=False)
    assert tree(out) == tree(expected)


def test_plain_jjb_paths_split_over_workers(tmp_path, many_projects):
    job = many_projects(tmp_path / "jobs.yaml")
    out, expected = tmp_path / "out", tmp_path / "expected"
    expected.mkdir()
    assert main(["render", str(job), "-o", str(out), "--processes", "2"]) == 0
    jenkins_jobs_test([job], expected, recursive=False)
    assert tree(out) == tree(expected) and len(tree(out)) == 81  # 80 jobs and a view


def test_plain_render_split_over_workers_writes_nothing_on_error(tmp_path, capsys, many_projects):
    job = many_projects(tmp_path / "jobs.yaml")
    out = tmp_path / "out"
    assert main(["render", str(job), "-o", str(out)]) == 0
    before = tree(out)
    # A project without its `n`: its share fails while the other shares write their files.
    many_projects(job, extra="- project:\n    name: bad\n    stream: a\n    jobs: ['svc-{n}-{stream}']\n")
    assert main(["render", str(job), "-o", str(out), "--processes", "2"]) == 1
    assert "Missing parameter: 'n'" in capsys.readouterr().err
    assert tree(out) == before  # the earlier output, untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left


def test_plugins_info_file(tmp_path, capsys):
    job = tmp_path / "jobs.yaml"
    job.write_text("- job:\n    name: j\n    builders:\n      - shell: make\n")
    plugins = tmp_path / "plugins.yaml"
    plugins.write_text("- {shortName: git, version: '4.0.0', longName: Git}\n")
    assert main(["render", str(job), "-o", str(tmp_path / "out"), "-p", str(plugins)]) == 0
    plugins.write_text("git: 4.0.0\n")
    assert main(["render", str(job), "-o", str(tmp_path / "out"), "-p", str(plugins)]) == 1
    assert "expected a YAML list of plugins" in capsys.readouterr().err


def test_team_yaml_is_confined_when_rendered_too(small_org, tmp_path, capsys):
    """The root updater renders every team scope it can see for its graph check: team YAML is
    untrusted there as well."""
    secret = tmp_path / "agent-secret.ini"
    secret.write_text("password=do-not-leak\n")
    (small_org / "teams/web/jenkins/leak.yaml").write_text(
        f"- job:\n    name: web-leak\n    disabled: false\n    builders:\n"
        f"      - shell: !include-raw-verbatim: {secret}\n")
    assert main(["render", str(small_org), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "is outside the directories this scope may read" in err
    assert "do-not-leak" not in err
    assert not (tmp_path / "out").exists()
