"""Job properties the runner reads, and the ones it ignores because they change nothing a build
does.

- ``hudson.model.ParametersDefinitionProperty`` (core ParametersDefinitionProperty.java:81):
  String, Text, Boolean and Choice parameter definitions; a build gets each definition's value
  (given, or the default), exported as a ``ParametersAction`` and in the environment.
  Parameters a job does not define are dropped, as Jenkins drops them (SECURITY-170).
- ``jenkins.model.BuildDiscarderProperty`` with ``hudson.tasks.LogRotator`` (core
  LogRotator.java:90-115, 155-245): after each build, builds beyond ``numToKeep`` (or older than
  ``daysToKeep``) are deleted and builds beyond ``artifactNumToKeep`` (or older than
  ``artifactDaysToKeep``) lose their artifacts, except the last successful and the last stable
  build unless ``removeLastBuild``. ``-1`` is unlimited; a missing ``numToKeep``/``daysToKeep``
  loads as 0 (jenkins-plugin-semantics.md §10), a missing ``artifact…`` as null (none).
- ``hudson.plugins.copyartifact.CopyArtifactPermissionProperty`` (copyartifact
  CopyArtifactPermissionProperty.java:62, 99-133): read when another job copies from this one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .errors import RunnerError
from .xml_fields import flag, integer, text

PARAMETERS = "hudson.model.ParametersDefinitionProperty"
DISCARDER = "jenkins.model.BuildDiscarderProperty"
COPY_PERMISSION = "hudson.plugins.copyartifact.CopyArtifactPermissionProperty"
# Properties that change nothing a build does (listed, so nothing else slips through).
IGNORED_PROPERTIES = {
    "hudson.plugins.disk__usage.DiskUsageProperty": "disk usage statistics",
    "com.coravy.hudson.plugins.github.GithubProjectProperty": "a link to the project's page",
}


@dataclass(frozen=True)
class ParameterDefinition:
    kind: str  # String | Text | Boolean | Choice
    name: str
    default: str
    trim: bool = False
    choices: tuple[str, ...] = ()

    @property
    def value_class(self) -> str:
        return {"String": "hudson.model.StringParameterValue",
                "Choice": "hudson.model.StringParameterValue",
                "Text": "hudson.model.TextParameterValue",
                "Boolean": "hudson.model.BooleanParameterValue"}[self.kind]

    def value(self, given: str | None, job: str) -> str:
        if given is None:
            return self.default
        if self.kind == "Boolean":
            return "true" if str(given).strip().lower() == "true" else "false"
        if self.kind == "Choice" and given not in self.choices:
            raise RunnerError(f"{job}: parameter {self.name}: {given!r} is not one of the "
                              f"choices {list(self.choices)}")
        return given.strip() if self.trim else given

    def exported(self, value: str) -> dict[str, Any]:
        """The value as ``ParametersAction`` exports it."""
        shown: Any = value == "true" if self.kind == "Boolean" else value
        return {"_class": self.value_class, "name": self.name, "value": shown}


@dataclass(frozen=True)
class LogRotator:
    days_to_keep: int
    num_to_keep: int
    artifact_days_to_keep: int | None
    artifact_num_to_keep: int | None
    remove_last_build: bool


@dataclass(frozen=True)
class Properties:
    parameters: tuple[ParameterDefinition, ...] | None = None  # None: not parameterized
    log_rotator: LogRotator | None = None
    copy_grants: tuple[str, ...] | None = None  # None: no CopyArtifactPermissionProperty


_PARAM_KINDS = {"hudson.model.StringParameterDefinition": "String",
                "hudson.model.TextParameterDefinition": "Text",
                "hudson.model.BooleanParameterDefinition": "Boolean",
                "hudson.model.ChoiceParameterDefinition": "Choice"}


def parse_properties(el: ET.Element | None, job: str) -> Properties:
    found: dict[str, Any] = {}
    for prop in list(el) if el is not None else []:
        if prop.tag == PARAMETERS:
            holder = prop.find("parameterDefinitions")
            found["parameters"] = tuple(_parameter(p, job) for p in
                                        (list(holder) if holder is not None else []))
        elif prop.tag == DISCARDER:
            found["log_rotator"] = _log_rotator(prop, job)
        elif prop.tag == COPY_PERMISSION:
            found["copy_grants"] = copy_grants(prop)
        elif prop.tag not in IGNORED_PROPERTIES:
            raise RunnerError(f"{job}: properties/{prop.tag}: this job property is not "
                              f"implemented by the job runner (implemented: {PARAMETERS}, "
                              f"{DISCARDER}, {COPY_PERMISSION}; ignored: "
                              f"{', '.join(sorted(IGNORED_PROPERTIES))})")
    return Properties(**found)


def copy_grants(prop: ET.Element) -> tuple[str, ...]:
    """``projectNameList`` entries, used as they are (CopyArtifactPermissionProperty.java:62)."""
    return tuple((s.text or "") for s in prop.findall("projectNameList/string"))


def _parameter(el: ET.Element, job: str) -> ParameterDefinition:
    kind = _PARAM_KINDS.get(el.tag)
    where = f"properties/{PARAMETERS}/parameterDefinitions/{el.tag}"
    if kind is None:
        raise RunnerError(f"{job}: {where}: this parameter type is not implemented by the job "
                          f"runner (implemented: {', '.join(sorted(_PARAM_KINDS))})")
    name = (text(el, "name") or "").strip()
    if not name:
        raise RunnerError(f"{job}: {where}: the parameter has no name")
    if kind == "Boolean":
        return ParameterDefinition(kind, name, "true" if flag(el, "defaultValue") else "false")
    if kind == "Choice":
        # <choices class="java.util.Arrays$ArrayList"><a class="string-array"><string>…
        # or, from a form, one choice per line (ChoiceParameterDefinition)
        choices = tuple(s.text or "" for s in el.iter("string"))
        if not choices:
            choices = tuple((text(el, "choices") or "").splitlines())
        return ParameterDefinition(kind, name, choices[0] if choices else "", choices=choices)
    default = text(el, "defaultValue") or ""
    trim = flag(el, "trim")
    return ParameterDefinition(kind, name, default.strip() if trim else default, trim=trim)


def _log_rotator(prop: ET.Element, job: str) -> LogRotator | None:
    strategy = prop.find("strategy")
    where = f"properties/{DISCARDER}/strategy"
    if strategy is None:
        return None
    if strategy.get("class") != "hudson.tasks.LogRotator":
        raise RunnerError(f"{job}: {where} class={strategy.get('class')!r}: this build "
                          f"discarder is not implemented by the job runner (implemented: "
                          f"hudson.tasks.LogRotator)")
    return LogRotator(
        days_to_keep=integer(strategy, "daysToKeep", 0, job, where) or 0,
        num_to_keep=integer(strategy, "numToKeep", 0, job, where) or 0,
        artifact_days_to_keep=integer(strategy, "artifactDaysToKeep", None, job, where),
        artifact_num_to_keep=integer(strategy, "artifactNumToKeep", None, job, where),
        remove_last_build=flag(strategy, "removeLastBuild"))
