"""JJB builders for the steps that call ``jjb-envdelivery`` on a Jenkins agent.

Registered in the ``jenkins_jobs.builders`` entry-point group, so plain
``jenkins-jobs test`` and ``jenkins-jobs update`` know them. Each expands to JJB's own
``shell`` builder: the value of a component here is one checked, correctly quoted command
line, not new XML.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from jenkins_jobs.errors import InvalidAttributeError, JenkinsJobsException, MissingAttributeError

from ..model.limits import Limits
from ..model.organisation import DEFAULT_BUILD_TIMEOUT, MIN_BUILD_TIMEOUT, NAME_PATTERN, PREFIX_PATTERN
from ..model.policy import CLASS_NAME_PATTERN, UnknownClasses

CLI = "jjb-envdelivery"
ENV = "envdelivery-env"
UPDATE = "envdelivery-update"
DRIFT_CHECK = "envdelivery-drift-check"

# command -> (required options, optional options), in the order they appear on the line.
ENV_COMMANDS = {
    "build": (("variant", "release"), ()),
    "verify": (("variant", "release"), ()),
    "gc": (("variant", "release", "keep"), ()),
    "provision": (("release", "config"), ()),
}

_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InvalidValueError(InvalidAttributeError):
    """JJB's InvalidAttributeError, saying what was expected in words.

    JJB's own message lists valid values, and finds the component's name on the call stack,
    which works only below a registry's ``dispatch``; this one is given the component's name.
    """

    def __init__(self, component: str, field: str, value, expected: str):
        JenkinsJobsException.__init__(
            self, f"{value!r} is an invalid value for attribute builder.{component}.{field}: expected {expected}"
        )


def _check_mapping(component: str, data, example: str) -> None:
    if not isinstance(data, dict):
        raise JenkinsJobsException(
            f"builder.{component}: expected a mapping of options, e.g. {example}, not {data!r}"
        )


def _check_known(what: str, data: dict, known: set[str]) -> None:
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise JenkinsJobsException(
            f"builder.{what}: unknown option(s) {', '.join(unknown)}; known are: {', '.join(sorted(known))}"
        )


def _string(component: str, data: dict, field: str, default: str | None = None, pattern: re.Pattern | None = None,
            expected: str = "a non-empty string") -> str:
    """The string option `field`; required where there is no default."""
    if field not in data:
        if default is None:
            raise MissingAttributeError(field, module_name=f"builder.{component}")
        return default
    value = data[field]
    if not isinstance(value, str) or not value.strip() or (pattern is not None and not pattern.fullmatch(value)):
        raise InvalidValueError(component, field, value, expected)
    return value


def _count(component: str, data: dict, field: str, default: int | None, expected: str) -> int:
    """The whole-number option `field` (at least 1): an integer, or its digits as a string."""
    if field not in data:
        if default is None:
            raise MissingAttributeError(field, module_name=f"builder.{component}")
        return default
    value = data[field]
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        number = 0
    if number < 1:
        raise InvalidValueError(component, field, value, expected)
    return number


def _namespace(data: dict) -> str:
    value = _string(UPDATE, data, "namespace", expected="folder:NAME or prefix:NAME- (a string)")
    kind, _, name = value.partition(":")
    pattern = {"folder": NAME_PATTERN, "prefix": PREFIX_PATTERN}.get(kind)
    if pattern is None or not pattern.fullmatch(name):
        raise InvalidValueError(
            UPDATE, "namespace", value,
            "folder:NAME or prefix:NAME- (NAME of letters, digits, '.', '_' and '-'; a prefix ends with '-', "
            "'_' or '.')",
        )
    return value


def _releases(data: dict) -> list[str]:
    """The releases mapping as the CLI's NAME=BRANCH arguments."""
    expected = "a non-empty mapping of release line name to branch, e.g. {current: release/2026.11, upcoming: main}"
    if "releases" not in data:
        raise MissingAttributeError("releases", module_name=f"builder.{UPDATE}")
    releases = data["releases"]
    if not isinstance(releases, dict) or not releases:
        raise InvalidValueError(UPDATE, "releases", releases, expected)
    specs = []
    for name, branch in releases.items():
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise InvalidValueError(UPDATE, "releases", releases,
                                    f"{expected}; release line names of letters, digits, '.', '_' and '-', "
                                    f"not {name!r}")
        if not isinstance(branch, str) or not branch.strip():
            raise InvalidValueError(UPDATE, f"releases.{name}", branch,
                                    "a branch name (a non-empty string; quote a branch like 2026.11)")
        specs.append(f"{name}={branch}")
    return specs


