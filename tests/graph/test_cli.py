"""`jjb-envdelivery graph`, through a parser built the way cli/main.py builds its own."""

from __future__ import annotations

import argparse
import json

import pytest

from jjb_envdelivery.cli import graph as graph_cli
from jjb_envdelivery.errors import EnvDeliveryError

from .conftest import add_yaml


def run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="jjb-envdelivery")
    graph_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["graph", *map(str, argv)])
    return args.run(args)


def test_check_only_passes(tiny_org, capsys):
    assert run(tiny_org, "--check-only") == 0
    out = capsys.readouterr().out
    assert out.startswith("graph checked: 31 nodes (") and out.rstrip().endswith("no problems")


def test_problems_exit_1_and_still_write_the_picture(tiny_org, tmp_path, capsys):
    add_yaml(tiny_org, "web", "broken.yaml",
             "- job: {name: web-x, disabled: false, triggers: [{timed: '@daily'}, {reverse: {jobs: web-nope}}]}\n")
    # A folder team's hand-written jobs naming their upstreams by their bare full names, which work
    # only through Jenkins's fallback to the full name (the shipped templates write '/' + the full name).
    upstream = ", ".join(f"payments/billing-{line}-{stage}" for line in ("current", "upcoming")
                         for stage in ("ci", "package", "deliver"))
    add_yaml(tiny_org, "payments", "smoke.yaml", "".join(
        f"- job: {{name: payments/billing-smoke-{n}, disabled: false, "
        f"triggers: [{{reverse: {{jobs: '{upstream}'}}}}]}}\n" for n in (1, 2)))
    out = tmp_path / "g.json"
    assert run(tiny_org, "--format", "json", "-o", out) == 1
    err = capsys.readouterr().err
    assert err.endswith("jjb-envdelivery: error: the job graph has 1 problem:\n"
                        "  web-x: upstreamProjects (jenkins.triggers.ReverseBuildTrigger): names 'web-nope', which is "
                        "no job of any scope (looked up 'web-nope')\n")
    data = json.loads(out.read_text())
    assert data["problems"][0]["jobs"] == ["web-x"] and data["counts"]["edges"]["trigger"] == 16 + 12
    assert data["problems"][0]["level"] == "error"
    # The warnings are listed, the first ten on standard error, and do not fail.
    warnings = [p for p in data["problems"] if p["level"] == "warning"]
    assert [(p["check"], p["jobs"]) for p in warnings] == (
        [("fallback-name", ["payments/billing-smoke-1"])] * 6 + [("fallback-name", ["payments/billing-smoke-2"])] * 6)
    assert "jjb-envdelivery: 12 warnings (they do not fail):\n" in err
    shown = [line for line in err.splitlines() if "only through Jenkins's fallback to the full name" in line]
    assert len(shown) == 10 and "... and 2 more (`graph --format json` lists every one)" in err


def test_release_view_and_formats(tiny_org, tmp_path):
    html = tmp_path / "g.html"
    assert run(tiny_org, "--release", "current", "-o", html) == 0
    assert "web-ui-upcoming-ci" not in html.read_text() and "web-ui-current-ci" in html.read_text()
    dot = tmp_path / "g.dot"
    assert run(tiny_org, "--format", "dot", "-o", dot) == 0
    assert dot.read_text().startswith("digraph pipeline {")


def test_unknown_release_line(tiny_org):
    with pytest.raises(EnvDeliveryError, match=r"no release line 'later' \(release lines: current, upcoming\)"):
        run(tiny_org, "--release", "later", "--format", "dot")


def test_no_organisation(tmp_path):
    with pytest.raises(EnvDeliveryError, match="no organisation here"):
        run(tmp_path)


def test_a_copy_the_source_does_not_permit_fails(tiny_org, tmp_path, capsys):
    # A team's own smoke job copies the CI job's artifacts, which the shipped template grants only to
    # the package job and the environment jobs.
    add_yaml(tiny_org, "web", "smoke.yaml", """
- job:
    name: web-smoke
    disabled: false
    triggers: [{timed: '@daily'}]
    builders:
      - copyartifact: {project: web-ui-current-ci}
""")
    out = tmp_path / "g.json"
    assert run(tiny_org, "--format", "json", "-o", out) == 1
    err = capsys.readouterr().err
    assert "jjb-envdelivery: error: the job graph has 1 problem:\n  web-ui-current-ci: projectNameList " in err
    [problem] = [p for p in json.loads(out.read_text())["problems"] if p["level"] == "error"]
    assert (problem["check"], problem["jobs"], problem["field"]) == (
        "copy-permission", ["web-ui-current-ci", "web-smoke"],
        "projectNameList (hudson.plugins.copyartifact.CopyArtifactPermissionProperty)")
    assert problem["message"].startswith("web-ui-current-ci: projectNameList (hudson.plugins.copyartifact."
                                         "CopyArtifactPermissionProperty): does not permit web-smoke to copy its "
                                         "artifacts (web-smoke's CopyArtifact project 'web-ui-current-ci'): ")
    assert problem["message"].endswith("Fix: add '/web-smoke' (or 'web-smoke') to the list")
