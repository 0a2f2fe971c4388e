"""Fixtures of the graph tests: a tiny organisation that passes every check, copied so a test can break it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY_ORG = Path(__file__).parent / "fixtures" / "tiny-org"


@pytest.fixture
def tiny_org(tmp_path) -> Path:
    return Path(shutil.copytree(TINY_ORG, tmp_path / "org"))


def add_yaml(org: Path, team: str, name: str, text: str) -> None:
    (org / "teams" / team / "jenkins" / name).write_text(text, encoding="utf-8")
