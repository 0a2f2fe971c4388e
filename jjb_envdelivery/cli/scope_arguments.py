"""The arguments that name a scope, shared by ``update`` and ``plan``."""

from __future__ import annotations

from pathlib import Path

from ..model.policy import Allowances, ClassException, TeamPolicy, UnknownClasses
from ..orchestration.checked_render import ScopeRequest


def add_scope_arguments(parser) -> None:
    parser.add_argument("--scope", required=True, help="'root' or a project name")
    parser.add_argument("--conf", type=Path, required=True, help="JJB ini with the server URL and credentials")
    parser.add_argument("--org-file", type=Path,
                        help="the org file (root scope; for a project scope, takes its settings from it)")
    parser.add_argument("--namespace", help="project scope: folder:NAME or prefix:NAME- (baked in by the root)")
    parser.add_argument("--release", action="append", default=[], metavar="NAME=BRANCH",
                        help="project scope: a release line (repeatable)")
    parser.add_argument("--root-folder", help="project scope: the root scope's folder")
    parser.add_argument("--build-timeout", type=int, metavar="MINUTES",
                        help="project scope: the teams' job timeout, at least 3 (default 60; baked in by the root)")
    policy = parser.add_argument_group("project scope: the job policy and limits the root bakes in "
                                       "(README, \"The job policy\")")
    policy.add_argument("--allow-label", action="append", default=[], metavar="LABEL",
                        help="an agent label the team's jobs may name (repeatable)")
    policy.add_argument("--allow-credential", action="append", default=[], metavar="ID",
                        help="a credential ID the team's jobs may bind (repeatable)")
    policy.add_argument("--allow-upstream", action="append", default=[], metavar="JOB",
                        help="a job outside the namespace the team's triggers and copies may reach (repeatable)")
    policy.add_argument("--allow-class", action="append", default=[], metavar="CLASS",
                        help="a plugin class granted as an exception (repeatable)")
    policy.add_argument("--unknown-classes", choices=UnknownClasses.CHOICES,
                        help="plugin classes the policy does not know: refuse (default) or allow")
    policy.add_argument("--updater-label", help="the updater's agent label, which no team job may name")
    policy.add_argument("--updater-credential", help="the updater's credential ID, which no team job may bind")
    policy.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                        help="a bound on the team scope's work, e.g. jobs=5000 (repeatable)")
    parser.add_argument("jobs_path", nargs="?", type=Path, help="project scope: the team's job YAML directory")
    parser.add_argument("--adopt", action="store_true", help="take over existing items no updater owns")
    parser.add_argument("--adopt-from", metavar="OLD",
                        help="project scope: the project's former name; take over the items scope OLD owns in this "
                        "scope's namespace (baked in by the root from the org file's renamed-from)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="let a scope that generates nothing delete all its items")
    parser.add_argument("--cache-dir", type=Path, help="where scope caches live (default ~/.cache/jjb-envdelivery)")


def scope_request(args) -> ScopeRequest:
    return ScopeRequest(args.scope, org_file=args.org_file, namespace=args.namespace, releases=tuple(args.release),
                        root_folder=args.root_folder, jobs_path=args.jobs_path, build_timeout=args.build_timeout,
                        policy=_policy(args), limits=tuple(args.limit), adopt_from=args.adopt_from)


def _policy(args) -> TeamPolicy | None:
    """The policy the command line bakes in; None when it names none of it."""
    given = (args.allow_label, args.allow_credential, args.allow_upstream, args.allow_class)
    if not any(given) and args.unknown_classes is None and args.updater_label is None \
            and args.updater_credential is None:
        return None
    exceptions = tuple(ClassException(name, "granted by the root scope in this updater's command")
                       for name in args.allow_class)
    allow = Allowances(agent_labels=tuple(args.allow_label), credentials=tuple(args.allow_credential),
                       upstreams=tuple(args.allow_upstream), classes=exceptions)
    return TeamPolicy(allow=allow, unknown_classes=args.unknown_classes or UnknownClasses.REFUSE,
                      updater_label=args.updater_label, updater_credential=args.updater_credential)
