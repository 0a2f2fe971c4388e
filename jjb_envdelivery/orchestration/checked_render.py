"""Render and check: the one place where scopes are rendered and the job graph is checked
before anything is written or pushed.

``render``, ``graph``, ``plan`` and ``update`` all come through here. The root scope is checked
with every scope whose YAML it can see; a project scope given with the org file, with the root
scope (so a team's update does not pay for rendering every other team); a child updater (given
the namespace the root baked into its command, without the org file) with its own scope alone,
names outside its namespace left to the job policy, which held them to the grants. What is
pushed is what was checked: each scope is rendered once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import EnvDeliveryError
from ..graph import Graph, build_graph, check_or_raise
from ..jjb import pipeline
from ..model.limits import DEFAULT_LIMITS, Limits
from ..model.loader import load_organisation
from ..model.organisation import NAME_PATTERN, GitRepo, Organisation, Project, ReleaseLine, Updater
from ..model.policy import TeamPolicy
from ..render import (
    RenderResult,
    ScopeResult,
    project_scopes,
    render_scope,
    render_scope_list,
    render_scopes,
    report_notices,
)
from ..scopes import ROOT, Scope, local_jobs_dir, project_scope, project_scope_from_args, root_scope


def render_organisation(org_path: Path, conf: Path | None = None, workdir: Path | None = None,
                        check: bool = True, plugins_info: list | None = None) -> RenderResult:
    """Every scope of the organisation whose YAML is at hand; with `check`, its job graph must
    pass every check first (dangling references, cycles, duplicate names, untriggerable CD
    jobs, variants missing services)."""
    org = load_organisation(org_path)
    result = render_scopes(org, conf, workdir, plugins_info=plugins_info)
    if check:
        check_or_raise(build_graph(result.scopes, org))
    return result


def graph_of_organisation(org_path: Path, conf: Path | None = None) -> Graph:
    """Render every scope of the org (directory or org file) and build its graph, unchecked."""
    org = load_organisation(Path(org_path))
    return build_graph(render_scopes(org, conf).scopes, org)


def check_organisation(org_path: Path, conf: Path | None = None) -> Graph:
    """The organisation's graph; raises ``GraphCheckError`` listing every problem."""
    return check_or_raise(graph_of_organisation(org_path, conf))


@dataclass(frozen=True)
class ScopeRequest:
    """Which scope an update or plan is for, as its command line names it: the root (with the
    org file), a project with the org file, or a project as a child updater runs it (the
    namespace, release lines and root folder the root scope baked into its command)."""

    scope: str
    org_file: Path | None = None
    namespace: str | None = None
    releases: tuple[str, ...] = field(default_factory=tuple)
    root_folder: str | None = None
    jobs_path: Path | None = None
    build_timeout: int | None = None  # minutes; None: the default
    policy: TeamPolicy | None = None  # what the root granted; None: nothing
    limits: tuple[str, ...] = ()  # NAME=VALUE
    adopt_from: str | None = None  # a renamed project's former name (--adopt-from)

    @property
    def baked(self) -> bool:
        return self.namespace is not None


def render_request(request: ScopeRequest, conf: Path, workdir: Path) -> tuple[Scope, pipeline.RenderedScope]:
    """The scope a request names (its YAML laid out in `workdir`) and its XML with owner marks,
    after the job graph passed its checks (see the module). The org file is read once."""
    org = _request_org(request)
    scope = _resolve_scope(request, org, workdir)
    config = pipeline.make_jjb_config(conf)
    owned = frozenset({scope.name})
    if org is None:  # a child updater: only what the root baked into its command
        rendered = render_scope(scope, config, owner=scope.name)
        report_notices(rendered)
        check_or_raise(build_graph([ScopeResult(scope, rendered)], _baked_organisation(request, scope),
                                   only=scope.namespace))
        return scope, rendered
    if scope.is_root:
        results = render_scope_list([scope, *project_scopes(org, workdir)], config, owned)
    else:
        results = render_scope_list([root_scope(org, workdir), scope], config, owned)
    check_or_raise(build_graph(results, org))
    return scope, next(result.rendered for result in results if result.scope is scope)


