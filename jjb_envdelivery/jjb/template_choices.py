"""Choice parameters of job-templates, checked before JJB expands a project's jobs.

The shipped job-templates pick a macro by a parameter: ``'envdelivery-package-{package}'``
(builders), ``'envdelivery-deliver-host-{deliver-host}'`` (a wrapper and a builder),
``'envdelivery-tests-{test-report}'`` (publishers). JJB 6.5 handles a wrong value badly:

- a missing value (a typo such as ``pakage: deb``) makes JJB's expander fail while it builds
  its own error, because a mapping key has no value position (jenkins_jobs/expander.py:66):
  an AttributeError and a traceback of about a hundred lines;
- an unknown value (``package: rpm``) gives "Unknown entry point or macro
  'envdelivery-package-rpm'", which does not say which values exist.

``check_template_choices`` reads the loaded YAML (JJB's ``Roots``) before any expansion:
for every job-template that a project uses, directly or through job-groups, it finds each
component name made of a literal ``envdelivery-`` prefix and one ``{parameter}``, works out
the accepted values from the macros that exist (for a parameter used in several component
lists, the values that have a macro in all of them), merges the parameters as JJB does
(defaults, then the template, then the project, job-groups and job specs), and raises one
JenkinsJobsException naming the file and line, the project, the template, the parameter and
the accepted values. A value that is itself a template string (``'{kind}'``) is left to JJB.
The parameter a template passes to the ``envdelivery-timeout`` wrapper must likewise be a whole
number of minutes: the build-timeout plugin parses it only when a build starts.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from string import Formatter

from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.job import JobGroup, JobTemplate

log = logging.getLogger(__name__)

# Job contents key -> JJB component type (Roots.macros is keyed by component type).
COMPONENT_LISTS = {
    "builders": "builder", "prebuilders": "builder", "postbuilders": "builder", "publishers": "publisher",
    "wrappers": "wrapper", "properties": "property", "scm": "scm", "triggers": "trigger",
    "parameters": "parameter", "reporters": "reporter",
}
# Only names in this package's namespace: another name could also be one of JJB's own components.
CHECKED_PREFIX = "envdelivery-"
# The wrapper macro of envdelivery-common.yaml whose build-timeout is a number of minutes.
TIMEOUT_MACRO = "envdelivery-timeout"


@dataclass(frozen=True)
class Choice:
    """One parameter that picks macros: the patterns it fills in and the values that have them."""

    parameter: str
    patterns: tuple[tuple[str, str], ...]  # (component type, 'envdelivery-x-{parameter}')
    values: tuple[str, ...]

    def describe(self) -> str:
        kinds = sorted({kind for kind, _ in self.patterns})
        names = sorted({pattern for _, pattern in self.patterns})
        return f"{' and '.join(kinds)} macro{'s' if len(kinds) > 1 else ''} {', '.join(repr(n) for n in names)}"


def _single_field(name: str) -> tuple[str, str, str] | None:
    """('prefix', 'parameter', 'suffix') for a component name with exactly one plain field."""
    try:
        parts = list(Formatter().parse(name))
    except ValueError:
        return None
    at = [index for index, part in enumerate(parts) if part[1] is not None]
    if len(at) != 1:
        return None
    _, field, spec, conversion = parts[at[0]]
    prefix = "".join(part[0] for part in parts[:at[0] + 1])
    suffix = "".join(part[0] for part in parts[at[0] + 1:])
    if spec or conversion or not field or "|" in field or not prefix.startswith(CHECKED_PREFIX):
        return None
    return prefix, field, suffix


def _component_names(contents: dict):
    for key, kind in COMPONENT_LISTS.items():
        items = contents.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, str):
                yield kind, item
            elif isinstance(item, dict) and len(item) == 1:
                yield kind, next(iter(item))


def template_choices(template, macros) -> dict[str, Choice]:
    """The choice parameters of one job-template, each with its accepted values."""
    found: dict[str, list[tuple[str, str, set[str]]]] = {}
    for kind, name in _component_names(template.contents):
        split = _single_field(str(name))
        if split is None:
            continue
        prefix, parameter, suffix = split
        shape = re.compile(re.escape(prefix) + "(.+)" + re.escape(suffix))
        values = {m.group(1) for m in (shape.fullmatch(str(macro)) for macro in macros.get(kind, {})) if m}
        found.setdefault(parameter, []).append((kind, str(name), values))
    choices = {}
    for parameter, uses in found.items():
        values = set.intersection(*(values for _, _, values in uses))
        if values:
            choices[parameter] = Choice(parameter, tuple((kind, name) for kind, name, _ in uses), tuple(sorted(values)))
    return choices


def _where(pos) -> str:
    return f"{pos.path}:{pos.line + 1}: " if pos is not None else ""


class _Params:
    """JJB's merge of parameter mappings (later wins), remembering where each value came from."""

    def __init__(self):
        self.values: dict = {}
        self.origin: dict = {}

    def add(self, mapping) -> _Params:
        merged = _Params()
        merged.values, merged.origin = dict(self.values), dict(self.origin)
        for key, value in (mapping or {}).items():
            merged.values[key] = value
            merged.origin[key] = getattr(mapping, "value_pos", {}).get(key) or getattr(mapping, "pos", None)
        return merged


def _defaults_params(roots, name) -> _Params:
    params = _Params()
    if "global" in roots.defaults:
        params = params.add(roots.defaults["global"].params)
    if name and name != "global" and name in roots.defaults:
        params = params.add(roots.defaults[name].params)
    return params


