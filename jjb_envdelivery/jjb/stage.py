"""Loaded YAML on its way to XML: what is done to every expanded job and view before it is
generated (namespace check, owner mark), and the generators of the mode in use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.roots import Roots

from .. import jenkins_names, ownership
from ..model.organisation import Namespace
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
        # Only the root scope's YAML (generated from the org file) may carry a manages mark: its
        # child updaters do. A team's YAML may not forge one, nor an owner mark.
        if ownership.carries_mark(description if isinstance(description, str) else None,
                                  manages_allowed=owner == ownership.ROOT_SCOPE):
            raise JenkinsJobsException(
                f"{item.data['name']}: the description holds an ownership mark; "
                "only the updater may write one"
            ).with_ctx_list(item.context)
        item.data["description"] = ownership.with_mark(description, owner)


def _check_names(items, kind: str, prefix: str) -> None:
    """Refuse, before anything is written or planned, a name Jenkins would refuse or change
    (``jenkins_names.check_full_name``), one outside the namespace, and two names of the scope
    that Jenkins holds as one item (its names ignore case; JJB's duplicate check does not)."""
    namespace = Namespace.of_job_prefix(prefix)
    seen: dict[str, tuple[str, str]] = {}
    for item in items:
        name, where = item.data["name"], _position(item)
        at = f"{where}: " if where else ""
        if not isinstance(name, str):
            raise JenkinsJobsException(f"{at}{kind} name {name!r}: expected a string")
        try:
            jenkins_names.check_full_name(name)
        except ValueError as exc:
            raise JenkinsJobsException(f"{at}{kind} {name!r}: not a name Jenkins keeps as it is: {exc}") from None
        if not namespace.contains(name):
            raise JenkinsJobsException(f"{at}{kind} {name!r} is outside the scope's namespace: {namespace.rule()}")
        key = jenkins_names.same_name_key(name)
        other, other_where = seen.setdefault(key, (name, where))
        if other != name:
            raise JenkinsJobsException(
                f"{at}{kind} {name!r} and {other!r} (at {other_where or 'an unknown place'}) differ only in case: "
                "Jenkins names ignore case, so one would overwrite the other")


def _position(item) -> str:
    """"file:line:column" of the definition, as JJB's own errors give it ("" if unknown)."""
    pos = next((context.pos for context in item.context if context.pos is not None), None)
    return f"{pos.path}:{pos.line + 1}:{pos.column + 1}" if pos is not None else ""
