"""Helpers shared by the builder tests: JJB's own pipeline, and the error a builder raised."""

from __future__ import annotations

from pathlib import Path

from jenkins_jobs.loader import load_files
from jenkins_jobs.registry import ModuleRegistry
from jenkins_jobs.roots import Roots
from jenkins_jobs.xml_config import XmlJobGenerator

from jjb_envdelivery.jjb.pipeline import make_jjb_config


def jjb_pipeline(path: Path):
    """JJB's own pipeline, unmodified: what `jenkins-jobs test` runs."""
    config = make_jjb_config()
    roots = Roots(config)
    load_files(config, roots, [path])
    registry = ModuleRegistry(config, [])
    registry.set_macros(roots.macros)
    jobs = roots.generate_jobs()
    registry.amend_job_dicts(jobs)
    return XmlJobGenerator(registry).generateXML(jobs)


def origin(exc: BaseException) -> BaseException:
    """The exception the builder raised: JJB re-raises it with context as a new exception."""
    while exc.__context__ is not None:
        exc = exc.__context__
    return exc
