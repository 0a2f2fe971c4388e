"""``demo``: an organisation pushed end to end into a server: bootstrap, then the root scope's
update, then every team's (the CLI starts the Jenkins REST emulator and hands its ini here); and
what the paper's loop needs around the generated jobs: local git repositories standing in for the
organisation's (the jobs repository, each project's, one service's), a commit to the service, and
a credential file with a throw-away value for every credential the jobs reference. The CLI runs
the jobs themselves (cli/demo_loop.py: only the CLI may use the job runner, a test instrument)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..environments.catalog import Template
from ..environments.local import ROOT_ENV
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
VERSION_LINE = re.compile(r'^__version__ = "(\d+)\.(\d+)\.(\d+)"$', re.M)
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
    service_repo: Path | None = None  # the repository of the service whose change the demo follows


def service_ci_scm(config_xml: str, job: str) -> tuple[str, list[str]]:
    """The git URL and the branches of a CI job, from its config.xml."""
    root = ET.fromstring(config_xml)
    url = root.findtext("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url")
    if not url:
        raise EnvDeliveryError(f"{job}: its config.xml has no git URL (scm/userRemoteConfigs)")
    return url, [b.text or "" for b in root.iterfind("scm/branches/hudson.plugins.git.BranchSpec/name")]


def make_repositories(org: Organisation, service: str, service_url: str, dest: Path) -> DemoRepositories:
    """The jobs repository (the org directory), each project's repository (its local-checkout)
    and `service`'s repository (services/<service> in the org directory, one branch per release line)."""
    source = org.org_dir / "services" / service
    if not source.is_dir():
        raise EnvDeliveryError(f"demo: no source of service {service} at {source} (the repository the demo "
                               "commits to)")
    repos = DemoRepositories()
    repos.remotes[org.jobs_repo.url] = make_repository(org.org_dir, dest / "jobs", [org.jobs_repo.branch],
                                                       "The organisation's jobs")
    for project in org.projects:
        if project.repo.local_checkout is not None:
            repos.remotes[project.repo.url] = make_repository(
                project.repo.local_checkout, dest / "projects" / project.name, [project.repo.branch],
                f"Project {project.name}")
    branches = list(dict.fromkeys(line.branch for line in org.release_lines))
    repos.service_repo = repos.remotes[service_url] = make_repository(source, dest / "services" / service,
                                                                      branches, f"{service}: first version")
    return repos


def commit_version_bump(repo: Path, branch: str) -> str:
    """Commit the next minor version of the Python package in `repo` (its ``__version__``) to
    `branch`; returns the new version."""
    git(repo, "checkout", "--quiet", branch)
    for init in sorted(repo.glob("*/__init__.py")):
        text = init.read_text(encoding="utf-8")
        match = VERSION_LINE.search(text)
        if match:
            major, minor, _ = match.groups()
            version = f"{major}.{int(minor) + 1}.0"
            init.write_text(VERSION_LINE.sub(f'__version__ = "{version}"', text, count=1), encoding="utf-8")
            git(repo, "commit", "--quiet", "--all", "--message", f"Release {version}")
            return version
    raise EnvDeliveryError(f"demo: no '__version__ = \"X.Y.Z\"' line in {repo}/*/__init__.py to change")


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


def local_templates(org: Organisation, root: Path) -> list[Template]:
    """The templates in the local provider's catalog at `root`, oldest first."""
    before = os.environ.get(ROOT_ENV)
    os.environ[ROOT_ENV] = str(root)
    try:
        provider = open_provider(org)
    finally:
        if before is None:
            del os.environ[ROOT_ENV]
        else:
            os.environ[ROOT_ENV] = before
    try:
        return sorted(provider.list_templates(), key=lambda t: (t.variant, t.release, t.version))
    finally:
        provider.close()
