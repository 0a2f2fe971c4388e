"""``api/json`` for the Jenkins REST emulator: Stapler-style export with ``tree``/``depth``.

Each object is an ``Exported`` bean: its Java class and its ``@Exported`` properties in
Stapler's order (superclass first, alphabetical within a class), each with a visibility.
``export_tree`` applies the pruners of shared/reference/jenkins-rest.md §2.11; ``emulator_flavors``
writes the pruned tree as JSON, XML or a Python literal. URLs follow the request's ancestors
(``Beans.path_of``).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .emulator_flavors import to_json
from .emulator_params import exported_properties
from .emulator_state import MULTIBRANCH_CLASS, Build, Group, Item, QueueItem, State, View, raw_encode

Value = Any  # JSON value, Exported, list of those, or a zero-argument callable (lazy)


@dataclass
class Exported:
    cls: str | None  # None: no _class (e.g. plugin entries)
    props: list[tuple[str, int, Value]]  # (name, visibility, value)


# --- pruners ----------------------------------------------------------------------------------


class ByDepth:
    def __init__(self, n: int) -> None:
        self.n = n

    def child(self, name: str, visibility: int) -> ByDepth | None:
        return ByDepth(self.n + 1) if visibility >= self.n else None

    def range(self, name: str) -> tuple[int | None, int | None] | None:
        return None


class NamedPath:
    """``tree=a,b[c,d{0,5}]``: selects properties, never orders them."""

    def __init__(self, children: dict[str, tuple[NamedPath, tuple | None]]) -> None:
        self.children = children

    def child(self, name: str, visibility: int) -> NamedPath | None:
        hit = self.children.get(name)
        return hit[0] if hit else None

    def range(self, name: str) -> tuple[int | None, int | None] | None:
        hit = self.children.get(name)
        return hit[1] if hit else None


def parse_tree(spec: str) -> NamedPath:
    """Parse Stapler's tree syntax; ValueError when malformed (Jenkins answers 500)."""
    pos = 0

    def name() -> str:
        nonlocal pos
        start = pos
        while pos < len(spec) and spec[pos] not in ",[]{}":
            pos += 1
        if pos == start:
            raise ValueError(f"expected a property name at {start} in {spec!r}")
        return spec[start:pos].strip()

    def rng() -> tuple[int | None, int | None]:
        nonlocal pos
        end = spec.find("}", pos)
        if end < 0:
            raise ValueError("unclosed {")
        body, pos = spec[pos:end], end + 1
        lo, sep, hi = body.partition(",")
        try:
            if not sep:
                return int(lo), int(lo) + 1
            return (int(lo) if lo.strip() else None), (int(hi) if hi.strip() else None)
        except ValueError as exc:
            raise ValueError(f"bad range {{{body}}}") from exc

    def tree_list() -> NamedPath:
        nonlocal pos
        children: dict[str, tuple[NamedPath, tuple | None]] = {}
        while True:
            key = name()
            sub = NamedPath({})
            r = None
            if pos < len(spec) and spec[pos] == "[":
                pos += 1
                sub = tree_list()
                if pos >= len(spec) or spec[pos] != "]":
                    raise ValueError("unclosed [")
                pos += 1
            if pos < len(spec) and spec[pos] == "{":
                pos += 1
                r = rng()
            children[key] = (sub, r)
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            return NamedPath(children)

    result = tree_list()
    if pos != len(spec):
        raise ValueError(f"unexpected {spec[pos]!r} at {pos}")
    return result


def make_pruner(query: dict[str, str]) -> ByDepth | NamedPath:
    if "tree" in query:
        return parse_tree(query["tree"])
    depth = int(query.get("depth", "0"))  # non-numeric → ValueError → 500
    return ByDepth(1 - depth)


def export(obj: Exported, pruner: ByDepth | NamedPath) -> bytes:
    """The bean as ``api/json`` writes it (emulator_flavors: Stapler's JSONDataWriter)."""
    return to_json(export_tree(obj, pruner)).encode("utf-8")


def export_tree(obj: Exported, pruner: ByDepth | NamedPath) -> dict[str, Any]:
    """The pruned bean: dicts in Stapler's property order, ``_class`` first."""
    return _object(obj, pruner, root=True)


