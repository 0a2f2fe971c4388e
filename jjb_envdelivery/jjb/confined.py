"""Load untrusted (team) JJB YAML so that it can read only inside given directories.

JJB 6.5 trusts its YAML completely (DESIGN.md, "Trust"): include tags read any file the
process can read (absolute paths, ``..``, symlinks, ``{var}``-steered paths), ``!j2``-family
tags render with an unsandboxed Jinja2, and its ``Loader`` is PyYAML's full ``yaml.Loader``,
so ``!!python/object/apply:`` runs arbitrary Python. Its ``{var}`` expansion is
``str.format``, so ``{d.__init__.__globals__[...]}`` walks from a parameter to any module
(``os.environ`` included). ``load_files_confined`` loads the same YAML with a ``Loader``
subclass that closes all four, without patching JJB.

Why the tag objects keep their exact JJB type: JJB's expanders and parameter enumerators
dispatch on ``type(obj)`` (``expander.py``), so an instance of a subclass fails with "Do not
know how to expand type". Each object is therefore built by JJB's own ``from_yaml`` and then
confined in place: instance attributes shadow ``_find_file``/``_render_template`` and replace
the Jinja2 environment with a sandboxed one.
"""

from __future__ import annotations

import _string
import io
import os
import posixpath
import string
import types
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Sequence

