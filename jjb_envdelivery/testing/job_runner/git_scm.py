"""``hudson.plugins.git.GitSCM`` from local repositories (git-plugin @ add6e4dc, under
src/main/java/hudson/plugins/git/).

The job's remote URL is mapped to a local repository (the runner's ``remotes``); the workspace
is a real git repository whose ``origin`` keeps the job's URL, with ``url.<local>.insteadOf``
pointing git at the local copy, so commands a job runs in its workspace work too.

- Checkout (GitSCM.java:1140-1246, 1354-1431): fetch ``+refs/heads/*:refs/remotes/origin/*``,
  choose the revision as DefaultBuildChooser does (util/DefaultBuildChooser.java:43-230), check
  it out detached, record git's ``BuildData`` (what was built, per branch) in the build.
- Branch specs (BranchSpec.java:36-233): ``main`` means any remote's ``main``; ``refs/heads/x``,
  ``origin/x``, ``*`` (inside one segment), ``**`` (across segments), ``:regex``.
- Environment (GitSCM.buildEnvironment, GitSCM.java:1529-1591): GIT_COMMIT, GIT_BRANCH
  (``origin/main``), GIT_PREVIOUS_COMMIT (the branch's commit in the previous completed build),
  GIT_PREVIOUS_SUCCESSFUL_COMMIT (… in the previous successful one), GIT_URL.
- Credentials (GitSCM.java:915-960): no ``credentialsId`` → "No credentials specified"; an ID
  the credential file does not hold (or of a type git cannot use) → the plugin's warning and an
  anonymous fetch, as the plugin continues.
- Extensions: WipeWorkspace (extensions/impl/WipeWorkspace.java:19-35), CleanBeforeCheckout,
  CleanCheckout (``git clean -fdx``), PathRestriction (extensions/impl/PathRestriction.java:61-146).
- Polling (GitSCM.java:698-830): no build yet → build; without PathRestriction the remote heads
  are compared with the built revisions; with it, polling needs the last workspace and counts a
  new commit only if one of its changed paths is included and not excluded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RunnerError, StepAbort
from .xml_fields import flag, refuse_unless_default, text

GIT_SCM = "hudson.plugins.git.GitSCM"
EXT = "hudson.plugins.git.extensions.impl."
_HEX = re.compile(r"[0-9a-f]{6,40}")


@dataclass(frozen=True)
class GitScm:
    url: str
    remote: str  # the remote's name, "origin" by default
    refspec: str
    credentials_id: str | None
    branches: tuple[str, ...]
    wipe: bool = False
    clean_before: bool = False
    clean_after: bool = False
    included: tuple[str, ...] | None = None  # PathRestriction; None = no such extension
    excluded: tuple[str, ...] = ()

    @property
    def path_restricted(self) -> bool:
        return self.included is not None


def parse_git_scm(el: ET.Element, job: str) -> GitScm:
    """``<scm class="hudson.plugins.git.GitSCM">``: fields GitSCM.java:133-162, legacy
    transients GitSCMBackwardCompatibility.java:35-203 accepted only where they change nothing."""
    where = "scm[GitSCM]"
    remotes = el.findall("userRemoteConfigs/hudson.plugins.git.UserRemoteConfig")
    if len(remotes) != 1:
        raise RunnerError(f"{job}: {where}/userRemoteConfigs: the job runner implements exactly "
                          f"one remote, found {len(remotes)}")
    remote = remotes[0]
    url = (text(remote, "url") or "").strip()
    if not url:
        raise RunnerError(f"{job}: {where}/userRemoteConfigs: the remote has no url")
    name = (text(remote, "name") or "").strip() or "origin"
    refspec = (text(remote, "refspec") or "").strip() or f"+refs/heads/*:refs/remotes/{name}/*"
    if refspec != f"+refs/heads/*:refs/remotes/{name}/*":
        raise RunnerError(f"{job}: {where}/…/refspec {refspec!r}: the job runner implements only "
                          f"the default +refs/heads/*:refs/remotes/{name}/*")
    branches = tuple(_branch_name(text(b, "name")) for b in
                     el.findall("branches/hudson.plugins.git.BranchSpec"))
    if not branches:
        branches = ("**",)
    refuse_unless_default(el, job, where, {
        "doGenerateSubmoduleConfigurations": ("false",), "disableSubmodules": ("false",),
        "recursiveSubmodules": ("false",), "reference": ("",), "gitConfigName": ("",),
        "gitConfigEmail": ("",), "skipTag": ("true", "false"), "clean": ("false",),
        "pruneBranches": ("false",), "localBranch": ("",), "relativeTargetDir": ("",),
        "excludedRegions": ("",), "includedRegions": ("",), "excludedUsers": ("",),
        "authorOrCommitter": ("false",), "wipeOutWorkspace": ("false", "true"),
        "gitTool": ("Default", ""),
    })
    found: dict[str, Any] = {"wipe": flag(el, "wipeOutWorkspace")}  # legacy field → WipeWorkspace
    extensions = el.find("extensions")
    for ext in list(extensions) if extensions is not None else []:
        if ext.tag == EXT + "WipeWorkspace":
            found["wipe"] = True
        elif ext.tag == EXT + "CleanBeforeCheckout":
            found["clean_before"] = True
        elif ext.tag == EXT + "CleanCheckout":
            found["clean_after"] = True
        elif ext.tag == EXT + "PathRestriction":
            found["included"] = _regions(text(ext, "includedRegions"), job, ext.tag)
            found["excluded"] = _regions(text(ext, "excludedRegions"), job, ext.tag)
        else:
            raise RunnerError(f"{job}: {where}/extensions/{ext.tag}: this git extension is not "
                              f"implemented by the job runner (implemented: WipeWorkspace, "
                              f"CleanBeforeCheckout, CleanCheckout, PathRestriction)")
    credentials = text(remote, "credentialsId")
    return GitScm(url=url, remote=name, refspec=refspec, credentials_id=credentials,
                  branches=branches, **found)


def _branch_name(value: str | None) -> str:
    """``BranchSpec.setName``: blank → ``**``, else trimmed (BranchSpec.java:47-54)."""
    value = (value or "").strip()
    return value or "**"


def _regions(value: str | None, job: str, tag: str) -> tuple[str, ...]:
    """``PathRestriction.normalize``: newline-separated regexes; blank → none (:61-66)."""
    if value is None or not value.strip():
        return ()
    regions = tuple(r for r in re.split(r"[\r\n]+", value) if r)
    for region in regions:
        try:
            re.compile(region)
        except re.error as exc:
            raise RunnerError(f"{job}: scm/extensions/{tag}: {region!r} is not a regular "
                              f"expression: {exc}") from None
    return regions


# --- branch specs ----------------------------------------------------------------------------


def _wildcards(spec: str) -> str:
    """``convertWildcardStringToRegex``: ``**`` → ``.*``, ``*`` → ``[^/]*`` (BranchSpec.java:190-233)."""
    out, i = [], 0
    while i < len(spec):
        if spec.startswith("**", i):
            out.append(".*")
            i += 2
        elif spec[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            j = i
            while j < len(spec) and spec[j] != "*":
                j += 1
            out.append(re.escape(spec[i:j]))
            i = j
    return "".join(out)


def branch_spec_matches(spec: str, ref: str) -> bool:
    """``BranchSpec.matches(ref)`` (BranchSpec.java:88-90, 155-188)."""
    if spec.startswith(":") and len(spec) > 1:
        return re.fullmatch(spec[1:], ref) is not None
    prefix = ("refs/heads/|refs/remotes/[^/]+/|remotes/[^/]+/|[^/]+/"
              if "**" not in spec and "/" not in spec else "refs/heads/|refs/remotes/|remotes/")
    return re.fullmatch(f"(?:{prefix})?{_wildcards(spec)}", ref) is not None


# --- BuildData --------------------------------------------------------------------------------


def _revision(sha: str, branch: str) -> dict[str, Any]:
    return {"SHA1": sha, "branch": [{"SHA1": sha, "name": branch}]}


def empty_build_data(url: str) -> dict[str, Any]:
    """git's ``BuildData`` as api/json exports it (util/BuildData.java)."""
    return {"buildsByBranchName": {}, "lastBuiltRevision": None, "remoteUrls": [url],
            "scmName": ""}