def _jobs_path(data: dict) -> str:
    expected = "a path inside the project's repository (a string, relative, without '..')"
    value = _string(UPDATE, data, "jobs-path", expected=expected)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise InvalidValueError(UPDATE, "jobs-path", value, expected)
    return value


def _build_timeout(data: dict) -> int:
    """Whole minutes, at least MIN_BUILD_TIMEOUT: the build-timeout plugin raises any shorter
    absolute timeout to 3 minutes (AbsoluteTimeOutStrategy.java:36-44), so less is refused."""
    expected = f"whole minutes, at least {MIN_BUILD_TIMEOUT}"
    minutes = _count(UPDATE, data, "build-timeout", DEFAULT_BUILD_TIMEOUT, expected)
    if minutes < MIN_BUILD_TIMEOUT:
        raise InvalidValueError(UPDATE, "build-timeout", data["build-timeout"], expected)
    return minutes


# The `policy` option's list keys -> the command-line option each item becomes, and the check.
_POLICY_LISTS = {
    "agent-labels": ("allow-label", NAME_PATTERN, "agent labels (letters, digits, '.', '_' and '-')"),
    "credentials": ("allow-credential", NAME_PATTERN, "credential IDs (letters, digits, '.', '_' and '-')"),
    "upstreams": ("allow-upstream", re.compile(r"^[^/$\s][^$\s]*$"), "full job names (no leading '/', no '$')"),
    "classes": ("allow-class", CLASS_NAME_PATTERN, "Java class names such as hudson.plugins.groovy.SystemGroovy"),
}
_POLICY_NAMES = {"updater-label": "updater-label", "updater-credential": "updater-credential"}


def _policy_words(data: dict) -> list[str]:
    """The job policy the root scope grants the project (org file ``projects[].allow`` and
    ``policy``), as the child updater's options."""
    if "policy" not in data:
        return []
    policy = data["policy"]
    if not isinstance(policy, dict):
        raise InvalidValueError(UPDATE, "policy", policy, "a mapping (agent-labels, credentials, upstreams, "
                                "classes, unknown-classes, updater-label, updater-credential)")
    _check_known(f"{UPDATE} policy", policy, {*_POLICY_LISTS, *_POLICY_NAMES, "unknown-classes"})
    words = []
    for key, (option, pattern, what) in _POLICY_LISTS.items():
        values = policy.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and pattern.match(v) for v in values):
            raise InvalidValueError(UPDATE, f"policy.{key}", values, f"a list of {what}")
        for value in values:
            words += _option(option, value)
    for key, option in _POLICY_NAMES.items():
        if key in policy:
            words += _option(option, _string(UPDATE, policy, key, pattern=NAME_PATTERN,
                                              expected="letters, digits, '.', '_' and '-'"))
    if "unknown-classes" in policy:
        choice = policy["unknown-classes"]
        if choice not in UnknownClasses.CHOICES:
            raise InvalidValueError(UPDATE, "policy.unknown-classes", choice, " or ".join(UnknownClasses.CHOICES))
        words += _option("unknown-classes", choice)
    return words


def _limit_words(data: dict) -> list[str]:
    """The org file's ``limits`` for team scopes, as ``--limit NAME=VALUE`` options."""
    if "limits" not in data:
        return []
    limits, names = data["limits"], Limits.setting_names()
    expected = f"a mapping of limit names ({', '.join(names)}) to numbers above 0"
    if not isinstance(limits, dict):
        raise InvalidValueError(UPDATE, "limits", limits, expected)
    words = []
    for name, value in limits.items():
        kinds = (int, float) if names.get(name) is float else (int,)
        if name not in names or isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            raise InvalidValueError(UPDATE, f"limits.{name}", value, expected)
        words += _option("limit", f"{name}={value}")
    return words


