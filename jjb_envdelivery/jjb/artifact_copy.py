"""The ``envdelivery-copy`` builder: copyartifact's ``CopyArtifact`` step with the plugin's real fields.

JJB 6.5's own ``copyartifact`` builder writes ``<exclude/>``, a name the plugin has no field for
(its field is ``excludes``), always writes ``<parameters/>`` (an empty string still takes the
plugin's ParametersBuildFilter path) and cannot write the TriggeredBuildSelector's
``upstreamFilterStrategy``, whose global default (UseOldest) makes a job that two upstream
builds triggered at once copy the older one. This component writes the XML the plugin reads
(copyartifact-plugin@937817258df3 src/main/java/hudson/plugins/copyartifact/):

- ``CopyArtifact`` fields, in the order the class declares them (CopyArtifact.java:133-142, which
  is also the order Jenkins writes them back): project, parameters (only when given), filter,
  target, excludes, selector, flatten, optional, doNotFingerprintArtifacts, resultVariableSuffix.
  ``filter`` and ``target`` are always written: XStream runs no constructor (§2 of
  jenkins-plugin-semantics.md) and ``perform`` calls ``target.length()`` and expands ``filter``
  unguarded (CopyArtifact.java:523, 527).
- selectors: ``TriggeredBuildSelector`` (fallbackToLastSuccessful, upstreamFilterStrategy;
  TriggeredBuildSelector.java:59-99, 168-185, 244-251), ``StatusBuildSelector`` (stable;
  StatusBuildSelector.java:41-65) and ``SpecificBuildSelector`` (buildNumber;
  SpecificBuildSelector.java:47-52).

Registered in the ``jenkins_jobs.builders`` entry-point group, so plain ``jenkins-jobs test``
knows it too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as XML

from jenkins_jobs.errors import JenkinsJobsException, MissingAttributeError

from .builders import InvalidValueError

COPY = "envdelivery-copy"
PLUGIN = "hudson.plugins.copyartifact."

# which-build -> (selector class, options that belong to it)
SELECTORS = {
    "upstream-build": ("TriggeredBuildSelector", ("fallback-to-last-successful", "upstream-filter")),
    "last-successful": ("StatusBuildSelector", ("stable",)),
    "specific-build": ("SpecificBuildSelector", ("build-number",)),
}
# upstream-filter -> TriggeredBuildSelector.UpstreamFilterStrategy (enum constant names)
UPSTREAM_FILTERS = {"newest": "UseNewest", "oldest": "UseOldest", "global": "UseGlobalSetting"}

COMMON_OPTIONS = (
    "project", "parameters", "filter", "target", "excludes", "flatten", "optional", "do-not-fingerprint",
    "result-var-suffix", "which-build",
)
SELECTOR_OPTIONS = tuple(option for _, options in SELECTORS.values() for option in options)

# What copyartifact accepts as a result variable suffix without falling back to one it derives
# from the project name (CopyArtifact.java:812-830, hudson.Util's variable pattern).
_SUFFIX = re.compile(r"[A-Za-z0-9_]+")


def _fail(field: str, value, expected: str):
    return InvalidValueError(COPY, field, value, expected)


def _text(data: dict, field: str, default: str | None = None, *, non_empty: bool = False) -> str:
    if field not in data:
        if default is None:
            raise MissingAttributeError(field, module_name=f"builder.{COPY}")
        return default
    value = data[field]
    if not isinstance(value, str) or (non_empty and not value.strip()):
        raise _fail(field, value, "a non-empty string" if non_empty else "a string")
    return value.strip()


def _flag(data: dict, field: str, default: bool) -> bool:
    value = data.get(field, default)
    # A template parameter ('{flatten}') arrives as the string "true"/"false".
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise _fail(field, value, "true or false")
    return value


def _choice(data: dict, field: str, choices, default: str) -> str:
    value = data.get(field, default)
    if not isinstance(value, str) or value not in choices:
        raise _fail(field, value, f"one of {', '.join(choices)}")
    return value


def _build_number(data: dict) -> str:
    if "build-number" not in data:
        raise MissingAttributeError("build-number", module_name=f"builder.{COPY} (which-build: specific-build)")
    value = data["build-number"]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    # The plugin also takes a permalink, a display name or a $VARIABLE (SpecificBuildSelector.java:59-88);
    # an empty one would reach Integer.parseInt("") there.
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _fail("build-number", value, "a build number, a permalink name or a $VARIABLE (a non-empty string)")


def _check_options(data: dict, which: str) -> None:
    unknown = sorted(str(key) for key in data if key not in COMMON_OPTIONS and key not in SELECTOR_OPTIONS)
    if unknown:
        known = sorted({*COMMON_OPTIONS, *SELECTOR_OPTIONS})
        raise JenkinsJobsException(
            f"builder.{COPY}: unknown option(s) {', '.join(unknown)}; known are: {', '.join(known)}"
        )
    for other, (_, options) in SELECTORS.items():
        misplaced = sorted(option for option in options if option in data and other != which)
        if misplaced:
            raise JenkinsJobsException(
                f"builder.{COPY}: {', '.join(misplaced)} is used only with which-build: {other}, "
                f"not with which-build: {which}"
            )


def _selector(parent: XML.Element, data: dict, which: str) -> None:
    cls, _ = SELECTORS[which]
    selector = XML.SubElement(parent, "selector", {"class": PLUGIN + cls})
    if which == "upstream-build":
        fallback = _flag(data, "fallback-to-last-successful", False)
        XML.SubElement(selector, "fallbackToLastSuccessful").text = str(fallback).lower()
        strategy = UPSTREAM_FILTERS[_choice(data, "upstream-filter", tuple(UPSTREAM_FILTERS), "newest")]
        XML.SubElement(selector, "upstreamFilterStrategy").text = strategy
    elif which == "last-successful":
        XML.SubElement(selector, "stable").text = str(_flag(data, "stable", True)).lower()
    else:
        XML.SubElement(selector, "buildNumber").text = _build_number(data)


def envdelivery_copy(registry, xml_parent, data):
    """yaml: envdelivery-copy
    Copy the artifacts of another job's build into the workspace (copyartifact plugin), writing
    only the fields the plugin has.

    :arg str project: the job to copy from, as copyartifact resolves it from the copying job's
        folder: a leading ``/`` makes it absolute (required)
    :arg str filter: comma-separated Ant globs of the artifacts to copy ('' = all, default '')
    :arg str target: directory in the workspace to copy into ('' = the workspace, default '')
    :arg str excludes: comma-separated Ant globs of artifacts not to copy (default '')
    :arg bool flatten: drop the artifacts' directories (default false)
    :arg bool optional: a missing build or no matching file does not fail the build
        (default false)
    :arg bool do-not-fingerprint: do not fingerprint the copied files (default false)
    :arg str result-var-suffix: the selected build's number is recorded in
        ``COPYARTIFACT_BUILD_NUMBER_<suffix>`` (letters, digits, ``_``; default '': the plugin
        derives the suffix from the project name)
    :arg str parameters: only builds whose parameters match, ``NAME=VALUE[,NAME=VALUE...]``
        (default: no filter; the element is then omitted)
    :arg str which-build: which build to copy from (default ``last-successful``)

        :which-build values:
            * **upstream-build** -- the build of ``project`` that triggered this one (also
              through intermediate upstream builds). Options:

              * ``fallback-to-last-successful`` (bool, default false): when no upstream build
                of ``project`` caused this build, take its last successful build;
              * ``upstream-filter`` (default ``newest``): when several builds of ``project``
                caused this one (triggers fold into one queued build), take the ``newest``,
                the ``oldest``, or what the Jenkins-wide setting says (``global``; its default
                is the oldest).
            * **last-successful** -- the newest completed build of ``project`` that passed.
              Option ``stable`` (bool, default true): only SUCCESS builds; false also takes
              UNSTABLE ones (e.g. builds with failing tests).
            * **specific-build** -- option ``build-number`` (required): a build number, a
              permalink name such as ``lastStableBuild``, or a ``$VARIABLE``.

    A wrong option is a JJB error naming ``builder.envdelivery-copy`` and the option, with
    what was expected.

    Example::

        builders:
          - envdelivery-copy:
              project: /payments/billing-api-current-ci
              filter: 'dist/**'
              target: upstream
              which-build: upstream-build
              fallback-to-last-successful: true
              upstream-filter: newest

    Example (a stable build of a provisioning tool)::

        builders:
          - envdelivery-copy:
              project: /platform/envtool-current-ci
              filter: 'dist/envtool-*.tar.gz'
              target: .envdelivery/tool
              flatten: true
              which-build: last-successful
              stable: true
    """
    if not isinstance(data, dict):
        raise JenkinsJobsException(
            f"builder.{COPY}: expected a mapping of options, e.g. {{project: /team/job, which-build: "
            f"upstream-build}}, not {data!r}"
        )
    which = _choice(data, "which-build", tuple(SELECTORS), "last-successful")
    _check_options(data, which)
    copy = XML.SubElement(xml_parent, PLUGIN + "CopyArtifact")
    XML.SubElement(copy, "project").text = _text(data, "project", non_empty=True)
    if "parameters" in data:
        # Present (even empty) means a ParametersBuildFilter (CopyArtifact.java:493).
        XML.SubElement(copy, "parameters").text = _text(data, "parameters", non_empty=True)
    XML.SubElement(copy, "filter").text = _text(data, "filter", "")
    XML.SubElement(copy, "target").text = _text(data, "target", "")
    XML.SubElement(copy, "excludes").text = _text(data, "excludes", "")
    _selector(copy, data, which)
    XML.SubElement(copy, "flatten").text = str(_flag(data, "flatten", False)).lower()
    XML.SubElement(copy, "optional").text = str(_flag(data, "optional", False)).lower()
    XML.SubElement(copy, "doNotFingerprintArtifacts").text = str(_flag(data, "do-not-fingerprint", False)).lower()
    suffix = _text(data, "result-var-suffix", "")
    if suffix and not _SUFFIX.fullmatch(suffix):
        raise _fail("result-var-suffix", suffix, "letters, digits and '_' (or '' for the plugin's default)")
    XML.SubElement(copy, "resultVariableSuffix").text = suffix