def save_build(data: dict[str, Any], sha: str, branch: str, number: int) -> None:
    """``BuildData.saveBuild``: the branch's last build is this one."""
    revision = _revision(sha, branch)
    data["buildsByBranchName"][branch] = {
        "_class": "hudson.plugins.git.util.Build", "buildNumber": number, "buildResult": None,
        "marked": revision, "revision": revision}
    data["lastBuiltRevision"] = revision


def has_been_built(data: dict[str, Any] | None, sha: str) -> bool:
    """``BuildData.hasBeenBuilt`` / ``getLastBuild(sha1)`` (util/BuildData.java:178-215)."""
    if not data:
        return False
    return any(b["revision"]["SHA1"] == sha or b["marked"]["SHA1"] == sha
               for b in data["buildsByBranchName"].values())


def last_built_sha(data: dict[str, Any] | None) -> str | None:
    if not data or not data.get("lastBuiltRevision"):
        return None
    return data["lastBuiltRevision"]["SHA1"]


def commit_of_branch(data: dict[str, Any] | None, branch: str) -> str | None:
    """``BuildData.getLastBuildOfBranch(branch).revision`` (util/BuildData.java:255-257)."""
    if not data:
        return None
    built = data["buildsByBranchName"].get(branch)
    return built["revision"]["SHA1"] if built else None