def _dispatch_shell(registry, xml_parent, command: str) -> None:
    registry.dispatch("builder", xml_parent, {"shell": command})


def _option(name: str, value: str | int) -> list[str]:
    return [f"--{name}", shlex.quote(str(value))]


def envdelivery_env(registry, xml_parent, data):
    """yaml: envdelivery-env
    Run one ``jjb-envdelivery env`` command of the environment lifecycle.

    The step runs in a checkout of the central jobs repository, where ``org-file`` is.
    The command reads the Jenkins build it runs in from ``BUILD_URL`` and ``JOB_NAME``.

    :arg str command: ``build``, ``verify``, ``gc`` or ``provision`` (required)
    :arg str org-file: the org file, relative to the workspace (default ``delivery.yaml``)
    :arg str variant: environment variant (required for build, verify and gc)
    :arg str release: release line (required)
    :arg int keep: verified templates to keep per variant and release line, at least 1
        (gc only, required there)
    :arg str config: the environment configuration file to provision (provision only)

    Example::

        builders:
          - envdelivery-env:
              command: build
              variant: minimal
              release: current

    writes a shell step running
    ``jjb-envdelivery env build --org-file delivery.yaml --variant minimal --release current``.
    """
    _check_mapping(ENV, data, "{command: build, variant: minimal, release: current}")
    if "command" not in data:
        raise MissingAttributeError("command", module_name=f"builder.{ENV}")
    command = data["command"]
    if not isinstance(command, str) or command not in ENV_COMMANDS:
        raise InvalidValueError(ENV, "command", command, f"one of {', '.join(sorted(ENV_COMMANDS))}")
    required, optional = ENV_COMMANDS[command]
    _check_known(f"{ENV} {command}", data, {"command", "org-file", *required, *optional})
    words = [CLI, "env", command, *_option("org-file", _string(ENV, data, "org-file", "delivery.yaml"))]
    for name in (*required, *(name for name in optional if name in data)):
        if name == "keep":
            value = _count(ENV, data, name, None, "how many verified templates to keep, at least 1")
        else:
            value = _string(ENV, data, name)
        words += _option(name, value)
    if command == "verify":
        words.append("--latest")
    _dispatch_shell(registry, xml_parent, " ".join(words))


