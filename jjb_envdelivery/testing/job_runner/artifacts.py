"""Artifacts: ArtifactArchiver, Fingerprinter, and copyartifact's CopyArtifact with its build
selectors and permission check.

- ``hudson.tasks.ArtifactArchiver`` (core ArtifactArchiver.java:82-121, 156-170, 239-300):
  comma-separated Ant globs, ``excludes``, Ant's default excludes, ``onlyIfSuccessful`` skips
  only results worse than UNSTABLE (:245), no match fails the build unless
  ``allowEmptyArchive`` (a build that already failed does not complain), ``fingerprint``.
  Files keep their modes (the archive is a copy with permissions, like StandardArtifactManager).
- ``hudson.tasks.Fingerprinter`` (core Fingerprinter.java:95-116): ``targets``, ``excludes``,
  ``defaultExcludes``, ``caseSensitive``.
- ``hudson.plugins.copyartifact.CopyArtifact`` (copyartifact @ 93781725,
  src/main/java/hudson/plugins/copyartifact/CopyArtifact.java:421-567, 580-617, 660-760):
  ``project`` expanded with the build's variables and resolved from the copier's folder as
  ``Jenkins.getItem`` does (:455-456, :666-668; ``jenkins_names.ItemIndex.resolve``). The
  runner runs builds as SYSTEM on a secured Jenkins in production mode, where "authenticated"
  cannot read jobs: the copy is allowed only if the source job's
  ``CopyArtifactPermissionProperty`` permits the copier (:580-617;
  ``jenkins_names.copy_permitted``), else "Unable to find project for artifact copy: X"
  (Messages.properties:9). ``filter`` blank → ``**``, ``excludes`` blank → none, no default
  excludes (:527-534, :715-717), ``target`` relative to the workspace, ``flatten`` drops
  directories (:719), ``optional``, zero files copied fails the step unless optional (:684),
  fingerprints recorded for both builds unless ``doNotFingerprintArtifacts`` (:679-710), modes
  kept (:766-769), ``COPYARTIFACT_BUILD_NUMBER_<SUFFIX>`` for later steps (:963-1015).
  ``<exclude>`` is not a field of the plugin: old data, ignored (§5.1 of the reference).
- Selectors: TriggeredBuildSelector.java:200-275 (upstream causes, followed through other jobs'
  builds; oldest or newest; global default UseOldest; fallback to the last successful build),
  StatusBuildSelector.java:40-65, SpecificBuildSelector.java:57-95, LastCompletedBuildSelector,
  BuildSelector.java:56-71 (newest completed build first).
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from ...jenkins_names import copy_permitted, parent_of, relative_name_from
from .ant_globs import scan, select, split_patterns
from .errors import RunnerError, StepAbort
from .fingerprints import md5_of
from .results import at_least
from .xml_fields import expand, flag, refuse_unless_default, text

COPYARTIFACT = "hudson.plugins.copyartifact."
UPSTREAM_CAUSE = "hudson.model.Cause$UpstreamCause"


# --- ArtifactArchiver, Fingerprinter -----------------------------------------------------------


@dataclass(frozen=True)
class ArtifactArchiver:
    artifacts: str
    excludes: str | None
    allow_empty: bool
    only_if_successful: bool
    fingerprint: bool
    default_excludes: bool
    case_sensitive: bool
    follow_symlinks: bool

    display_name = "Archive the artifacts"

    def run(self, ctx: Any) -> None:
        if not self.artifacts.strip():
            raise StepAbort("No artifacts are configured for archiving.")
        if self.only_if_successful and not at_least(ctx.result or "SUCCESS", "UNSTABLE"):
            ctx.console.line("Skipped archiving because build is not successful")
            return
        ctx.console.line("Archiving artifacts")
        pattern = expand(self.artifacts, ctx.env)
        includes = split_patterns(pattern)
        files = scan(ctx.workspace, includes, split_patterns(self.excludes),
                     self.default_excludes, self.case_sensitive, self.follow_symlinks)
        if not files:
            if at_least(ctx.result or "SUCCESS", "UNSTABLE"):
                message = (f'No artifacts found that match the file pattern "{pattern}". '
                           f"Configuration error?")
                if not self.allow_empty:
                    raise StepAbort(message)
                ctx.console.line(message)
            return
        archive = ctx.archive_dir
        for relative in files:
            destination = archive / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ctx.workspace / relative, destination)  # content, mode and mtime
        ctx.add_artifacts(files)
        if self.fingerprint:
            record_fingerprints(ctx, files)


def parse_artifact_archiver(el: ET.Element, job: str) -> ArtifactArchiver:
    return ArtifactArchiver(
        artifacts=text(el, "artifacts") or "", excludes=text(el, "excludes"),
        allow_empty=flag(el, "allowEmptyArchive"),
        only_if_successful=flag(el, "onlyIfSuccessful"), fingerprint=flag(el, "fingerprint"),
        # null-checked in readResolve: absent means true (ArtifactArchiver.java:156-170)
        default_excludes=flag(el, "defaultExcludes", absent=True),
        case_sensitive=flag(el, "caseSensitive", absent=True),
        follow_symlinks=flag(el, "followSymlinks", absent=True))


@dataclass(frozen=True)
class Fingerprinter:
    targets: str
    excludes: str | None
    default_excludes: bool
    case_sensitive: bool

    display_name = "Record fingerprints of files to track usage"

    def run(self, ctx: Any) -> None:
        ctx.console.line("Recording fingerprints")
        files = scan(ctx.workspace, split_patterns(expand(self.targets, ctx.env)),
                     split_patterns(self.excludes), self.default_excludes, self.case_sensitive)
        record_fingerprints(ctx, files)


def parse_fingerprinter(el: ET.Element, job: str) -> Fingerprinter:
    return Fingerprinter(targets=text(el, "targets") or "", excludes=text(el, "excludes"),
                         default_excludes=flag(el, "defaultExcludes", absent=True),
                         case_sensitive=flag(el, "caseSensitive", absent=True))


def record_fingerprints(ctx: Any, files: list[str]) -> None:
    for relative in files:
        path = ctx.workspace / relative
        if path.is_file():
            ctx.fingerprints.record(md5_of(path), path.name, (ctx.job, ctx.number),
                                    [(ctx.job, ctx.number)])


# --- CopyArtifact -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    kind: str  # Triggered | Status | Specific | LastCompleted
    fallback: bool = False  # TriggeredBuildSelector.fallbackToLastSuccessful
    use_newest: bool = False  # TriggeredBuildSelector: UseNewest (else UseOldest)
    stable: bool = False  # StatusBuildSelector.stable
    build_number: str = ""  # SpecificBuildSelector.buildNumber


@dataclass(frozen=True)
class CopyArtifact:
    project: str
    filter: str
    target: str
    excludes: str
    flatten: bool
    optional: bool
    fingerprint: bool
    build_number_in_target: bool
    result_suffix: str
    selector: Selector

    display_name = "Copy artifacts from another project"

    def run(self, ctx: Any) -> None:
        console = ctx.console
        project = expand(self.project, ctx.env)
        source = ctx.history.resolve_job(project, ctx.job)
        if source is not None and not copy_permitted(ctx.history.copy_grants(source) or [],
                                                     ctx.job, source):
            source = None  # production mode: the job is treated as not found (:457-478)
        if source is None:
            raise StepAbort(f"Unable to find project for artifact copy: {project}\n"
                            f"This may be due to incorrect project name or permission settings;"
                            f" see help for project name in job configuration.")
        build = select_build(self.selector, ctx.history, source, ctx.causes, ctx.env)
        if build is None:
            message = f"Unable to find a build for artifact copy from: {project}"
            if self.optional:
                console.line(message)
                return
            raise StepAbort(message)
        target = ctx.workspace
        if self.target:
            target = target / expand(self.target, ctx.env)
        if self.build_number_in_target:
            target = target / str(build.number)
        pattern = expand(self.filter, ctx.env)
        if not pattern.strip():
            pattern = "**"
        excludes = expand(self.excludes, ctx.env)
        entries = select(build.artifacts, split_patterns(pattern.replace("\\", "/")),
                         split_patterns(excludes.replace("\\", "/")), default_excludes=False)
        archive = build.archive_dir
        target.mkdir(parents=True, exist_ok=True)
        copied: dict[str, str] = {}
        for entry in entries:
            origin = archive / entry if archive else None
            if origin is None or not origin.is_file():
                continue  # purged by the log rotator
            destination = target / (entry.rsplit("/", 1)[-1] if self.flatten else entry)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.exists() and not os.access(destination, os.W_OK):
                destination.chmod(destination.stat().st_mode | 0o200)
            shutil.copy2(origin, destination)  # content, mtime and mode (:757-769)
            copied[entry] = md5_of(destination)
        shown = source.replace("/", " » ")
        noun = "artifact" if len(copied) == 1 else "artifacts"
        console.line(f'Copied {len(copied)} {noun} from "{shown}" build number {build.number}')
        if self.fingerprint:
            for entry, digest in copied.items():
                ctx.fingerprints.record(digest, entry.rsplit("/", 1)[-1],
                                        (source, build.number),
                                        [(source, build.number), (ctx.job, ctx.number)])
        ctx.action_env[f"COPYARTIFACT_BUILD_NUMBER_{self.suffix(project, source, ctx.job)}"] = \
            str(build.number)
        if not copied and not self.optional:
            raise StepAbort(f"Failed to copy artifacts from {project} with filter: {pattern}")

    def suffix(self, project: str, source: str, copier: str) -> str:
        """``EnvAction.calculateDefaultSuffix`` (CopyArtifact.java:968-989) unless a valid
        ``resultVariableSuffix`` is set."""
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.result_suffix or ""):
            return self.result_suffix
        name = source if project.startswith("/") else relative_name_from(source,
                                                                          parent_of(copier))
        return re.sub(r"[^A-Z]+", "_", name.upper())


def parse_copy_artifact(el: ET.Element, job: str) -> CopyArtifact:
    """Fields: CopyArtifact.java:132-142 (+ the legacy ``projectName``, readResolve)."""
    where = "builders/hudson.plugins.copyartifact.CopyArtifact"
    project = text(el, "project") or text(el, "projectName") or ""
    if not project.strip():
        raise RunnerError(f"{job}: {where}/project is empty")
    refuse_unless_default(el, job, where, {"parameters": ("",)})
    return CopyArtifact(
        project=project.strip(), filter=text(el, "filter") or "", target=text(el, "target") or "",
        excludes=text(el, "excludes") or "", flatten=flag(el, "flatten"),
        optional=flag(el, "optional"), fingerprint=not flag(el, "doNotFingerprintArtifacts"),
        build_number_in_target=flag(el, "includeBuildNumberInTargetPath"),
        result_suffix=(text(el, "resultVariableSuffix") or "").strip(),
        selector=_selector(el.find("selector"), job, where))


def _selector(el: ET.Element | None, job: str, where: str) -> Selector:
    if el is None:
        # ConverterImpl installs StatusBuildSelector(stable) for an absent selector (:264-278)
        return Selector("Status", stable=True)
    cls = el.get("class", "")
    if cls == COPYARTIFACT + "TriggeredBuildSelector":
        refuse_unless_default(el, job, where + "/selector", {"allowUpstreamDependencies":
                                                             ("false",)})
        strategy = (text(el, "upstreamFilterStrategy") or "").strip()
        # null or UseGlobalSetting → the global value, UseOldest by default (:168-185, :271-275);
        # an unknown enum name does not load (null)
        return Selector("Triggered", fallback=flag(el, "fallbackToLastSuccessful"),
                        use_newest=strategy == "UseNewest")
    if cls == COPYARTIFACT + "StatusBuildSelector":
        return Selector("Status", stable=flag(el, "stable"))
    if cls == COPYARTIFACT + "SpecificBuildSelector":
        return Selector("Specific", build_number=(text(el, "buildNumber") or "").strip())
    if cls == COPYARTIFACT + "LastCompletedBuildSelector":
        return Selector("LastCompleted")
    raise RunnerError(f"{job}: {where}/selector class={cls!r}: this build selector is not "
                      f"implemented by the job runner (implemented: TriggeredBuildSelector, "
                      f"StatusBuildSelector, SpecificBuildSelector, LastCompletedBuildSelector)")


def select_build(selector: Selector, history: Any, source: str, causes: list[dict[str, Any]],
                 env: dict[str, str]) -> Any:
    """``BuildSelector.getBuild`` for the implemented selectors."""
    if selector.kind == "Triggered":
        return _triggered(selector, history, source, causes, set())
    if selector.kind == "Specific":
        return _specific(selector, history, source, env)
    if selector.kind == "Status":
        threshold = "SUCCESS" if selector.stable else "UNSTABLE"
        return _newest_completed(history, source, lambda b: at_least(b.result, threshold))
    return _newest_completed(history, source, lambda b: True)


def _newest_completed(history: Any, source: str, selectable: Any) -> Any:
    """BuildSelector.java:56-71: from the last completed build backwards."""
    for build in history.builds_of(source):
        if not build.building and selectable(build):
            return build
    return None


def _triggered(selector: Selector, history: Any, source: str, causes: list[dict[str, Any]],
               seen: set[tuple[str, int]]) -> Any:
    """``TriggeredBuildSelector.getBuild`` (:200-260): each UpstreamCause's run; the source's
    own build counts, any other upstream build is searched recursively through its causes."""
    result = None
    for cause in causes:
        if cause.get("_class") != UPSTREAM_CAUSE:
            continue
        key = (cause.get("upstreamProject", ""), int(cause.get("upstreamBuild", 0)))
        upstream = history.build(*key)  # Cause.UpstreamCause.getUpstreamRun
        if upstream is None or key in seen:
            continue
        if key[0] == source:
            run = history.build(source, upstream.number)
        else:
            run = _triggered(selector, history, source, upstream.causes or [], seen | {key})
        if run is not None and (result is None
                                or (selector.use_newest and result.number < run.number)
                                or (not selector.use_newest and result.number > run.number)):
            result = run
    if result is None and selector.fallback:
        result = _newest_completed(history, source, lambda b: at_least(b.result, "SUCCESS"))
    return result


_PERMALINKS = {
    "lastBuild": lambda b: True,
    "lastStableBuild": lambda b: not b.building and b.result == "SUCCESS",
    "lastSuccessfulBuild": lambda b: not b.building and at_least(b.result, "UNSTABLE"),
    "lastFailedBuild": lambda b: not b.building and b.result == "FAILURE",
    "lastUnstableBuild": lambda b: not b.building and b.result == "UNSTABLE",
    "lastUnsuccessfulBuild": lambda b: not b.building and b.result != "SUCCESS",
    "lastCompletedBuild": lambda b: not b.building,
}


def _specific(selector: Selector, history: Any, source: str, env: dict[str, str]) -> Any:
    """``SpecificBuildSelector.getBuild`` (:57-95): a number, a permalink or a display name."""
    number = expand(selector.build_number, env)
    if number.startswith("$"):
        return None
    if re.fullmatch(r"[0-9]*", number):
        return history.build(source, int(number)) if number else None
    if number in _PERMALINKS:
        return next((b for b in history.builds_of(source) if _PERMALINKS[number](b)), None)
    return next((b for b in history.builds_of(source) if f"#{b.number}" == number), None)

