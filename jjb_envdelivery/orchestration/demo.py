"""``demo``: an organisation pushed end to end into a server: bootstrap, then the root scope's
update, then every team's (the CLI starts the Jenkins REST emulator and hands its ini here); and
what the paper's loop needs around the generated jobs: local git repositories standing in for the
organisation's (the jobs repository, each project's, each service's with a source directory), a
commit to one service, and a credential file with a throw-away value for every credential the
jobs reference. The CLI runs the jobs themselves (cli/demo_loop.py: only the CLI may use the job
runner, a test instrument); what the container provider needs besides is in demo_containers.py."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..environments import local
from ..environments.catalog import Template
from ..environments.containers import provider as containers
from ..environments.provider import Provider
from ..environments.registry import open_provider
from ..errors import EnvDeliveryError
from ..model.organisation import Organisation
from ..push.apply import UpdateReport
from ..scopes import local_jobs_dir, project_scope, root_scope
from .bootstrap import bootstrap
from .update import update_scope


def push_organisation(org: Organisation, conf: Path, workdir: Path, cache_root: Path,
                      say: Callable[[str], None] = print, projects: Iterable[str] | None = None) -> list[UpdateReport]:
    """Bootstrap, the root scope, then each project with a local checkout (only those named in
    `projects`, when given); one report each."""
    boot = bootstrap(org, conf, workdir, cache_root=cache_root)
    boot.scope = "bootstrap"
    reports = [boot, update_scope(root_scope(org, workdir), conf, cache_root=cache_root)]
    wanted = None if projects is None else set(projects)
    for project in org.projects:
        if wanted is not None and project.name not in wanted:
            continue
        jobs_dir = local_jobs_dir(project)
        if jobs_dir is None:
            say(f"project {project.name}: no local-checkout, skipped")
            continue
        reports.append(update_scope(project_scope(org, project, workdir, jobs_dir), conf, cache_root=cache_root))
    return reports


# --- the paper's loop: stand-ins for the organisation's repositories and credentials ----------

# Commits in the demo's repositories need an identity, whatever this machine's git config says.
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "jjb-envdelivery demo", "GIT_AUTHOR_EMAIL": "demo@example.com",
                "GIT_COMMITTER_NAME": "jjb-envdelivery demo", "GIT_COMMITTER_EMAIL": "demo@example.com"}
PREREQUISITES = {"git": "the job runner checks out the demo's git repositories",
                 "dpkg-deb": "the package job builds a Debian package, the deliver job unpacks it"}
# Where a service's source says its version, as (files, the line): the demo's commit raises the
# minor version there. A Python package's __version__, or an image's SERVICE_VERSION, which the
# container example's Containerfiles make the OCI version label.
VERSION_LINES = (
    ("*/__init__.py", re.compile(r'^(__version__ = ")(\d+)\.(\d+)\.(\d+)(")$', re.M)),
    ("Containerfile", re.compile(r"^(ENV SERVICE_VERSION=)(\d+)\.(\d+)\.(\d+)()$", re.M)),
)
# The variable a provider reads its catalog's root from, overriding the org file's setting.
ROOT_VARIABLES = {"local": local.ROOT_ENV, "container": containers.ROOT_ENV}
CREDENTIAL_TYPES = {  # the element holding <credentialsId> -> the credential type it needs
    "org.jenkinsci.plugins.credentialsbinding.impl.UsernamePasswordMultiBinding": "usernamePassword",
    "org.jenkinsci.plugins.credentialsbinding.impl.UsernamePasswordBinding": "usernamePassword",
    "org.jenkinsci.plugins.credentialsbinding.impl.StringBinding": "string",
    "org.jenkinsci.plugins.credentialsbinding.impl.FileBinding": "file",
    "org.jenkinsci.plugins.credentialsbinding.impl.SSHUserPrivateKeyBinding": "sshUserPrivateKey",
    "hudson.plugins.git.UserRemoteConfig": "usernamePassword",  # HTTPS clones
}


def missing_prerequisites() -> list[str]:
    """What the loop needs on PATH and this machine lacks, each with why."""
    return [f"{name} ({why})" for name, why in PREREQUISITES.items() if shutil.which(name) is None]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_IDENTITY}, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise EnvDeliveryError(f"git {' '.join(args)} in {repo} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def make_repository(source: Path, dest: Path, branches: list[str], message: str) -> Path:
    """A git repository at `dest` holding a copy of `source`, with one commit on every branch."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git", "__pycache__", "build", "dist"))
    git(dest, "init", "--quiet", f"--initial-branch={branches[0]}")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "--message", message)
    for branch in branches[1:]:
        git(dest, "branch", branch)
    return dest


@dataclass
class DemoRepositories:
    """The organisation's repositories, stood in for by local ones."""

    remotes: dict[str, Path] = field(default_factory=dict)  # git URL -> local repository
    services: dict[str, Path] = field(default_factory=dict)  # service -> its repository


def service_ci_scm(config_xml: str, job: str) -> tuple[str, list[str]]:
    """The git URL and the branches of a CI job, from its config.xml."""
    root = ET.fromstring(config_xml)
    url = root.findtext("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url")
    if not url:
        raise EnvDeliveryError(f"{job}: its config.xml has no git URL (scm/userRemoteConfigs)")
    return url, [b.text or "" for b in root.iterfind("scm/branches/hudson.plugins.git.BranchSpec/name")]


def service_source(org: Organisation, service: str) -> Path:
    """Where the organisation directory keeps a service's source (services/<service>)."""
    return org.org_dir / "services" / service