def _object(obj: Exported, pruner: ByDepth | NamedPath, root: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if obj.cls is not None:
        out["_class"] = obj.cls
    for name, visibility, value in obj.props:
        child = pruner.child(name, visibility)
        if child is None:
            continue
        if callable(value):
            value = value()
        if isinstance(value, list):
            r = pruner.range(name)
            if r is not None:
                value = value[r[0]:r[1]]
        out[name] = _value(value, child)
    return out


def _value(value: Value, pruner: ByDepth | NamedPath) -> Any:
    if isinstance(value, Exported):
        return _object(value, pruner)
    if isinstance(value, list):
        return [_value(v, pruner) for v in value]
    if isinstance(value, dict):
        # A Map: an object by key, each value under the property's own pruner
        # (stapler core/.../export/Property.java:269-285, compact form).
        return {k: _value(v, pruner) for k, v in value.items()}
    return value


# --- beans ------------------------------------------------------------------------------------


class Beans:
    """Builds the exported beans of one request (absolute URLs need its Host)."""

    def __init__(self, state: State, base_url: str, version: str) -> None:
        self.state = state
        self.base = base_url  # "http://host:port/"
        self.version = version
        # The request's ancestors: id(item) -> the URL path it was reached by, as sent
        # ("view/v/job/a/", "job/TOP/"); see path_of.
        self.ancestors: dict[int, str] = {}

    def url(self, path: str) -> str:
        return self.base + path

    def path_of(self, group: Group) -> str:
        """AbstractItem.getUrl (core AbstractItem.java:533-577): an item the request went through
        answers at the URL the request reached it by (Stapler's ancestors keep the raw tokens,
        stapler@135bbbc8 AncestorImpl.java:49,65-72), so "view/v/job/a/" or "job/TOP/"; others at
        their parent's URL plus "job/<name>/". The root is ""."""
        if not isinstance(group, Item):
            return ""
        seen = self.ancestors.get(id(group))
        if seen is not None:
            return seen
        return f"{self.path_of(group.parent)}job/{raw_encode(group.name)}/"

    # items -------------------------------------------------------------------------------

    def color(self, item: Item) -> str:
        if item.disabled:
            return "disabled"
        base = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow",
                "ABORTED": "aborted", "NOT_BUILT": "notbuilt"}
        # BallColor: the last completed build's colour, "_anime" while a build runs
        completed = next((b for b in item.builds if not b.building), None)
        color = base.get(completed.result or "", "blue") if completed else "notbuilt"
        if item.builds and item.builds[0].building:
            color += "_anime"
        return color

    def _queued(self, item: Item) -> QueueItem | None:
        for q in self.state.queue.values():
            if q.item is item and q.build is None:
                return q
        return None

    def build_ref(self, item: Item, build: Build | None) -> Exported | None:
        if build is None:
            return None
        return Exported(item.type.build_class, [
            ("number", 2, build.number),
            ("url", 2, self.url(f"{self.path_of(item)}{build.number}/")),
        ])

    def _last(self, item: Item, results: tuple[str, ...] | None,
              completed: bool = True) -> Exported | None:
        for b in item.builds:
            if completed and b.building:
                continue
            if results is None or b.result in results:
                return self.build_ref(item, b)
        return None

    def item(self, item: Item) -> Exported:
        if item.is_folder:
            return self.folder(item)
        return self.job(item)

    def _abstract_item(self, item: Item) -> list[tuple[str, int, Value]]:
        return [
            ("actions", 1, list[Any]()),
            ("description", 1, lambda: item.description),
            ("displayName", 1, item.name),
            ("displayNameOrNull", 1, None),
            ("fullDisplayName", 1, item.full_name.replace("/", " » ")),
            ("fullName", 1, item.full_name),
            ("name", 999, item.name),
            ("url", 999, self.url(self.path_of(item))),
        ]

    def job(self, item: Item) -> Exported:
        queued = self._queued(item)
        builds = [self.build_ref(item, b) for b in item.builds[:100]]
        root = item.root()
        in_queue = ("inQueue", 1, queued is not None)
        queue_item = ("queueItem", 1, self.queue_item(queued) if queued else None)
        workflow = item.type.root == "flow-definition"
        # Job's @Exported properties (core Job.java:290-1297), alphabetical as Stapler orders them
        props = self._abstract_item(item) + [
            ("allBuilds", -2, [self.build_ref(item, b) for b in item.builds]),
            # AbstractProject/ParameterizedJob.isBuildable: enabled, not held off after a copy
            ("buildable", 1, item.buildable),
            ("builds", 1, builds),
            ("color", 2, lambda: self.color(item)),
            ("firstBuild", 1, self.build_ref(item, item.builds[-1] if item.builds else None)),
            ("healthReport", 1, list[Any]()),
            *([] if workflow else [in_queue]),
            ("keepDependencies", 1, (root.findtext("keepDependencies") or "").strip() == "true"),
            ("lastBuild", 1, self._last(item, None, completed=False)),
            ("lastCompletedBuild", 1, self._last(item, None)),
            ("lastFailedBuild", 1, self._last(item, ("FAILURE",))),
            ("lastStableBuild", 1, self._last(item, ("SUCCESS",))),
            ("lastSuccessfulBuild", 1, self._last(item, ("SUCCESS", "UNSTABLE"))),
            ("lastUnstableBuild", 1, self._last(item, ("UNSTABLE",))),
            ("lastUnsuccessfulBuild", 1, self._last(item, ("FAILURE", "UNSTABLE", "ABORTED"))),
            ("nextBuildNumber", 1, item.next_build_number),
            # Job.getAllProperties, @Exported(name = "property") (Job.java:611-614): emulator_params
            ("property", 1, lambda: exported_properties(root, Exported)),
            *([] if workflow else [queue_item]),
        ]
        if workflow:
            # WorkflowJob is no AbstractProject: no upstream/downstream, no scm, no label. Its own
            # exports (wfjob@cef6baef src/main/java/org/jenkinsci/plugins/workflow/job/WorkflowJob.java:295-378)
            # include isInQueue/getQueueItem, which Stapler then writes in WorkflowJob's block,
            # not Job's (stapler Model.java:233-241, FilteringTreePruner).
            props += [("concurrentBuild", 1, _workflow_concurrent(root)), ("disabled", 1, item.disabled),
                      in_queue, queue_item, ("resumeBlocked", 1, root.find(
                          f"properties/{_WORKFLOW_PROPERTIES}DisableResumeJobProperty") is not None)]
        else:
            # AbstractProject.getAssignedLabelString: null when the job may roam (core
            # AbstractProject.java:416-425); the SCM's class from the config.
            label = None if (root.findtext("canRoam") or "true").strip() == "true" \
                else root.findtext("assignedNode")
            scm = root.find("scm")
            scm_class = scm.get("class", "hudson.scm.NullSCM") if scm is not None \
                else "hudson.scm.NullSCM"
            props += [
                ("concurrentBuild", 1, (root.findtext("concurrentBuild") or "") == "true"),
                ("disabled", 1, item.disabled),
                ("downstreamProjects", 1, list[Any]()),
                ("labelExpression", 1, label),
                ("scm", 1, Exported(scm_class, [])),
                ("upstreamProjects", 1, list[Any]()),
            ]
        return Exported(item.type.cls, props)

    def folder(self, item: Item) -> Exported:
        props = self._abstract_item(item) + [
            ("healthReport", 1, list[Any]()),
            ("jobs", 1, lambda: [self.item(c) for c in item.sorted_items()]),
            ("primaryView", 1, lambda: self.view(item, item.primary())),
            ("views", 1, lambda: [self.view(item, v) for v in item.sorted_views()]),
        ]
        if item.type.computed:
            # ComputedFolder.isBuildable (folder@b72f4d5 computed/ComputedFolder.java:576-590)
            props.append(("buildable", 1, item.buildable))
        if item.type.cls == MULTIBRANCH_CLASS:
            # MultiBranchProject.getSources is @Exported (bapi@e73a56d MultiBranchProject.java:409-418,
            # JENKINS-50777): BranchSource exports its SCMSource (BranchSource.java:48-95), which has
            # no exported property of its own (scm-api@24df4bb SCMSource.java:74), so only its _class.
            props.append(("sources", 1, lambda: _branch_sources(item)))
        return Exported(item.type.cls, props)

    # root, views ---------------------------------------------------------------------------

    def root(self) -> Exported:
        root = self.state.root
        return Exported("hudson.model.Hudson", [
            ("assignedLabels", 1, [Exported(None, [("name", 999, "built-in")])]),
            ("mode", 1, "NORMAL"),
            ("nodeDescription", 1, "the built-in node of the REST emulator"),
            ("nodeName", 1, ""),
            ("numExecutors", 1, 0),
            ("description", 1, None),
            ("jobs", 1, lambda: [self.item(i) for i in root.sorted_items()]),
            ("overallLoad", 1, {}),
            ("primaryView", 1, lambda: self.view(root, root.primary())),
            ("quietDownReason", 1, None),
            ("quietingDown", 1, False),
            ("slaveAgentPort", 1, -1),
            ("unlabeledLoad", 1, Exported("jenkins.model.UnlabeledLoadStatistics", [])),
            ("url", 1, self.base),
            ("useCrumbs", 1, self.use_crumbs),
            ("useSecurity", 1, self.use_security),
            ("views", 1, lambda: [self.view(root, v) for v in root.sorted_views()]),
        ])

    use_crumbs = True
    use_security = True

    def view_url(self, owner: Group, view: View) -> str:
        if view.name == owner.primary_view:
            return self.url(self.path_of(owner))  # the default view answers at its owner's URL
        return self.url(f"{self.path_of(owner)}view/{raw_encode(view.name)}/")

    def view(self, owner: Group, view: View) -> Exported:
        return Exported(view.type.cls, [
            ("description", 1, lambda: view.description),
            ("jobs", 1, lambda: [self.item(i) for i in self.view_items(owner, view)]),
            ("name", 2, view.name),
            ("property", 1, list[Any]()),
            ("url", 2, self.view_url(owner, view)),
        ])

    def view_items(self, owner: Group, view: View) -> list[Item]:
        if view.type.root == "hudson.model.AllView":
            return owner.sorted_items()
        root = ET.fromstring(view.config)
        names = {(s.text or "").lower() for s in root.findall("jobNames/string")}
        regex = root.findtext("includeRegex")
        out = []
        for item in owner.sorted_items():
            if item.name.lower() in names or (regex and re.fullmatch(regex, item.name)):
                out.append(item)
        return out

    # queue, builds, plugins ----------------------------------------------------------------

    def queue_item(self, q: QueueItem) -> Exported:
        if q.build is None and q.left_at is not None:
            return self._cancelled_item(q)
        return self._queue_item(q)

    def _cancelled_item(self, q: QueueItem) -> Exported:
        """A LeftItem cancelled before it ran (Queue.cancel; core Queue.java:2900-2945)."""
        props = self._queue_item(q).props[:-2]  # without why/timestamp of a waiting item
        return Exported("hudson.model.Queue$LeftItem", props + [
            ("why", 999, None), ("cancelled", 999, True), ("executable", 999, None)])

    def _queue_item(self, q: QueueItem) -> Exported:
        task = Exported(q.item.type.cls, [
            ("name", 999, q.item.name),
            ("url", 999, self.url(self.path_of(q.item))),
            ("color", 2, self.color(q.item)),
        ])
        # Queue.Item is @ExportedBean(defaultVisibility=999), its causes are written whole
        causes = [self.cause(c, 999) for c in q.causes] or [
            Exported("hudson.model.Cause$UserIdCause", [
                ("shortDescription", 999, "Started by remote request"),
            ])]
        # Queue.Item is @ExportedBean(defaultVisibility=999): everything always written
        props: list[tuple[str, int, Value]] = [
            ("actions", 999, [Exported("hudson.model.CauseAction", [("causes", 999, causes)])]),
            ("blocked", 999, False),
            ("buildable", 999, False),
            ("id", 999, q.id),
            ("inQueueSince", 999, int(q.since * 1000)),
            ("params", 999, q.params),
            ("stuck", 999, False),
            ("task", 999, task),
            ("url", 999, f"queue/item/{q.id}/"),
        ]
        if q.build is None:
            left = q.ready_at - time.time()
            why = (f"In the quiet period. Expires in {left:.1f} sec" if left > 0
                   else "Waiting for next available executor")
            props += [("why", 999, why), ("timestamp", 999, int(q.ready_at * 1000))]
            return Exported("hudson.model.Queue$WaitingItem", props)
        props += [("why", 999, None),
                  ("cancelled", 999, False),
                  ("executable", 999, Exported(q.item.type.build_class, [
                      ("number", 999, q.build.number),
                      ("url", 999, self.url(f"{self.path_of(q.item)}{q.build.number}/")),
                  ]))]
        return Exported("hudson.model.Queue$LeftItem", props)

    def queue(self) -> Exported:
        waiting = [q for q in self.state.queue.values() if q.build is None]
        return Exported("hudson.model.Queue", [
            ("discoverableItems", 1, list[Any]()),
            ("items", 1, [self.queue_item(q) for q in waiting]),
        ])

    @staticmethod
    def cause(cause: dict[str, Any], visibility: int = 3) -> Exported:
        """A cause recorded as its api/json dict: ``_class`` plus exported properties (keys
        starting with ``_`` are kept but not exported, e.g. an UpstreamCause's upstream causes)."""
        # Cause's exported properties have visibility 3 (core Cause.java:79, 296-314)
        return Exported(cause.get("_class"), [(k, visibility, v)
                                              for k, v in sorted(cause.items())
                                              if not k.startswith("_")])

    @staticmethod
    def parameter(value: dict[str, Any]) -> Exported:
        """A ParameterValue: ``name`` at visibility 3 (core ParameterValue.java:77), ``value``
        at 4 (StringParameterValue.java:42)."""
        return Exported(value.get("_class"), [(k, 3 if k == "name" else 4, v)
                                              for k, v in sorted(value.items()) if k != "_class"])

    def build_actions(self, build: Build) -> list[Any]:
        """The exported actions of a build the job runner ran: CauseAction, ParametersAction,
        git's BuildData, junit's TestResultAction. Simulated builds have none."""
        actions: list[Any] = []
        if build.causes is not None:
            actions.append(Exported("hudson.model.CauseAction", [
                ("causes", 2, [self.cause(c) for c in build.causes])]))
        if build.parameters:
            actions.append(Exported("hudson.model.ParametersAction", [
                ("parameters", 2, [self.parameter(p) for p in build.parameters])]))
        if build.scm:  # @ExportedBean(defaultVisibility = 999) (git util/BuildData.java:43)
            actions.append(Exported("hudson.plugins.git.util.BuildData", [
                (k, 999, v) for k, v in sorted(build.scm.items())]))
        if build.tests:
            actions.append(Exported("hudson.tasks.junit.TestResultAction", [
                ("failCount", 2, build.tests.get("failCount", 0)),
                ("skipCount", 2, build.tests.get("skipCount", 0)),
                ("totalCount", 2, build.tests.get("totalCount", 0)),
                ("urlName", 2, "testReport")]))
        return actions

    def artifacts(self, build: Build) -> list[Exported]:
        return [Exported(None, [("displayPath", 3, shown), ("fileName", 3, path.rsplit("/", 1)[-1]),
                                ("relativePath", 3, path)])
                for path, shown in zip(build.artifacts, display_paths(build.artifacts), strict=True)]

    def build(self, item: Item, build: Build) -> Exported:
        return Exported(item.type.build_class, [
            ("actions", 1, self.build_actions(build)),
            ("artifacts", 1, self.artifacts(build)),
            ("building", 1, build.building),
            ("description", 1, None),
            ("displayName", 1, f"#{build.number}"),
            ("duration", 1, build.duration),
            ("estimatedDuration", 1, build.duration),
            ("executor", 1, None),
            ("fullDisplayName", 1, f"{item.full_name.replace('/', ' » ')} #{build.number}"),
            ("id", 1, str(build.number)),
            ("inProgress", 1, build.building),
            ("keepLog", 1, False),
            ("number", 1, build.number),
            ("queueId", 1, build.queue_id),
            ("result", 1, build.result),
            ("timestamp", 1, build.timestamp),
            ("url", 1, self.url(f"{self.path_of(item)}{build.number}/")),
            *self._scm_of_build(item, build),
        ])

    @staticmethod
    def _scm_of_build(item: Item, build: Build) -> list[tuple[str, int, Any]]:
        """AbstractBuild exports builtOn and one changeSet; a WorkflowRun runs on no single node
        and exports changeSets, one per checkout (workflow-job WorkflowRun.java:942-943,
        982-984); both export culprits."""
        if item.type.root == "flow-definition":
            return [("changeSets", 1, list[Any]()), ("culprits", 1, list[Any]())]
        return [("builtOn", 1, build.built_on),
                ("changeSet", 1, Exported("hudson.scm.EmptyChangeLogSet",
                                          [("items", 1, list[Any]()), ("kind", 1, None)])),
                ("culprits", 1, list[Any]())]

    def plugins(self) -> Exported:
        def plugin(p: dict[str, Any]) -> Exported:
            deps = [Exported(None, [("optional", 1, bool(d.get("optional", False))),
                                    ("shortName", 1, d["shortName"]),
                                    ("version", 1, d.get("version", ""))])
                    for d in p.get("dependencies", [])]
            short = p["shortName"]
            return Exported(None, [
                ("active", 1, p.get("active", True)),
                ("backupVersion", 1, None),
                ("bundled", 1, False),
                ("deleted", 1, False),
                ("dependencies", 1, deps),
                ("detached", 1, False),
                ("downgradable", 1, False),
                ("enabled", 1, p.get("enabled", True)),
                ("hasUpdate", 1, False),
                ("longName", 1, p.get("longName", short)),
                ("pinned", 1, False),
                ("requiredCoreVersion", 1, p.get("requiredCoreVersion", "2.440.3")),
                ("shortName", 1, short),
                ("supportsDynamicLoad", 1, "MAYBE"),
                ("url", 1, p.get("url", f"https://plugins.jenkins.io/{short}")),
                ("version", 1, str(p.get("version", "1.0"))),
            ])

        return Exported("hudson.LocalPluginManager", [
            ("plugins", 1, [plugin(p) for p in self.state.plugins]),
        ])

    def user(self, name: str, admin: bool = False) -> Exported:
        """User's exports (core User.java:268-380 at jenkins-2.492.3): ``absoluteUrl`` and
        ``fullName`` visibility 999, ``id``, ``description``; ``property`` lists the user's
        properties only to Overall/Administer (``getAllProperties``, :374-381). The URL uses the
        default case-insensitive IdStrategy's key, the lower-cased id (:272-274)."""
        props = [Exported(cls, fields) for cls, fields in USER_PROPERTIES] if admin else []
        return Exported("hudson.model.User", [
            ("absoluteUrl", 999, self.url(f"user/{raw_encode(name.lower())}")),
            ("description", 1, None),
            ("fullName", 999, name),
            ("id", 1, name),
            ("property", 1, props),
        ])



