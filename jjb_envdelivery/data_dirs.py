"""Where the data shipped with the package lives: the job-templates and the example organisation.

A wheel installs them inside the package (``jjb_envdelivery/job_templates``,
``jjb_envdelivery/example_org``); a checkout or an editable install keeps them at the top
level (``job-templates/``, ``examples/example-org/``).
"""

from __future__ import annotations

from pathlib import Path

import jjb_envdelivery

_PACKAGE_DIR = Path(jjb_envdelivery.__file__).resolve().parent


def _find(installed: str, checkout: str, marker: str) -> Path:
    candidates = (_PACKAGE_DIR / installed, _PACKAGE_DIR.parent / checkout)
    for candidate in candidates:
        if any(candidate.glob(marker)):
            return candidate
    raise FileNotFoundError(f"missing from this installation (looked in {', '.join(map(str, candidates))}); "
                            "reinstall jjb-envdelivery")


def shipped_templates_dir() -> Path:
    """JJB has no way for a plugin to ship YAML, so the CLI adds this directory to team scopes."""
    return _find("job_templates", "job-templates", "*.yaml")


def example_org_dir() -> Path:
    return _find("example_org", "examples/example-org", "delivery.yaml")


def container_org_dir() -> Path:
    """The second example organisation: the container provider (``demo examples/container-org``)."""
    return _find("container_org", "examples/container-org", "delivery.yaml")