# --- git commands -----------------------------------------------------------------------------


class Git:
    """``git`` in one directory, its commands echoed to the console as the plugin does."""

    def __init__(self, cwd: Path, env: Mapping[str, str],
                 echo: Callable[[str], None] | None = None) -> None:
        self.cwd = cwd
        self.env = {**env, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        self.echo = echo

    def __call__(self, *args: str, check: bool = True) -> str:
        if self.echo:
            self.echo(" > git " + " ".join(args) + " # timeout=10")
        try:
            done = subprocess.run(["git", *args], cwd=self.cwd, env=self.env,
                                  capture_output=True, text=True, timeout=600)
        except FileNotFoundError:
            raise StepAbort("git is not installed on this agent (no 'git' on PATH)") from None
        if check and done.returncode != 0:
            raise GitFailed(args, done.returncode, done.stderr.strip())
        return done.stdout


class GitFailed(Exception):
    def __init__(self, args: tuple[str, ...], code: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} exited {code}: {stderr}")
        self.stderr = stderr


def remote_heads(local: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``git ls-remote --heads``: ``refs/heads/x`` → sha."""
    out = Git(local, env)("ls-remote", "--heads", str(local))
    heads = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref:
            heads[ref] = sha
    return heads


# --- choosing the revision --------------------------------------------------------------------


@dataclass
class Candidate:
    sha: str
    branch: str  # Branch name as the plugin records it: "origin/main", "refs/remotes/origin/x"


def single_branch(scm: GitScm) -> str | None:
    """``GitSCM.getSingleBranch`` (GitSCM.java:626-666): one spec without wildcards, else None."""
    if len(scm.branches) != 1:
        return None
    branch = scm.branches[0]
    if branch.startswith("*/"):
        branch = scm.remote + branch[1:]
    if "*" in branch:
        return None
    return branch or "**"


def candidates(git: Git, scm: GitScm, data: dict[str, Any] | None, poll: bool) -> list[Candidate]:
    """``DefaultBuildChooser.getCandidateRevisions`` over the workspace's remote refs."""
    spec = single_branch(scm)
    if spec is None or spec.startswith(":"):
        return _advanced(git, scm, data, poll)
    if not poll and _HEX.fullmatch(spec):
        sha = _rev_parse(git, spec)
        if sha:
            return [Candidate(sha, "detached")]
    names: list[str] = []
    remote = scm.remote
    if "/" not in spec:
        names.append(f"{remote}/{spec}")
    elif spec.startswith(remote + "/"):
        names.append("refs/remotes/" + spec)
    elif spec.startswith(f"remotes/{remote}/"):
        names.append("refs/" + spec)
    elif spec.startswith("refs/heads/"):
        names.append(f"refs/remotes/{remote}/" + spec.removeprefix("refs/heads/"))
    else:
        names += [f"refs/remotes/{remote}/{spec}", spec]
    found: list[Candidate] = []
    for name in names:
        sha = _rev_parse(git, name)
        # a poll skips what was built already (DefaultBuildChooser.getHeadRevision, :131-135)
        if sha and not (poll and has_been_built(data, sha)):
            found.append(Candidate(sha, name))
    if not found:  # perhaps not a branch at all: a tag (:112-120)
        sha = _rev_parse(git, spec)
        if sha and not (poll and has_been_built(data, sha)):
            found.append(Candidate(sha, spec))
    return found


def _advanced(git: Git, scm: GitScm, data: dict[str, Any] | None, poll: bool) -> list[Candidate]:
    """``getAdvancedCandidateRevisions`` (DefaultBuildChooser.java:167-260)."""
    out = git("for-each-ref", "--format=%(objectname) %(refname)",
              f"refs/remotes/{scm.remote}/")
    by_sha: dict[str, list[str]] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        name = ref.removeprefix("refs/remotes/")
        if name.endswith("/HEAD"):
            continue
        if any(branch_spec_matches(s, name) for s in scm.branches):
            by_sha.setdefault(sha, []).append(name)
    revs = [Candidate(sha, sorted(names)[0]) for sha, names in by_sha.items()
            if not has_been_built(data, sha)]
    if not revs and not poll and last_built_sha(data):
        last = data["lastBuiltRevision"]  # type: ignore[index]
        revs = [Candidate(last["SHA1"], last["branch"][0]["name"])]
    times = {c.sha: int(git("show", "-s", "--format=%ct", c.sha).strip() or 0) for c in revs}
    return sorted(revs, key=lambda c: (times[c.sha], c.branch))  # oldest first


def _rev_parse(git: Git, name: str) -> str | None:
    out = git("rev-parse", "--verify", "--quiet", name + "^{commit}", check=False).strip()
    return out or None


def environment(data: dict[str, Any], url: str, previous: dict[str, Any] | None,
                previous_successful: dict[str, Any] | None) -> dict[str, str]:
    """``GitSCM.buildEnvironment`` (GitSCM.java:1529-1591, 1602-1639)."""
    env: dict[str, str] = {}
    rev = data.get("lastBuiltRevision")
    if rev:
        branch = rev["branch"][0]["name"]
        env["GIT_BRANCH"] = branch.removeprefix("refs/remotes/")
        for key, older in (("GIT_PREVIOUS_COMMIT", previous),
                           ("GIT_PREVIOUS_SUCCESSFUL_COMMIT", previous_successful)):
            sha = commit_of_branch(older, branch)
            if sha:
                env[key] = sha
        env["GIT_COMMIT"] = rev["SHA1"]
    env["GIT_URL"] = url
    return env


# --- checkout ---------------------------------------------------------------------------------


def checkout(scm: GitScm, local: Path, workspace: Path, env: Mapping[str, str],
             console: Any, previous_data: dict[str, Any] | None, number: int,
             credential_found: Callable[[str], bool]) -> tuple[dict[str, Any], int]:
    """Check the job's branch out into ``workspace``; returns the build's BuildData and the
    number of candidate revisions found."""
    console.line("The recommended git tool is: NONE")
    if scm.credentials_id is None:
        console.line("No credentials specified")
    elif credential_found(scm.credentials_id):
        console.line(f"using credential {scm.credentials_id}")
    else:
        console.line(f'Warning: CredentialId "{scm.credentials_id}" could not be found.')
    if scm.wipe:
        console.line("Wiping out workspace first.")
        if workspace.exists():
            shutil.rmtree(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    git = Git(workspace, env, echo=console.line)
    try:
        if not (workspace / ".git").is_dir():
            console.line("Cloning the remote Git repository")
            console.line(f"Cloning repository {scm.url}")
            git("init", str(workspace))
        else:
            console.line("Fetching changes from the remote Git repository")
        git("config", "remote." + scm.remote + ".url", scm.url)
        git("config", "remote." + scm.remote + ".fetch", scm.refspec)
        git("config", f"url.{local}.insteadOf", scm.url)
        console.line(f"Fetching upstream changes from {scm.url}")
        git("fetch", "--tags", "--force", "--progress", "--", scm.url, scm.refspec)
    except GitFailed as exc:
        console.line(str(exc))
        raise StepAbort(f"Error fetching remote repo '{scm.remote}'") from None
    data = {**empty_build_data(scm.url), **(previous_data or {})}
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    data["remoteUrls"] = [scm.url]
    found = candidates(git, scm, data, poll=False)
    if not found:
        raise StepAbort("Couldn't find any revision to build. Verify the repository and branch "
                        "configuration for this job.")
    chosen = found[0]
    previous_sha = commit_of_branch(data, chosen.branch)
    save_build(data, chosen.sha, chosen.branch, number)
    try:
        if scm.clean_before:
            console.line("Cleaning workspace")
            git("clean", "-fdx")
        console.line(f"Checking out Revision {chosen.sha} ({chosen.branch})")
        git("checkout", "-f", chosen.sha)
        if scm.clean_after:
            console.line("Cleaning workspace")
            git("clean", "-fdx")
        subject = git("log", "-1", "--format=%s", chosen.sha).strip()
    except GitFailed as exc:
        console.line(str(exc))
        raise StepAbort(f"Could not checkout {chosen.sha}") from None
    console.line(f'Commit message: "{subject}"')
    if previous_sha is None:
        console.line("First time build. Skipping changelog.")
    else:
        console.line(f" > git rev-list --no-walk {previous_sha} # timeout=10")
    return data, len(found)


# --- polling ----------------------------------------------------------------------------------


def poll(scm: GitScm, local: Path, last_data: dict[str, Any] | None,
         last_workspace: Path | None, env: Mapping[str, str],
         note: Callable[[str], None]) -> bool:
    """``GitSCM.compareRemoteRevisionWithImpl`` (GitSCM.java:698-830): is there something to build?"""
    if last_data is None:
        note("[poll] No previous build, so forcing an initial build.")
        return True
    if not scm.path_restricted:
        heads = remote_heads(local, env)
        for spec in scm.branches:
            for head, sha in heads.items():
                short = scm.remote + head[len("refs/heads"):]
                if not (branch_spec_matches(spec, head) or branch_spec_matches(spec, short)):
                    continue
                if has_been_built(last_data, sha):
                    continue
                note(f"[poll] Latest remote head revision on {head} is: {sha}")
                return True
        return False
    # PathRestriction requires a workspace for polling (PathRestriction.java:34-37)
    if last_workspace is None or not last_workspace.exists():
        note("[poll] Working Directory does not exist")
        return True
    if not (last_workspace / ".git").is_dir():
        note("No Git repository yet, an initial checkout is required")
        return True
    git = Git(last_workspace, env)
    git("config", f"url.{local}.insteadOf", scm.url)
    git("fetch", "--tags", "--force", "--", scm.url, scm.refspec)
    last = last_built_sha(last_data)
    for candidate in candidates(git, scm, last_data, poll=True):
        if not _excluded(git, scm, last, candidate.sha, note):
            return True
    return False


def _excluded(git: Git, scm: GitScm, last: str | None, sha: str,
              note: Callable[[str], None]) -> bool:
    """``GitSCM.isRevExcluded`` (GitSCM.java:2105-2145): every commit since the last build is
    excluded by PathRestriction."""
    span = f"{last}..{sha}" if last else sha
    out = git("log", "--format=commit %H", "--name-only", "-m", "--no-renames", span)
    commits: list[tuple[str, list[str]]] = []
    for line in out.splitlines():
        if line.startswith("commit "):
            commits.append((line[7:], []))
        elif line.strip() and commits:
            commits[-1][1].append(line.strip())
    if last is None:
        commits = commits[:1]  # showRevision(r) shows the one commit
    for commit, paths in commits:
        if not _path_excluded(scm, commit, paths, note):
            return False
    return True


def _path_excluded(scm: GitScm, commit: str, paths: list[str],
                   note: Callable[[str], None]) -> bool:
    """``PathRestriction.isRevExcluded`` (PathRestriction.java:88-142)."""
    if not paths:
        return False  # nothing modified: not excluded
    included = [p for p in paths if not scm.included
                or any(re.fullmatch(r, p) for r in scm.included)]
    excluded = [p for p in included if any(re.fullmatch(r, p) for r in scm.excluded)]
    if not scm.excluded and scm.included and not included:
        note(f"Ignored commit {commit}: No paths matched included region whitelist")
        return True
    if len(included) == len(excluded):
        note(f"Ignored commit {commit}: Found only excluded paths: {', '.join(excluded)}")
        return True
    return False

