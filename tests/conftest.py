"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    return Path(os.environ.get("JJB_ENVDELIVERY_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora, or a skip where this machine has no copy of it."""
    path = _shared_dir() / "corpora"
    if not path.is_dir():
        pytest.skip(f"no corpora at {path} (set JJB_ENVDELIVERY_SHARED to its parent)")
    return path


@pytest.fixture(scope="session")
def example_org_dir() -> Path:
    return REPO_ROOT / "examples" / "example-org"