def envdelivery_update(registry, xml_parent, data):
    """yaml: envdelivery-update
    Run the scoped update of one updater: the root scope or one project's scope.

    The JJB configuration (server URL, user, API token) is never in the job: the job binds
    a Jenkins credential (a secret file) to an environment variable, and this step passes
    that variable's value.

    :arg str scope: ``root`` or a project name (required)
    :arg str conf-variable: environment variable holding the path of the JJB ini file,
        bound from a credential (default ``JJB_CONF``)
    :arg str org-file: the org file, relative to the workspace (root scope only,
        default ``delivery.yaml``)
    :arg str namespace: the project's namespace, ``folder:NAME`` or ``prefix:NAME-``
        (project scopes only, required there)
    :arg dict releases: release line name -> branch (project scopes only, required there)
    :arg str jobs-path: the project's job YAML inside its repository (project scopes only,
        required there)
    :arg str root-folder: the root scope's folder, whose environment jobs may copy the
        team's CI artifacts (project scopes only, required there)
    :arg int build-timeout: minutes before the build-timeout plugin fails a build of the
        team's jobs, at least 3 (project scopes only, default 60; the root scope bakes in the
        org file's ``build-timeout``)
    :arg dict policy: what the job policy lets the team's jobs use (project scopes only):
        ``agent-labels``, ``credentials``, ``upstreams`` (full job names), ``classes`` (plugin
        classes granted as exceptions), ``unknown-classes`` (``refuse`` or ``allow``), and the
        ``updater-label`` and ``updater-credential`` no team job may use (default: nothing granted)
    :arg dict limits: the org file's bounds on the team scope's work, e.g. ``{jobs: 5000}``
        (project scopes only; see ``model.limits.Limits``)
    :arg str adopt-from: a renamed project's former name: its scope takes over the items the
        former scope owns in its namespace (project scopes only; the org file's ``renamed-from``)
    :arg int workers: parallel uploads, at least 1 (default 4)

    Example::

        builders:
          - envdelivery-update:
              scope: payments
              namespace: 'folder:payments'
              releases: {current: release/2026.11, upcoming: main}
              jobs-path: jenkins
              root-folder: delivery
              build-timeout: 60
              policy:
                agent-labels: [payments-build]
                credentials: [payments-registry-push]
                updater-label: jjb-updater
                updater-credential: jjb-updater-config

    The namespace, release lines, policy and limits are baked into the command by the root scope, which
    owns the child updater job; nothing in the team's repository can widen them.

    A wrong option raises JJB's own errors (``InvalidAttributeError``, ``MissingAttributeError``,
    ``JenkinsJobsException``) naming ``builder.envdelivery-update`` and the option: names, the
    namespace and the jobs path are checked as the org file checks them.
    """
    _check_mapping(UPDATE, data, "{scope: root}")
    scope = _string(UPDATE, data, "scope", pattern=NAME_PATTERN,
                    expected="'root' or a project name (letters, digits, '.', '_' and '-')")
    conf_variable = _string(UPDATE, data, "conf-variable", "JJB_CONF", _ENV_VAR,
                            "an environment variable name (letters, digits and '_', not starting with a digit)")
    root_only = {"org-file"}
    project_only = {"namespace", "releases", "jobs-path", "root-folder", "build-timeout", "policy", "limits",
                    "adopt-from"}
    known = {"scope", "conf-variable", "workers"} | (root_only if scope == "root" else project_only)
    _check_known(f"{UPDATE} scope {scope}", data, known)
    words, jobs_path = [CLI, "update", *_option("scope", scope)], []
    if scope == "root":
        words += _option("org-file", _string(UPDATE, data, "org-file", "delivery.yaml"))
    else:
        words += _option("namespace", _namespace(data))
        for spec in _releases(data):
            words += _option("release", spec)
        jobs_path = [shlex.quote(_jobs_path(data))]
        words += _option("root-folder", _string(UPDATE, data, "root-folder", pattern=NAME_PATTERN,
                                                expected="a folder name (letters, digits, '.', '_' and '-')"))
        words += _option("build-timeout", _build_timeout(data))
        words += _policy_words(data) + _limit_words(data)
        if "adopt-from" in data:
            words += _option("adopt-from", _string(UPDATE, data, "adopt-from", pattern=NAME_PATTERN,
                                                   expected="a former project name (letters, digits, '.', '_' "
                                                   "and '-')"))
    words += _option("workers", _count(UPDATE, data, "workers", 4, "the number of parallel uploads, at least 1"))
    words += ["--conf", f'"${conf_variable}"', *jobs_path]
    _dispatch_shell(registry, xml_parent, " ".join(words))


def envdelivery_drift_check(registry, xml_parent, data):
    """yaml: envdelivery-drift-check
    Compare the live configuration of every item of the root scope and of every project scope
    with what git generates (``jjb-envdelivery drift-check``: ``plan --refresh`` per scope). The
    step fails, listing the drifted items per scope, when anything differs; it writes nothing.

    Its cost: per scope, one listing request plus one ``config.xml`` GET per item.

    :arg str org-file: the org file, relative to the workspace (default ``delivery.yaml``)
    :arg str conf-variable: environment variable holding the path of the JJB ini file, bound
        from a credential (default ``JJB_CONF``)

    Example::

        builders:
          - envdelivery-drift-check:
              org-file: delivery.yaml
              conf-variable: JJB_CONF
    """
    if data is None:
        data = {}
    _check_mapping(DRIFT_CHECK, data, "{org-file: delivery.yaml}")
    _check_known(DRIFT_CHECK, data, {"org-file", "conf-variable"})
    conf_variable = _string(DRIFT_CHECK, data, "conf-variable", "JJB_CONF", _ENV_VAR,
                            "an environment variable name (letters, digits and '_', not starting with a digit)")
    words = [CLI, "drift-check", *_option("org-file", _string(DRIFT_CHECK, data, "org-file", "delivery.yaml")),
             "--conf", f'"${conf_variable}"']
    _dispatch_shell(registry, xml_parent, " ".join(words))
