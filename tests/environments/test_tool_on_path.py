"""The provisioning tool on PATH under its service's name, for its command and the validations."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipapp

from jjb_envdelivery.environments.tool import tool_on_path


def _run(command: str) -> str:
    return subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout


def test_a_zipapp_artifact_runs_as_the_service_name(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "__main__.py").write_text("import sys\nprint('mytool 1.0:', *sys.argv[1:])\n")
    artifacts = tmp_path / "tool"
    artifacts.mkdir()
    # No executable bit: copies through archive and copyartifact need not keep one.
    zipapp.create_archive(source, artifacts / "mytool-1.0.pyz")
    (artifacts / "mytool-1.0.pyz").chmod(0o644)
    before = os.environ["PATH"]
    with tool_on_path("mytool", artifacts, "mytool-1.0.pyz"):
        assert _run("mytool check --smoke") == "mytool 1.0: check --smoke\n"
        assert os.environ["PATH"].split(os.pathsep)[1] == str(artifacts.resolve())
    assert os.environ["PATH"] == before
    assert shutil.which("mytool") is None


def test_an_executable_artifact_runs_as_it_is_and_other_files_stay_files(tmp_path):
    artifacts = tmp_path / "tool"
    artifacts.mkdir()
    (artifacts / "mytool-2.0").write_text("#!/bin/sh\necho mytool 2.0 \"$@\"\n")
    (artifacts / "mytool-2.0").chmod(0o755)
    (artifacts / "other-1.0.tar.gz").write_bytes(b"not runnable")
    with tool_on_path("mytool", artifacts, "mytool-2.0"):
        assert _run("mytool provision") == "mytool 2.0 provision\n"
    with tool_on_path("other", artifacts, "other-1.0.tar.gz"):
        # A tarball is the tool command's business: no `other` is made up for it.
        assert shutil.which("other") is None