_WORKFLOW_PROPERTIES = "org.jenkinsci.plugins.workflow.job.properties."

# The core user properties every user has (no plugin adds any here); UserSearchProperty exports
# insensitiveSearch (core hudson/search/UserSearchProperty.java:24-27), the others nothing.
USER_PROPERTIES: list[tuple[str, list[tuple[str, int, Any]]]] = [
    ("jenkins.security.ApiTokenProperty", []),
    ("hudson.model.MyViewsProperty", []),
    ("hudson.model.PaneStatusProperties", []),
    ("jenkins.security.seed.UserSeedProperty", []),
    ("hudson.search.UserSearchProperty", [("insensitiveSearch", 1, True)]),
    ("hudson.model.TimeZoneProperty", []),
]


def _workflow_concurrent(root: ET.Element) -> bool:
    """WorkflowJob.isConcurrentBuild: no DisableConcurrentBuildsJobProperty, or one with
    abortPrevious (WorkflowJob.java:365-371); the legacy <concurrentBuild> field becomes that
    property on load (:125-126, :148-150)."""
    prop = root.find(f"properties/{_WORKFLOW_PROPERTIES}DisableConcurrentBuildsJobProperty")
    if prop is not None:
        return (prop.findtext("abortPrevious") or "").strip() == "true"
    return (root.findtext("concurrentBuild") or "true").strip() != "false"