import jinja2
import yaml
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.expander import YamlObjectsExpander, deprecated_yaml_tags, yaml_classes_list
from jenkins_jobs.formatter import CustomFormatter
from jenkins_jobs.loader import Loader, enum_expanded_paths, is_stdin, load_deprecated_yaml
from jenkins_jobs.position import Pos
from jenkins_jobs.yaml_objects import (
    IncludeJinja2,
    IncludeRawExpand,
    IncludeRawVerbatim,
    J2BaseYamlObject,
    J2String,
    J2Template,
    J2Yaml,
    YamlInclude,
    YamlListJoin,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..errors import utf8_problem
from . import limits as _limits
from .top_level import add_top_level

__all__ = [
    "BakedContext",
    "CONFINED_TAGS",
    "PASSTHROUGH_TAGS",
    "ConfinedLoader",
    "ConfinementError",
    "load_files_confined",
    "refuse_baked_context",
]

# Tags that read files or render Jinja2: confined. Literal names, so a JJB rename shows up
# in the coverage test instead of silently changing what is confined.
CONFINED_TAGS = frozenset({
    "!include:", "!include",
    "!include-raw-expand:", "!include-raw:", "!include-raw",
    "!include-raw-verbatim:", "!include-raw-escape:", "!include-raw-escape",
    "!include-jinja2:",
    "!j2:", "!j2-yaml:",
})
# Tags that read nothing and render nothing: JJB's constructor, its result checked like any string.
PASSTHROUGH_TAGS = frozenset({"!join:"})

# The JJB classes whose file access and rendering this module knows how to confine.
_CONFINABLE = (YamlInclude, IncludeRawExpand, IncludeRawVerbatim, IncludeJinja2, J2String, J2Yaml)
_PYTHON_TAG_PREFIX = "tag:yaml.org,2002:python/"


class ConfinementError(JenkinsJobsException):
    """Team YAML tried to read outside its directories or to reach Python internals."""


def _where(pos) -> str:
    if isinstance(pos, Pos):
        return f"{pos.path}:{pos.line + 1}:{pos.column + 1}"
    return "<unknown position>"


def _normalise_roots(allowed_roots) -> tuple[Path, ...]:
    # resolve(): the check compares real paths, so the roots must be real paths too.
    roots = tuple(Path(r).expanduser().resolve() for r in allowed_roots)
    if not roots:
        raise ValueError("allowed_roots must name at least one directory")
    return roots


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    # resolve() follows every symlink, so a link inside a root that points out is caught.
    real = Path(path).resolve()
    return any(real.is_relative_to(root) for root in roots)


def _roots_str(roots: Sequence[Path]) -> str:
    return ", ".join(str(r) for r in roots)


class _Confinement:
    """What one tag object may read, and how to word a refusal for it."""

    def __init__(self, tag: str, roots: tuple[Path, ...], pos):
        self.tag = tag
        self.roots = roots
        self.pos = pos

    def check(self, found: Path, requested, pos=None) -> None:
        if _inside(found, self.roots):
            return
        how = "resolves (through a symlink)" if _inside_lexically(found, self.roots) else "is"
        raise ConfinementError(
            f"{_where(pos if isinstance(pos, Pos) else self.pos)}: {self.tag} {str(requested)!r} "
            f"{how} outside the directories this scope may read ({_roots_str(self.roots)})"
        )

    def refuse_template_name(self, name: str) -> None:
        raise ConfinementError(
            f"{_where(self.pos)}: {self.tag} Jinja2 include/import of {name!r} is outside the "
            f"directories this scope may read ({_roots_str(self.roots)}): template names must be "
            "relative and must not contain '..'"
        )

    def refuse_internals(self, error: SecurityError) -> ConfinementError:
        return ConfinementError(
            f"{_where(self.pos)}: {self.tag} {error} This is not allowed in a team scope: "
            "the template reached Python internals"
        )


def _inside_lexically(path: Path, roots: Sequence[Path]) -> bool:
    # Only words the message: a path that is inside until symlinks are followed.
    lexical = Path(os.path.abspath(path))
    return any(lexical.is_relative_to(root) for root in roots)


def _attribute_fields(text: str):
    """Replacement fields in `text` that str.format would resolve with attribute access."""
    # JJB rewrites its `{key|default}` syntax before formatting; look at what str.format sees.
    prepared = CustomFormatter._matcher.sub(lambda m: "{%s}" % m.group("key"), text)
    try:
        for _, field, spec, _ in string.Formatter().parse(prepared):
            if field is None:
                continue
            _, rest = _string.formatter_field_name_split(field)
            if any(is_attr for is_attr, _ in rest):
                yield field
            if spec:  # str.format expands fields nested in the format spec too
                yield from _attribute_fields(spec)
    except ValueError:
        return  # not a format string: JJB fails on it itself if it ever formats it


def _refuse_attribute_field(pos, field: str) -> ConfinementError:
    return ConfinementError(
        f"{_where(pos)}: '{{{field}}}' reads an attribute of a parameter, which is not allowed in a "
        "team scope: str.format attribute access reaches Python internals"
    )


def _check_format_string(text, pos) -> None:
    for field in _attribute_fields(str(text)):
        raise _refuse_attribute_field(pos, field)


class _ConfinedFormatter(CustomFormatter):
    """JJB's formatter without attribute access, for include paths and !include-raw-expand: text."""

    def __init__(self, allow_empty, pos):
        super().__init__(allow_empty)
        self._pos = pos

    def get_field(self, field_name, args, kwargs):
        _, rest = _string.formatter_field_name_split(field_name)
        if any(is_attr for is_attr, _ in rest):
            raise _refuse_attribute_field(self._pos, field_name)
        return super().get_field(field_name, args, kwargs)


class _ConfinedTemplateLoader(jinja2.FileSystemLoader):
    """Jinja2's FileSystemLoader, refusing any template whose real path is outside the roots.

    FileSystemLoader already refuses '..' but strips a leading '/' and follows symlinks, and
    its search path (JJB's include path, usually '.') may lie outside the roots.
    """

    def __init__(self, searchpath, confinement: _Confinement):
        super().__init__(searchpath)
        self._confinement = confinement

    def get_source(self, environment, template):
        if template.startswith(("/", "\\")) or ".." in template.replace("\\", "/").split("/"):
            self._confinement.refuse_template_name(template)
        pieces = split_template_path(template)
        # The same search as FileSystemLoader.get_source, so the same file is chosen.
        for searchpath in self.searchpath:
            filename = posixpath.join(searchpath, *pieces)
            if os.path.isfile(filename):
                self._confinement.check(Path(filename), template)
                break
        return super().get_source(environment, template)


def _confined_find_file(confinement: _Confinement, obj, rel_path, pos):
    # Resolve exactly as JJB does (its search order, its errors), then refuse what is outside.
    found = type(obj)._find_file(obj, rel_path, pos)
    confinement.check(found, rel_path, pos)
    _limits.check_file_size(obj._loader.limits, found, f"{_where(pos)}: {confinement.tag} {str(rel_path)!r}")
    _check_utf8(found, f"{_where(pos)}: {confinement.tag} {str(rel_path)!r}: ")
    return found


def _check_utf8(path, where: str = "") -> None:
    """JJB reads every file as text: name the file and the byte instead of a UnicodeDecodeError."""
    problem = utf8_problem(path)
    if problem:
        raise ConfinementError(f"{where}{problem}; team YAML and the files it includes must be UTF-8 text")


def _confined_render_template(confinement: _Confinement, obj, pos, template_text, template, params):
    try:
        bounded = _limits.BoundedTemplate(template, obj._loader.limits, _where(pos), confinement.tag)
        return type(obj)._render_template(obj, pos, template_text, bounded, params)
    except SecurityError as error:
        raise confinement.refuse_internals(error) from None


def _confine(obj, tag: str, roots: tuple[Path, ...]):
    """Confine one freshly built JJB tag object in place (see the module docstring)."""
    if type(obj) not in _CONFINABLE:
        # A JJB change mapped this tag to a class we have not reviewed.
        raise ConfinementError(
            f"{_where(getattr(obj, '_pos', None))}: tag {tag!r} builds a {type(obj).__name__}, "
            "which this scope may not use"
        )
    confinement = _Confinement(tag, roots, obj._pos)
    obj._find_file = types.MethodType(partial(_confined_find_file, confinement), obj)
    obj._formatter = _ConfinedFormatter(obj._formatter.allow_empty, obj._pos)
    if isinstance(obj, J2BaseYamlObject):
        # Same settings as JJB's environment: its search path, StrictUndefined, its filters.
        env = SandboxedEnvironment(
            loader=_ConfinedTemplateLoader(obj._jinja2_env.loader.searchpath, confinement),
            undefined=jinja2.StrictUndefined,
        )
        env.filters.update(obj._filters)
        obj._jinja2_env = env
        obj._render_template = types.MethodType(partial(_confined_render_template, confinement), obj)
        if isinstance(obj, J2Template):
            # JJB compiled it with the unsandboxed environment; compiling runs nothing.
            obj._template = env.from_string(obj._template_text)
    return obj


def _construct_confined(tag, cls, deprecated, loader, node):
    if deprecated:
        obj = load_deprecated_yaml(tag, cls, loader, node)  # JJB's own warning text
    else:
        obj = cls.from_yaml(loader, node)
    return _confine(obj, tag, loader.allowed_roots)


def _construct_str(loader, node):
    # Every plain scalar may later go through JJB's str.format expansion; tag objects read
    # their text with construct_yaml_str directly, so Jinja2 text is not checked here.
    value = loader.construct_yaml_str(node)
    _check_format_string(value, loader.pos_from_node(node))
    return value


def _construct_join(loader, node):
    # The joined string is expanded later, so it is checked as a whole.
    value = YamlListJoin.from_yaml(loader, node)
    _check_format_string(value, loader.pos_from_node(node))
    return value


def _refuse_tag(tag, loader, node):
    raise ConfinementError(
        f"{_where(loader.pos_from_node(node))}: tag {node.tag!r} is not allowed in a team scope"
    )


def _refuse_multi_tag(loader, tag_suffix, node):
    raise ConfinementError(
        f"{_where(loader.pos_from_node(node))}: tag {node.tag!r} is not allowed in a team scope "
        "(it would construct Python objects)"
    )


class ConfinedLoader(_limits.LimitedComposer, Loader):
    """JJB's Loader with confined include/Jinja2 tags and no Python-object tags.

    Constructors are registered on this class only; PyYAML copies the inherited table on the
    first ``add_constructor``, so ``jenkins_jobs.loader.Loader`` is left as it was.
    """

    def __init__(self, stream, jjb_config, source_path=None, source_dir=None, anchors=None,
                 allowed_roots: Sequence[Path] = ()):
        super().__init__(stream, jjb_config, source_path, source_dir, anchors)
        self.allowed_roots = tuple(allowed_roots)

    @classmethod
    def empty(cls, jjb_config, allowed_roots: Sequence[Path] = ()):
        return cls(io.StringIO(), jjb_config, allowed_roots=_normalise_roots(allowed_roots))

    def _with_stream(self, stream, source_path, source_dir):
        # JJB's Loader builds a plain `Loader` here for every file and every !j2-yaml: text;
        # without this override all of them would be parsed unconfined.
        return self.nest_include(type(self)(stream, self.jjb_config, source_path, source_dir, self.anchors,
                                            allowed_roots=self.allowed_roots), source_path)

    def load_path(self, path):
        _limits.check_file_size(self.limits, path)
        _check_utf8(path)
        return super().load_path(path)


def _register(loader_cls, classes, deprecated_tags) -> None:
    """Give `loader_cls` a constructor for every tag JJB knows, and refuse Python tags."""
    handled = CONFINED_TAGS | PASSTHROUGH_TAGS
    jjb_tags = [(cls.yaml_tag, cls, False) for cls in classes]
    jjb_tags += [(tag, cls, True) for tag, cls in deprecated_tags]
    loader_cls.add_constructor("tag:yaml.org,2002:str", _construct_str)
    loader_cls.add_constructor(YamlListJoin.yaml_tag, _construct_join)
    for tag, cls, deprecated in jjb_tags:
        if tag in CONFINED_TAGS:
            loader_cls.add_constructor(tag, partial(_construct_confined, tag, cls, deprecated))
        elif tag not in handled:
            # A tag JJB added that nobody reviewed: refuse rather than fall back to JJB's.
            loader_cls.add_constructor(tag, partial(_refuse_tag, tag))
    # What the full yaml.Loader accepts beyond SafeLoader: the python/* tags.
    for tag in list(Loader.yaml_constructors):
        if tag is not None and tag not in yaml.SafeLoader.yaml_constructors and tag not in handled:
            loader_cls.add_constructor(tag, partial(_refuse_tag, tag))
    for prefix in [*Loader.yaml_multi_constructors, _PYTHON_TAG_PREFIX]:
        if prefix is not None:
            loader_cls.add_multi_constructor(prefix, _refuse_multi_tag)


_register(ConfinedLoader, yaml_classes_list, deprecated_yaml_tags)


def _check_top_level(path: Path, roots: tuple[Path, ...]) -> None:
    if not _inside(path, roots):
        raise ConfinementError(
            f"{path}: found by listing a scope directory, but it is outside the directories "
            f"this scope may read ({_roots_str(roots)}); is it a symlink?"
        )


def load_files_confined(config, roots, path_list, allowed_roots: list[Path],
                        limits: _limits.Limits = _limits.DEFAULT_LIMITS) -> None:
    """``jenkins_jobs.loader.load_files`` for untrusted YAML.

    Files named in `path_list` are the caller's choice and load as given; every file reached
    through the YAML or through listing a directory must lie inside `allowed_roots`.
    """
    allowed = _normalise_roots(allowed_roots)
    named_files = {Path(p).resolve() for p in path_list if not is_stdin(p) and not Path(p).is_dir()}
    expander = YamlObjectsExpander(config)
    loader = ConfinedLoader.empty(config, allowed)
    loader.limits = limits
    for path in enum_expanded_paths(path_list):
        if is_stdin(path):
            data = loader.load_fp(path)
        else:
            if path not in named_files:
                _check_top_level(path, allowed)
            data = loader.load_path(path)
        if data is None:
            continue
        add_top_level(config, roots, expander, data)
    # Everything is loaded and nothing expanded yet: the one moment to refuse a scope whose
    # axes would expand to more jobs than its limit, before JJB builds them all.
    _limits.check_expansion(roots, limits)


@dataclass(frozen=True)
class BakedContext:
    """What the root scope bakes into a team scope: the `defaults` entries (by name) of one
    generated file, and the parameters (release lines, namespace...) only that file may set."""

    file: Path
    defaults: frozenset[str]
    keys: frozenset[str]


def _definitions(roots):
    """(kind, element) for every top-level definition that carries parameters."""
    for kind, container in (("defaults", roots.defaults), ("job", roots.jobs), ("job-template", roots.job_templates),
                            ("job-group", roots.job_groups), ("project", roots.projects), ("view", roots.views),
                            ("view-template", roots.view_templates), ("view-group", roots.view_groups)):
        yield from ((kind, element) for element in container.values())


def _param_sets(kind: str, element):
    """(where it is set, params) of a definition and of each job/view it lists with parameters."""
    yield f"{kind} {str(element.name)!r}", element.params
    for spec in [*getattr(element, "specs", ()), *getattr(element, "job_specs", ()),
                 *getattr(element, "view_specs", ())]:
        yield f"{kind} {str(element.name)!r}, its entry {str(spec.name)!r}", spec.params


def refuse_baked_context(roots, baked: BakedContext) -> None:
    """Refuse any definition outside `baked.file` that would change the baked context.

    JJB silently lets a later `defaults` of the same name replace an earlier one, and merges
    parameters defaults < job-template < job-group < project < job entry (root_base.py), so a
    team could otherwise repoint or replace the release lines and its namespace.
    """
    baked_file = baked.file.resolve()

    def from_team(pos) -> bool:
        return not (isinstance(pos, Pos) and Path(pos.path).resolve() == baked_file)

    for kind, element in _definitions(roots):
        if not from_team(element.pos):
            continue
        if kind == "defaults" and element.name in baked.defaults:
            raise ConfinementError(
                f"{_where(element.pos)}: defaults {element.name!r} is baked by the root scope (release lines, "
                "namespace); a team scope may not define it")
        for what, params in _param_sets(kind, element):
            for key in sorted(baked.keys & set(params or ())):
                key_pos = getattr(params, "key_pos", {}).get(key, element.pos)
                raise ConfinementError(
                    f"{_where(key_pos)}: {what} sets {key!r}, which the root scope bakes (release lines, "
                    f"namespace); a team scope may not set any of: {', '.join(sorted(baked.keys))}")