def _baked_organisation(request: ScopeRequest, scope: Scope) -> Organisation:
    """The organisation as far as a child updater knows it (what the root baked into its
    command): its own project, the release lines and the root folder, for its graph check."""
    releases = tuple(ReleaseLine(*spec.split("=", 1)) for spec in request.releases)
    project = Project(name=scope.name, description="", repo=GitRepo(url="", branch=""),
                      jobs_path=str(request.jobs_path), namespace=scope.namespace, services=())
    policy = scope.policy or TeamPolicy()
    return Organisation(name=scope.name, org_file=Path("(baked into the child updater's command)"),
                        jobs_repo=GitRepo(url="", branch=""), root_folder=request.root_folder,
                        updater=Updater(label=policy.updater_label or "", credential_id="", poll=""),
                        release_lines=releases, projects=(project,), environments=None)


def _request_org(request: ScopeRequest) -> Organisation | None:
    if request.adopt_from is not None:
        _check_adopt_from(request)
    if request.scope == ROOT:
        if request.baked or request.releases or request.jobs_path or request.build_timeout is not None \
                or request.policy or request.limits:
            raise EnvDeliveryError("the root scope takes --org-file only, not --namespace/--release/--build-timeout/"
                                   "--allow-*/--limit/JOBS_PATH")
        return load_organisation(request.org_file or Path("delivery.yaml"))
    if request.baked:
        if request.jobs_path is None or request.root_folder is None:
            raise EnvDeliveryError("a project scope given by --namespace also needs --release, --root-folder "
                                   "and JOBS_PATH")
        return None
    if request.org_file is None:
        raise EnvDeliveryError(f"scope {request.scope}: give either --namespace/--release/--root-folder/JOBS_PATH "
                               "(as a child updater does) or --org-file")
    if request.build_timeout is not None:
        raise EnvDeliveryError(f"scope {request.scope}: --build-timeout goes with --namespace (a child updater's "
                               "command); with --org-file the org file's build-timeout applies")
    if request.policy or request.limits:
        raise EnvDeliveryError(f"scope {request.scope}: --allow-*, --unknown-classes, --updater-* and --limit go "
                               "with --namespace (a child updater's command); with --org-file the org file's "
                               "projects[].allow, policy and limits apply")
    return load_organisation(request.org_file)


def _check_adopt_from(request: ScopeRequest) -> None:
    if request.scope == ROOT:
        raise EnvDeliveryError("the root scope takes no --adopt-from: a project's renamed-from in the org file "
                               "renames its folder")
    if not NAME_PATTERN.match(request.adopt_from) or request.adopt_from.lower() == request.scope.lower() \
            or request.adopt_from == ROOT:
        raise EnvDeliveryError(f"--adopt-from {request.adopt_from!r}: expected the project's former name (letters, "
                               f"digits, '.', '_' and '-'), not {request.scope!r} itself nor the root scope")


def _resolve_scope(request: ScopeRequest, org: Organisation | None, workdir: Path) -> Scope:
    """The scope, with what it adopts: --adopt-from, else the project's renamed-from in the org file."""
    scope = _resolve_scope_itself(request, org, workdir)
    adopt_from = request.adopt_from
    if adopt_from is None and org is not None and not scope.is_root:
        adopt_from = org.project(scope.name).renamed_from
    return replace(scope, adopt_from=adopt_from) if adopt_from else scope


def _resolve_scope_itself(request: ScopeRequest, org: Organisation | None, workdir: Path) -> Scope:
    if org is None:
        timeout = {} if request.build_timeout is None else {"build_timeout": request.build_timeout}
        return project_scope_from_args(request.scope, request.namespace, list(request.releases),
                                       request.root_folder, request.jobs_path, workdir, **timeout,
                                       policy=request.policy, limits=limits_from_args(request.limits))
    if request.scope == ROOT:
        return root_scope(org, workdir)
    try:
        project = org.project(request.scope)
    except KeyError as exc:
        raise EnvDeliveryError(exc.args[0]) from None
    jobs_dir = request.jobs_path or local_jobs_dir(project)
    if jobs_dir is None:
        raise EnvDeliveryError(f"project {project.name} has no local-checkout in the org file: give JOBS_PATH")
    return project_scope(org, project, workdir, jobs_dir)


def limits_from_args(specs: tuple[str, ...]) -> Limits:
    """``--limit NAME=VALUE`` options (as the root bakes the org file's ``limits``) over the defaults."""
    names, settings = Limits.setting_names(), []
    for spec in specs:
        name, sep, text = spec.partition("=")
        kind = names.get(name)
        try:
            value = kind(text) if sep and kind else None
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise EnvDeliveryError(f"--limit {spec!r}: expected NAME=VALUE with NAME one of {', '.join(names)} "
                                   "and VALUE a number above 0")
        settings.append((name, value))
    return DEFAULT_LIMITS.with_settings(settings)
