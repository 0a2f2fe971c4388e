"""The fast path: JJB's own rendering, with its per-job waste taken out, behind one switch.

Every module here stands in for a piece of JJB that ``jenkins-jobs test`` runs (loader, string
expansion, registry, XML generators, pretty-printer, sort, the split of a large scope over
processes) and produces the same bytes and the same errors. They reach into JJB's private names
(listed in ``PRIVATE_JJB_NAMES``), so they are used only on a JJB release they were verified
against (``VERIFIED_JJB``) and only while ``JJB_ENVDELIVERY_FAST`` is not ``0``; otherwise the
pipeline renders through JJB's own classes alone (``jjb.pipeline``), with one warning when the
fast path turned itself off.
"""

from __future__ import annotations

import importlib
import logging
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

log = logging.getLogger(__name__)

SWITCH_ENV = "JJB_ENVDELIVERY_FAST"
# Releases of jenkins-job-builder whose output the fast path was compared with byte for byte
# (the render and corpus tests run in both modes).
VERIFIED_JJB = frozenset({"6.5.0"})
# What the fast path reads or overrides in JJB beyond its public interface. A release that lacks
# one of these is not used even when its version is listed above.
PRIVATE_JJB_NAMES = (
    "jenkins_jobs.registry.ModuleRegistry._entry_points_cache",
    "jenkins_jobs.registry.ModuleRegistry._filter_kwargs",
    "jenkins_jobs.registry.ModuleRegistry._dispatch_macro",
    "jenkins_jobs.registry.ModuleRegistry._load_eps",
    "jenkins_jobs.macro.Macro._pick_defaults",
    "jenkins_jobs.xml_config.XmlGenerator._getXMLForData",
    "jenkins_jobs.xml_config.XmlGenerator._gen_xml",
    "jenkins_jobs.expander.StrExpander",
    "jenkins_jobs.formatter.CustomFormatter",
    "jenkins_jobs.loader.Loader",
    "jenkins_jobs.loader.enum_expanded_paths",
    "jenkins_jobs.loader.is_stdin",
    "jenkins_jobs.roots.root_adders",
)

_override: bool | None = None


def installed_jjb() -> str | None:
    try:
        return version("jenkins-job-builder")
    except PackageNotFoundError:
        return None


def missing_private_names() -> list[str]:
    """The names of ``PRIVATE_JJB_NAMES`` the installed JJB does not have."""
    missing = []
    for dotted in PRIVATE_JJB_NAMES:
        parts = dotted.split(".")
        # The longest importable module prefix, then attributes.
        for split in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            try:
                for attribute in parts[split:]:
                    obj = getattr(obj, attribute)
            except AttributeError:
                missing.append(dotted)
            break
        else:
            missing.append(dotted)
    return missing


@lru_cache(maxsize=1)
def _unverified_reason() -> str | None:
    """Why the installed JJB cannot take the fast path, or None when it can."""
    jjb = installed_jjb()
    if jjb not in VERIFIED_JJB:
        return (f"jenkins-job-builder {jjb or '(unknown version)'} is not a release the fast path was verified "
                f"against ({', '.join(sorted(VERIFIED_JJB))})")
    missing = missing_private_names()
    if missing:
        return f"jenkins-job-builder {jjb} lacks {', '.join(missing)}"
    return None


_warned = False


def enabled() -> bool:
    """Whether rendering takes the fast path: not switched off (``JJB_ENVDELIVERY_FAST=0``, the
    CLI's ``--no-fast``) and the installed JJB is one it was verified against."""
    global _warned
    wanted = _override if _override is not None else os.environ.get(SWITCH_ENV, "1").strip() != "0"
    if not wanted:
        return False
    reason = _unverified_reason()
    if reason is None:
        return True
    if not _warned:
        _warned = True
        log.warning("rendering with JJB's own classes only (slower, same output): %s", reason)
    return False


def set_enabled(value: bool | None) -> None:
    """Switch the fast path for this process (the CLI's ``--no-fast``); None: as the environment says."""
    global _override
    _override = value
