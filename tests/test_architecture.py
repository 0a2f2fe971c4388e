"""The layer contracts in pyproject.toml (``[tool.importlinter]``) hold for the package, and they
catch what they are for: an upward import, hidden in a function or not, fails them."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def lint_imports(where: Path) -> tuple[int, str]:
    """Exit code and report (white space folded: the report wraps lines) of `lint-imports` in `where`."""
    # -c puts `where` first on sys.path, so the copy of the package there is the one analysed.
    run = subprocess.run([sys.executable, "-c", LINT], cwd=where, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "COLUMNS": "500"})
    return run.returncode, " ".join((run.stdout + run.stderr).split())


def test_the_package_keeps_every_contract():
    code, report = lint_imports(REPO)
    assert code == 0, report
    assert "0 broken" in report


@pytest.fixture
def copy(tmp_path) -> Path:
    shutil.copytree(REPO / "jjb_envdelivery", tmp_path / "jjb_envdelivery",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(copy: Path, module: str, text: str) -> None:
    path = copy / "jjb_envdelivery" / module
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_function_level_upward_import_breaks_the_layers(copy):
    # The kind of import that once hid a cycle between render and graph.
    plant(copy, "render.py", "\n\ndef _planted():\n    from .graph import build_graph\n\n    return build_graph\n")
    code, report = lint_imports(copy)
    assert code == 1
    assert "jjb_envdelivery.render -> jjb_envdelivery.graph" in report


def test_push_may_not_reach_into_orchestration(copy):
    plant(copy, "push/plan.py", "\nfrom ..orchestration import connection  # noqa: E402\n")
    code, report = lint_imports(copy)
    assert code == 1
    assert "jjb_envdelivery.push.plan -> jjb_envdelivery.orchestration.connection" in report


def test_the_fast_path_is_reached_only_through_the_pipeline(copy):
    plant(copy, "render.py", "\nfrom .jjb.fast import pretty  # noqa: E402\n")
    code, report = lint_imports(copy)
    assert code == 1
    assert "The fast path is reached only through the pipeline" in report


def test_only_the_cli_starts_the_emulator(copy):
    plant(copy, "orchestration/demo.py", "\nfrom ..testing import jenkins_emulator  # noqa: E402\n")
    code, report = lint_imports(copy)
    assert code == 1
    assert "jjb_envdelivery.orchestration.demo -> jjb_envdelivery.testing.jenkins_emulator" in report


def test_every_package_of_the_source_tree_is_installed(repo_root):
    """setup.cfg lists packages by name: a new package missing there is absent from the wheel,
    and only a fresh install (.ci/run) would notice."""
    config = configparser.ConfigParser()
    config.read(repo_root / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    on_disk = {".".join(init.parent.relative_to(repo_root).parts)
               for init in (repo_root / "jjb_envdelivery").rglob("__init__.py")}
    assert on_disk - listed == set()
