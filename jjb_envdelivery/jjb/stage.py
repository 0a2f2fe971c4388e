"""Loaded YAML on its way to XML: what is done to every expanded job and view before it is
generated (namespace check, owner mark), and the generators of the mode in use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.roots import Roots

from .. import ownership
from .rendered import RenderedItem


@dataclass
class JobStage:
    """The loaded `roots`, the registry, and the two XML generator classes (JJB's own, or the
    fast path's). ``generate`` turns expanded job or view dicts into ``RenderedItem``s."""

    roots: Roots
    registry: object
    job_generator: type
    view_generator: type
    owner: str | None
    name_prefix: str | None
    write_to: Path | None = None

    @property
    def units(self) -> list:
        # What Roots.generate_jobs expands, in its order: top-level jobs, then projects.
        return [*self.roots.jobs.values(), *self.roots.projects.values()]

    def prepare(self, items, kind: str) -> None:
        if self.name_prefix is not None:
            _check_names(items, kind, self.name_prefix)
        if self.owner is not None:
            _mark_owner(items, self.owner)

    def generate(self, dicts: list, is_view: bool) -> list[RenderedItem]:
        """One item per dict, in order, each knowing the file and line it was defined at."""
        generator = (self.view_generator if is_view else self.job_generator)(self.registry)
        items = [item if isinstance(item, RenderedItem) else RenderedItem(item.xml, item.name, is_view=is_view)
                 for item in generator.generateXML(dicts)]
        for item, data in zip(items, dicts, strict=True):
            item.source = source_of(data)
        return items


def source_of(item) -> str:
    """The file and line of the definition an expanded job or view came from ("" if unknown)."""
    for context in item.context:
        if context.pos is not None:
            return f"{context.pos.path}:{context.pos.line + 1}"
    return ""


def _mark_owner(items, owner: str) -> None:
    for item in items:
        description = item.data.get("description")
        if ownership.carries_mark(description if isinstance(description, str) else None):
            raise JenkinsJobsException(
                f"{item.data['name']}: the description holds an ownership mark; "
                "only the updater may write one"
            ).with_ctx_list(item.context)
        item.data["description"] = ownership.with_mark(description, owner)


def _check_names(items, kind: str, prefix: str) -> None:
    for item in items:
        name = item.data["name"]
        if not name.startswith(prefix):
            raise JenkinsJobsException(
                f"{kind} {name!r} is outside the scope's namespace: every name must start with {prefix!r}"
            ).with_ctx_list(item.context)