def _branch_sources(item: Item) -> list[Exported]:
    out = []
    for source in item.root().findall("sources/data/jenkins.branch.BranchSource/source"):
        cls = source.get("class")
        out.append(Exported(None, [("source", 1, Exported(cls, []) if cls else None)]))
    return out


def display_paths(paths: list[str], cutoff: int = 20) -> list[str | None]:
    """``Run.ArtifactList.computeDisplayName`` (core Run.java:1232-1277): each artifact is shown by
    its file name, lengthened by parent directories while two names collide; above
    ``LIST_CUTOFF`` (20, Run.java:1171) artifacts no display path is computed."""
    if len(paths) > cutoff:
        return [None] * len(paths)
    tokens = [[t for t in re.split(r"[\\/]+", p)] for p in paths]
    lengths = [1] * len(paths)
    max_depth = max((len(t) for t in tokens), default=0)
    depth = 0
    while True:
        collision = False
        seen: dict[str, int] = {}
        for i, token in enumerate(tokens):
            shown = "/".join(token[max(0, len(token) - lengths[i]):])
            previous = seen.get(shown)
            seen[shown] = i
            if previous is not None:
                collision = True
                if previous >= 0:
                    lengths[previous] += 1
                lengths[i] += 1
                seen[shown] = -1  # later collisions lengthen only the newcomer
        if not (collision and depth < max_depth):
            break
        depth += 1
    return ["/".join(t[max(0, len(t) - n):]) for t, n in zip(tokens, lengths, strict=True)]
