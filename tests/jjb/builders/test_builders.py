"""Fixture tests for the builders this package registers with JJB.

NAME.yaml renders to NAME.xml, or fails with an error containing the text of NAME.error.
The expected XML is JJB's freestyle skeleton with one ``hudson.tasks.Shell`` step (the
Jenkins core shell builder: a single ``command`` element), written by hand; for
``envdelivery-copy`` (copy-*) one or two ``CopyArtifact`` steps, written by hand from the
plugin's fields, and for ``envdelivery-git`` (git-*) JJB's own git XML (test_artifact_copy.py
checks both against the plugins' source).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.render import render_paths

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = sorted(p.stem for p in FIXTURES.glob("*.yaml"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_fixture(name):
    source = FIXTURES / f"{name}.yaml"
    expected_xml = FIXTURES / f"{name}.xml"
    expected_error = FIXTURES / f"{name}.error"
    if expected_error.exists():
        with pytest.raises(EnvDeliveryError) as caught:
            render_paths([source])
        assert expected_error.read_text().strip() in str(caught.value)
        return
    rendered = render_paths([source])
    assert len(rendered.jobs) == 1
    assert rendered.jobs[0].output().decode("utf-8") == expected_xml.read_text()


def test_every_fixture_has_an_expectation():
    for name in SCENARIOS:
        assert (FIXTURES / f"{name}.xml").exists() != (FIXTURES / f"{name}.error").exists(), name


def test_plain_jenkins_jobs_sees_the_builders(tmp_path):
    """The entry points work for plain `jenkins-jobs test`, with no patching of JJB."""
    out = tmp_path / "out"
    subprocess.run(
        [Path(sys.executable).with_name("jenkins-jobs"), "-l", "error", "test", "--config-xml",
         "-o", out, FIXTURES / "update-project.yaml"],
        check=True, capture_output=True, cwd=tmp_path,
    )
    written = (out / "updater-payments" / "config.xml").read_text()
    assert written == (FIXTURES / "update-project.xml").read_text()