def make_repositories(org: Organisation, services: Mapping[str, str], dest: Path) -> DemoRepositories:
    """The jobs repository (the org directory), each project's repository (its local-checkout)
    and a repository for each of `services` (name -> git URL) from services/<name> in the org
    directory, with one branch per release line."""
    for service in services:
        if not service_source(org, service).is_dir():
            raise EnvDeliveryError(f"demo: no source of service {service} at {service_source(org, service)}")
    repos = DemoRepositories()
    repos.remotes[org.jobs_repo.url] = make_repository(org.org_dir, dest / "jobs", [org.jobs_repo.branch],
                                                       "The organisation's jobs")
    for project in org.projects:
        if project.repo.local_checkout is not None:
            repos.remotes[project.repo.url] = make_repository(
                project.repo.local_checkout, dest / "projects" / project.name, [project.repo.branch],
                f"Project {project.name}")
    branches = list(dict.fromkeys(line.branch for line in org.release_lines))
    for service, url in services.items():
        repos.services[service] = repos.remotes[url] = make_repository(
            service_source(org, service), dest / "services" / service, branches, f"{service}: first version")
    return repos


def version_file(source: Path) -> tuple[Path, re.Pattern] | None:
    """The file of `source` that says its version, and the line's pattern (VERSION_LINES)."""
    for pattern, line in VERSION_LINES:
        for path in sorted(source.glob(pattern)):
            if line.search(path.read_text(encoding="utf-8")):
                return path, line
    return None


def commit_version_bump(repo: Path, branch: str) -> str:
    """Commit the next minor version of the service in `repo` to `branch` (its ``__version__ =
    "X.Y.Z"`` in */__init__.py, or ``ENV SERVICE_VERSION=X.Y.Z`` in its Containerfile); returns
    the new version."""
    git(repo, "checkout", "--quiet", branch)
    found = version_file(repo)
    if found is None:
        raise EnvDeliveryError(f"demo: no version to change in {repo}: expected a line "
                               "'__version__ = \"X.Y.Z\"' in */__init__.py or 'ENV SERVICE_VERSION=X.Y.Z' "
                               "in Containerfile")
    path, line = found
    text = path.read_text(encoding="utf-8")
    _, major, minor, _, _ = line.search(text).groups()
    version = f"{major}.{int(minor) + 1}.0"
    path.write_text(line.sub(lambda found: f"{found[1]}{version}{found[5]}", text, count=1), encoding="utf-8")
    git(repo, "commit", "--quiet", "--all", "--message", f"Release {version}")
    return version


def referenced_credentials(configs: Mapping[str, str]) -> dict[str, str]:
    """Credential ID -> type, for every credential the jobs' config.xml reference."""
    found: dict[str, tuple[str, str]] = {}
    for job, config in sorted(configs.items()):
        for holder in ET.fromstring(config).iter():
            kind = CREDENTIAL_TYPES.get(holder.tag)
            credential = (holder.findtext("credentialsId") or "").strip()
            if kind is None or not credential:
                continue
            seen = found.setdefault(credential, (kind, job))
            if seen[0] != kind:
                raise EnvDeliveryError(f"credential {credential!r} is a {seen[0]} in {seen[1]} but a {kind} in {job}")
    return {credential: kind for credential, (kind, _) in found.items()}


def write_credential_file(path: Path, referenced: Mapping[str, str], contents: Mapping[str, str],
                          folders: Mapping[str, str] | None = None) -> Path:
    """The job runner's credential file: a throw-away value for every referenced credential,
    except the file credentials whose content `contents` gives (credential ID -> text); those
    `folders` names (credential ID -> folder) go in that folder's store, the rest in the global one."""
    entries = []
    for credential, kind in sorted(referenced.items()):
        throwaway = f"demo-{secrets.token_hex(8)}"
        entry = {"id": credential, "type": kind}
        if folders and credential in folders:
            entry["folder"] = folders[credential]
        if kind == "usernamePassword":
            entry.update(username="demo", password=throwaway)
        elif kind == "string":
            entry["secret"] = throwaway
        elif kind == "file":
            entry["content"] = contents.get(credential, f"throw-away credential {credential}\n")
        else:  # sshUserPrivateKey: nothing in the demo logs in anywhere with it
            entry.update(username="demo", **{"private-key": f"throw-away key {throwaway}\n"})
        entries.append(entry)
    path.write_text(json.dumps({"credentials": entries}, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return path


def root_variable(org: Organisation) -> str:
    """The environment variable that puts the org's provider's catalog elsewhere (ROOT_VARIABLES)."""
    name = org.environments.provider.name
    if name not in ROOT_VARIABLES:
        raise EnvDeliveryError(f"demo: the {name} provider has no catalog the demo can keep in its own directory")
    return ROOT_VARIABLES[name]


@contextmanager
def provider_at(org: Organisation, root: Path) -> Iterator[Provider]:
    """The org's provider with its catalog at `root` (the demo's own), closed on exit."""
    variable = root_variable(org)
    before = os.environ.get(variable)
    os.environ[variable] = str(root)
    try:
        provider = open_provider(org)
    finally:
        if before is None:
            del os.environ[variable]
        else:
            os.environ[variable] = before
    try:
        yield provider
    finally:
        provider.close()


def provider_templates(org: Organisation, root: Path) -> list[Template]:
    """The templates in the catalog of the org's provider at `root`, oldest first."""
    with provider_at(org, root) as provider:
        return sorted(provider.list_templates(), key=lambda t: (t.variant, t.release, t.version))
