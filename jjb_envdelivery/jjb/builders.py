"""JJB builders for the steps that call ``jjb-envdelivery`` on a Jenkins agent.

Registered in the ``jenkins_jobs.builders`` entry-point group, so plain
``jenkins-jobs test`` and ``jenkins-jobs update`` know them. Each expands to JJB's own
``shell`` builder: the value of a component here is one checked, correctly quoted command
line, not new XML.
"""

from __future__ import annotations

import re
import shlex

from jenkins_jobs.errors import InvalidAttributeError, JenkinsJobsException, MissingAttributeError

CLI = "jjb-envdelivery"

# command -> (required options, optional options), in the order they appear on the line.
ENV_COMMANDS = {
    "build": (("variant", "release"), ()),
    "verify": (("variant", "release"), ()),
    "gc": (("variant", "release", "keep"), ()),
    "provision": (("release", "config"), ()),
}

_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _dispatch_shell(registry, xml_parent, command: str) -> None:
    registry.dispatch("builder", xml_parent, {"shell": command})


def _option(name: str, value) -> list[str]:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise JenkinsJobsException(f"option {name!r} must be a string or a number, not {value!r}")
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
    :arg int keep: verified templates to keep per variant and release line (gc only)
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
    if not isinstance(data, dict):
        raise JenkinsJobsException("envdelivery-env takes a mapping of options, e.g. {command: build}")
    command = data.get("command")
    if command is None:
        raise MissingAttributeError("command")
    if command not in ENV_COMMANDS:
        raise InvalidAttributeError("command", command, sorted(ENV_COMMANDS))
    required, optional = ENV_COMMANDS[command]
    known = {"command", "org-file", *required, *optional}
    unknown = sorted(set(data) - known)
    if unknown:
        raise JenkinsJobsException(
            f"envdelivery-env {command}: unknown option(s) {', '.join(unknown)}; "
            f"known are: {', '.join(sorted(known))}"
        )
    words = [CLI, "env", command, *_option("org-file", data.get("org-file", "delivery.yaml"))]
    for name in required:
        if name not in data:
            raise MissingAttributeError(name)
        words += _option(name, data[name])
    for name in optional:
        if name in data:
            words += _option(name, data[name])
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
    :arg int workers: parallel uploads (default 4)

    Example::

        builders:
          - envdelivery-update:
              scope: payments
              namespace: 'folder:payments'
              releases: {current: release/2026.11, upcoming: main}
              jobs-path: jenkins
              root-folder: delivery

    The namespace and release lines are baked into the command by the root scope, which
    owns the child updater job; nothing in the team's repository can widen them.
    """
    if not isinstance(data, dict):
        raise JenkinsJobsException("envdelivery-update takes a mapping of options, e.g. {scope: root}")
    scope = data.get("scope")
    if scope is None:
        raise MissingAttributeError("scope")
    conf_variable = data.get("conf-variable", "JJB_CONF")
    if not isinstance(conf_variable, str) or not _ENV_VAR.match(conf_variable):
        raise InvalidAttributeError("conf-variable", conf_variable)
    root_only, project_only = {"org-file"}, {"namespace", "releases", "jobs-path", "root-folder"}
    known = {"scope", "conf-variable", "workers"} | (root_only if scope == "root" else project_only)
    unknown = sorted(set(data) - known)
    if unknown:
        raise JenkinsJobsException(
            f"envdelivery-update scope {scope}: unknown option(s) {', '.join(unknown)}; "
            f"known are: {', '.join(sorted(known))}"
        )
    words = [CLI, "update", *_option("scope", scope)]
    if scope == "root":
        words += _option("org-file", data.get("org-file", "delivery.yaml"))
    else:
        for name in ("namespace", "releases", "jobs-path", "root-folder"):
            if name not in data:
                raise MissingAttributeError(name)
        if not data["namespace"].startswith(("folder:", "prefix:")):
            raise InvalidAttributeError("namespace", data["namespace"], ["folder:NAME", "prefix:NAME-"])
        words += _option("namespace", data["namespace"])
        releases = data["releases"]
        if not isinstance(releases, dict) or not releases:
            raise JenkinsJobsException("envdelivery-update: releases must map release line names to branches")
        for name, branch in releases.items():
            words += _option("release", f"{name}={branch}")
        words += _option("root-folder", data["root-folder"])
    words += _option("workers", data.get("workers", 4))
    words += ["--conf", f'"${conf_variable}"']
    if scope != "root":
        words.append(shlex.quote(str(data["jobs-path"])))
    _dispatch_shell(registry, xml_parent, " ".join(words))
