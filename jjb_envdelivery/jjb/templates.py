"""Where the shipped job-templates/ live.

JJB has no way for a plugin to ship YAML, so the CLI adds this directory to every scope's
path. A wheel installs it as ``jjb_envdelivery/job_templates``; a checkout (or an editable
install) keeps it at the top level as ``job-templates/``.
"""

from __future__ import annotations

from pathlib import Path

import jjb_envdelivery

_PACKAGE_DIR = Path(jjb_envdelivery.__file__).resolve().parent


def shipped_templates_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "job_templates", _PACKAGE_DIR.parent / "job-templates"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise FileNotFoundError(
        "the shipped job templates are missing: looked in "
        f"{_PACKAGE_DIR / 'job_templates'} and {_PACKAGE_DIR.parent / 'job-templates'}; "
        "reinstall jjb-envdelivery"
    )
