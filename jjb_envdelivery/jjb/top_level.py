"""The top level of a JJB YAML file, added to ``Roots`` with JJB's checks and messages.

JJB's ``load_files`` does this inline for its own loader; the confined and libyaml loaders
(``confined``, ``fast.yaml_loader``) share this copy of its checks.
"""

from __future__ import annotations

from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.roots import root_adders
from jenkins_jobs.yaml_objects import BaseYamlObject

__all__ = ["add_top_level"]


def add_top_level(config, roots, expander, data) -> None:
    """Add one loaded file (`data`, a list of single-key dicts) to `roots`."""
    if not isinstance(data, list):
        raise JenkinsJobsException(
            # JJB itself dies on `data.pos` (AttributeError) when the document is a scalar.
            f"The topmost collection must be a list, but is: {data}", pos=getattr(data, "pos", None)
        )
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise JenkinsJobsException(
                f"Topmost list should contain single-item dict, not a {type(entry)}. Missing indent?",
                pos=data.value_pos[index],
            )
        if len(entry) != 1:
            raise JenkinsJobsException(
                f"Topmost dict should be single-item, but have keys {list(entry.keys())}. Missing indent?",
                pos=entry.pos,
            )
        ((kind, contents),) = entry.items()
        if kind.startswith("_"):
            continue
        if isinstance(contents, BaseYamlObject):
            contents = contents.expand(expander, params={})
        adder = root_adders.get(kind)
        if adder is None:
            raise JenkinsJobsException(
                f"Unknown topmost element type : {kind!r}; known are: {','.join(root_adders)}.",
                pos=entry.pos,
            )
        adder(config, roots, contents, entry.pos)