def _axes(template) -> set[str]:
    try:
        return {field for _, field, _, _ in Formatter().parse(str(template.name)) if field}
    except ValueError:
        return set()


def _check_value(value, choice: Choice, axes: set[str]) -> list:
    """The values among `value` that are not accepted ([] if all are, or if JJB decides later)."""
    if isinstance(value, list) and choice.parameter in axes:
        candidates = [next(iter(v)) if isinstance(v, dict) and len(v) == 1 else v for v in value]
    else:
        candidates = [value]
    bad = []
    for candidate in candidates:
        if isinstance(candidate, str) and "{" in candidate:
            continue  # a template string: JJB expands it, and reports what it makes
        if isinstance(candidate, bool) or not isinstance(candidate, (str, int, float)) or \
                str(candidate) not in choice.values:
            bad.append(candidate)
    return bad


def _close_keys(parameter: str, keys) -> list[str]:
    return difflib.get_close_matches(parameter, [str(k) for k in keys if k != parameter], n=2, cutoff=0.75)


def timeout_parameters(template) -> set[str]:
    """The parameters a job-template passes whole to the envdelivery-timeout wrapper's
    build-timeout (``build-timeout: '{build-timeout}'``): each must be a number of minutes."""
    found = set()
    for item in template.contents.get("wrappers") or []:
        if isinstance(item, dict) and len(item) == 1 and str(next(iter(item))) == TIMEOUT_MACRO:
            data = next(iter(item.values()))
            value = data.get("build-timeout") if isinstance(data, dict) else None
            match = re.fullmatch(r"\{([\w-]+)\}", str(value)) if isinstance(value, str) else None
            if match:
                found.add(match.group(1))
    return found


def _whole_minutes(value) -> bool:
    if isinstance(value, str) and "{" in value:
        return True  # a template string: JJB expands it
    if isinstance(value, str):
        return value.strip().isdigit() and int(value) > 0
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_template(roots, template, params: _Params, project, via: list[str], spec_pos, cache) -> None:
    found = cache.get(id(template))
    if found is None:
        found = cache[id(template)] = (template_choices(template, roots.macros), timeout_parameters(template))
    choices, minutes = found
    if not choices and not minutes:
        return
    defaults = _defaults_params(roots, project.defaults_name or template.defaults_name)
    merged = defaults.add(template.params)
    merged.values.update(params.values)
    merged.origin.update(params.origin)
    axes = _axes(template)
    path = " via ".join([f"job-template {template.id!r}", *via])
    for parameter, choice in sorted(choices.items()):
        accepted = ", ".join(choice.values)
        if parameter not in merged.values:
            hint = ""
            typos = _close_keys(parameter, params.values)
            if typos:
                hint = f" The project sets {' and '.join(repr(t) for t in typos)}: a misspelling of {parameter!r}?"
            raise JenkinsJobsException(
                f"{_where(project.pos)}project {project.name!r}: {path} needs the parameter {parameter!r}, which "
                f"picks the {choice.describe()}; set {parameter}: to one of {accepted}.{hint}"
            )
        bad = _check_value(merged.values[parameter], choice, axes)
        if bad:
            shown = ", ".join(repr(b) for b in bad)
            raise JenkinsJobsException(
                f"{_where(merged.origin.get(parameter) or spec_pos)}project {project.name!r}: {path}: "
                f"{parameter} is {shown}, but it picks the {choice.describe()}, so it must be one of {accepted}."
            )
    for parameter in sorted(minutes):
        # Missing: JJB's own error names it ("Missing parameter"), with its position.
        if parameter in merged.values and not _whole_minutes(merged.values[parameter]):
            raise JenkinsJobsException(
                f"{_where(merged.origin.get(parameter) or spec_pos)}project {project.name!r}: {path}: "
                f"{parameter} is {merged.values[parameter]!r}, but it is the build timeout in minutes: a whole "
                f"number, at least 1 (the build-timeout plugin waits at least 3)."
            )


def _walk(roots, specs, params: _Params, project, via: list[str], cache, depth=0) -> None:
    if depth > 20:  # JJB itself recurses without a limit; a group cycle is JJB's error to report
        return
    for spec in specs:
        item = next((d[spec.name] for d in (roots.jobs, roots.job_templates, roots.job_groups) if spec.name in d),
                    None)
        spec_params = params.add(spec.params)
        if item is None:
            continue  # JJB reports a spec naming nothing
        if isinstance(item, JobGroup):
            # JJB: the group's own parameters override those it was called with.
            _walk(roots, item.specs, spec_params.add(item.params), project, [f"job-group {item.name!r}", *via],
                  cache, depth + 1)
        elif isinstance(item, JobTemplate):
            _check_template(roots, item, spec_params, project, via, spec.pos, cache)


def check_template_choices(roots) -> None:
    """Raise a JenkinsJobsException for the first project whose job-template choice parameter is
    missing or names no macro (see the module docstring)."""
    cache: dict = {}
    for project in roots.projects.values():
        base = _Params().add(project.params).add({"name": project.name})
        try:
            _walk(roots, project.job_specs, base, project, [], cache)
        except JenkinsJobsException:
            raise
        except Exception as exc:  # noqa: BLE001 - YAML this check does not understand is JJB's to judge
            log.debug("choice parameters of project %s not checked: %s: %s", project.name, type(exc).__name__, exc)
