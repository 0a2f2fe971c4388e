"""State of the Jenkins REST emulator: items, views, queue, builds, and their XML.

Plain data plus the checks Jenkins applies when it stores configuration
(shared/reference/jenkins-rest.md §2.2-§2.8). No HTTP here; see ``jenkins_emulator``.
"""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import jenkins_names
from .emulator_credentials import StoredCredential, add_to_folder_config, folder_credentials
from .emulator_xmlfile import XMLFILE_DECLARATION, identity_transform, split_declaration

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
MULTIBRANCH_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
ORGANIZATION_FOLDER_CLASS = "jenkins.branch.OrganizationFolder"
LIST_VIEW = "hudson.model.ListView"
XML_DECLARATION = '<?xml version="1.1" encoding="UTF-8"?>\n'
QUEUE_LEFT_TTL = 300.0  # Queue keeps left items 5 minutes (§2.7)


class Failure(Exception):
    """hudson.model.Failure: answered 400 with ``X-Error`` (§2.13)."""


class ServerError(Exception):
    """An uncaught exception in Jenkins: answered 500 with the "Oops!" page."""


@dataclass(frozen=True)
class ItemType:
    root: str  # XML root element
    cls: str  # Java class reported as _class
    plugin: str | None  # plugin short name that must be installed
    folder: bool = False
    build_class: str = "hudson.model.FreeStyleBuild"
    default_config: str = ""
    # A ComputedFolder (cloudbees-folder computed/ComputedFolder.java): its children come from
    # indexing (never, in the emulator), never from createItem; it can be disabled.
    computed: bool = False


def _computed_default(root: str, holder: str, rest: str) -> str:
    """A new computed folder's fields (ComputedFolder.java:112-124 and the subclass's), roughly as
    XStream writes them (unconfirmed detail)."""
    return (f'<{root}><properties/><folderViews class="{holder}"/><healthMetrics/>'
            '<orphanedItemStrategy class="com.cloudbees.hudson.plugins.folder.computed.'
            'DefaultOrphanedItemStrategy"><pruneDeadBranches>true</pruneDeadBranches>'
            "<daysToKeep>-1</daysToKeep><numToKeep>-1</numToKeep><abortBuilds>false</abortBuilds>"
            f"</orphanedItemStrategy><triggers/><disabled>false</disabled>{rest}</{root}>")


_FREESTYLE_DEFAULT = (
    "<project><keepDependencies>false</keepDependencies><properties/>"
    '<scm class="hudson.scm.NullSCM"/><canRoam>true</canRoam><disabled>false</disabled>'
    "<blockBuildWhenDownstreamBuilding>false</blockBuildWhenDownstreamBuilding>"
    "<blockBuildWhenUpstreamBuilding>false</blockBuildWhenUpstreamBuilding><triggers/>"
    "<concurrentBuild>false</concurrentBuild><builders/><publishers/><buildWrappers/></project>"
)

ITEM_TYPES: dict[str, ItemType] = {
    t.root: t
    for t in (
        ItemType("project", "hudson.model.FreeStyleProject", None,
                 default_config=_FREESTYLE_DEFAULT),
        ItemType(FOLDER_CLASS, FOLDER_CLASS, "cloudbees-folder", folder=True,
                 default_config=f"<{FOLDER_CLASS}><properties/><healthMetrics/></{FOLDER_CLASS}>"),
        ItemType("flow-definition", "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                 "workflow-job", build_class="org.jenkinsci.plugins.workflow.job.WorkflowRun",
                 default_config="<flow-definition><keepDependencies>false</keepDependencies>"
                 "<properties/><triggers/><disabled>false</disabled></flow-definition>"),
        ItemType("matrix-project", "hudson.matrix.MatrixProject", "matrix-project",
                 build_class="hudson.matrix.MatrixBuild"),
        ItemType("maven2-moduleset", "hudson.maven.MavenModuleSet", "maven-plugin",
                 build_class="hudson.maven.MavenModuleSetBuild"),
        # branch-api MultiBranchProject extends ComputedFolder (bapi@e73a56d
        # src/main/java/jenkins/branch/MultiBranchProject.java:129-131); the pipeline flavour JJB
        # writes (jjb6.5.0 jenkins_jobs/modules/project_multibranch.py:103,137-138)
        ItemType(MULTIBRANCH_CLASS, MULTIBRANCH_CLASS, "workflow-multibranch", folder=True,
                 computed=True, default_config=_computed_default(
                     MULTIBRANCH_CLASS, "jenkins.branch.MultiBranchProjectViewHolder",
                     '<sources class="jenkins.branch.MultiBranchProject$BranchSourceList"><data/>'
                     "</sources><factory class=\"org.jenkinsci.plugins.workflow.multibranch."
                     'WorkflowBranchProjectFactory"><scriptPath>Jenkinsfile</scriptPath></factory>')),
        # OrganizationFolder extends ComputedFolder<MultiBranchProject> (bapi@e73a56d
        # src/main/java/jenkins/branch/OrganizationFolder.java:118-119); JJB's githuborg root
        # (jjb6.5.0 jenkins_jobs/modules/project_githuborg.py:67)
        ItemType(ORGANIZATION_FOLDER_CLASS, ORGANIZATION_FOLDER_CLASS, "branch-api", folder=True,
                 computed=True, default_config=_computed_default(
                     ORGANIZATION_FOLDER_CLASS, "jenkins.branch.OrganizationFolderViewHolder",
                     "<navigators/><projectFactories/>")),
    )
}
ITEM_TYPES_BY_CLASS = {t.cls: t for t in ITEM_TYPES.values()}


@dataclass(frozen=True)
class ViewType:
    root: str
    cls: str
    plugin: str | None
    creatable: bool = True  # False: a view a plugin makes itself, never from createView


VIEW_TYPES: dict[str, ViewType] = {
    t.root: t
    for t in (
        ViewType("hudson.model.ListView", "hudson.model.ListView", None),
        ViewType("hudson.model.AllView", "hudson.model.AllView", None),
        ViewType("hudson.model.MyView", "hudson.model.MyView", None),
        ViewType("se.diabol.jenkins.pipeline.DeliveryPipelineView",
                 "se.diabol.jenkins.pipeline.DeliveryPipelineView", "delivery-pipeline-plugin"),
        ViewType("au.com.centrumsystems.hudson.plugin.buildpipeline.BuildPipelineView",
                 "au.com.centrumsystems.hudson.plugin.buildpipeline.BuildPipelineView",
                 "build-pipeline-plugin"),
        ViewType("hudson.plugins.nested_view.NestedView", "hudson.plugins.nested_view.NestedView",
                 "nested-view"),
        ViewType("hudson.plugins.sectioned_view.SectionedView",
                 "hudson.plugins.sectioned_view.SectionedView", "sectioned-view"),
        # The views branch-api gives its computed folders (see computed_views)
        ViewType("jenkins.branch.MultiBranchProjectEmptyView",
                 "jenkins.branch.MultiBranchProjectEmptyView", "branch-api", creatable=False),
        ViewType("jenkins.branch.OrganizationFolderEmptyView",
                 "jenkins.branch.OrganizationFolderEmptyView", "branch-api", creatable=False),
        ViewType("jenkins.branch.OrganizationFolderViewHolder_-ViewImpl",
                 "jenkins.branch.OrganizationFolderViewHolder$ViewImpl", "branch-api",
                 creatable=False),
    )
}
ALL_VIEW = VIEW_TYPES["hudson.model.AllView"]
WELCOME = "welcome"  # BaseEmptyView.VIEW_NAME (bapi@e73a56d src/main/java/jenkins/branch/BaseEmptyView.java:24)

DEFAULT_PLUGINS: list[dict[str, Any]] = [
    {"shortName": "cloudbees-folder", "version": "6.1012.v79a_86a_1ea_c1f",
     "longName": "Folders Plugin"},
    {"shortName": "workflow-job", "version": "1505.vea_4b_20a_4a_495",
     "longName": "Pipeline: Job"},
    {"shortName": "matrix-project", "version": "847.v88a_f90ff9f20",
     "longName": "Matrix Project Plugin"},
    {"shortName": "build-pipeline-plugin", "version": "2.0.2",
     "longName": "Build Pipeline Plugin"},
    {"shortName": "nested-view", "version": "1.37", "longName": "Nested View Plugin"},
    {"shortName": "sectioned-view", "version": "1.29", "longName": "Sectioned View Plugin"},
    # The newest releases that still run on the reported core (2.492.3): each one's
    # jenkins.baseline is 2.479 (pom.xml at the tag); the 2026 releases need 2.504 or later.
    {"shortName": "workflow-multibranch", "version": "811.vcd33d074c2a_0",
     "longName": "Pipeline: Multibranch", "requiredCoreVersion": "2.479.3"},
    {"shortName": "branch-api", "version": "2.1229.ve86b_d02b_5e56", "longName": "Branch API Plugin",
     "requiredCoreVersion": "2.479.1"},
    {"shortName": "workflow-cps", "version": "4183.v94b_6fd39da_c1",
     "longName": "Pipeline: Groovy", "requiredCoreVersion": "2.479.3"},
    {"shortName": "git", "version": "5.7.0", "longName": "Git plugin",
     "requiredCoreVersion": "2.479.1"},
]

# --- names (Jenkins.checkGoodName, §2.3) -----------------------------------------------------

def check_good_name(name: str | None) -> str:
    """Raise Failure with Jenkins's message for a bad name; return the trimmed name (the rule
    the renderer checks too: ``jenkins_names.check_good_name``)."""
    try:
        return jenkins_names.check_good_name(name)
    except ValueError as exc:
        raise Failure(str(exc)) from None


def raw_encode(name: str) -> str:
    """hudson.Util.rawEncode: escapes non-ASCII, space, "#%<>[\\]^`{|} and /;:?."""
    return quote(name, safe="!$&'()*+,=@~")


# --- XML --------------------------------------------------------------------------------------


def parse_xml(body: bytes | str) -> ET.Element:
    """Parse a posted config; ValueError when malformed (Jenkins answers 500)."""
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from exc


def _escape(text: str) -> str:
    # XStream's PrettyPrintWriter escapes these (unconfirmed for Jenkins's exact driver).
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;").replace("\r", "&#xd;"))


def serialise(root: ET.Element) -> str:
    """Re-serialise like XStream: 2-space indent, ``<x/>`` when empty, comments dropped.

    Jenkins returns a re-serialisation of its in-memory object, never the posted bytes (§2.4).
    Element order and unknown elements are kept: XStream's defaults per class are not modelled.
    """
    out: list[str] = []

    def write(el: ET.Element, depth: int) -> None:
        pad = "  " * depth
        attrs = "".join(f' {k}="{_escape(v)}"' for k, v in el.attrib.items())
        children = [c for c in el if isinstance(c.tag, str)]
        text = el.text or ""
        if not children:
            if text:
                out.append(f"{pad}<{el.tag}{attrs}>{_escape(text)}</{el.tag}>")
            else:
                out.append(f"{pad}<{el.tag}{attrs}/>")
            return
        out.append(f"{pad}<{el.tag}{attrs}>")
        for child in children:
            write(child, depth + 1)
        out.append(f"{pad}</{el.tag}>")

    write(root, 0)
    return "\n".join(out)


def child_text(root: ET.Element, tag: str) -> str | None:
    """Text of a direct child: None when absent, "" when empty (XStream null vs "")."""
    el = root.find(tag)
    if el is None:
        return None
    return el.text or ""


def set_child_text(root: ET.Element, tag: str, text: str, after: str | None = None) -> None:
    el = root.find(tag)
    if el is None:
        el = ET.Element(tag)
        anchor = root.find(after) if after else None
        index = list(root).index(anchor) + 1 if anchor is not None else len(root)
        root.insert(index, el)
    el.text = text


# --- relative item names (core Items.java:252-282, 319-365) -------------------------------------


def canonical_name(context_full_name: str, path: str) -> str:
    """Items.getCanonicalName: `path` ("a/b", "../x", "/abs") resolved from the group named
    `context_full_name` ("" for the root); ValueError for a ".." above the root."""
    name = [c for c in context_full_name.split("/") if c]
    for i, part in enumerate(path.split("/")):
        if i == 0 and part == "":
            name.clear()  # absolute
        elif part == "..":
            if not name:
                raise ValueError(f"Illegal relative path '{path}' within context '{context_full_name}'")
            name.pop()
        elif part != ".":
            name.append(part)
    return "/".join(name)


def relative_name(item_full_name: str, group_full_name: str) -> str:
    """Items.getRelativeNameFrom: the name by which the group finds the item ("f/x", "../y")."""
    item = item_full_name.split("/") if item_full_name else []
    group = group_full_name.split("/") if group_full_name else []
    common = 0
    while common < min(len(item), len(group)) and item[common] == group[common]:
        common += 1
    ups = [".."] * (len(group) - common)
    rest = item[common:]
    return "/".join(ups + rest) or "."


def _renamed(name: str, old_full_name: str, new_full_name: str, group_full_name: str) -> str:
    try:
        canonical = canonical_name(group_full_name, name)
    except ValueError:
        return name
    if canonical != old_full_name and not canonical.startswith(old_full_name + "/"):
        return name
    moved = new_full_name + canonical[len(old_full_name):]
    return "/" + moved if name.startswith("/") else relative_name(moved, group_full_name)


def list_view_names(view: View) -> list[str]:
    """A ListView's jobNames, in stored order."""
    return [s.text or "" for s in view.root().findall("jobNames/string")]


def set_list_view_names(view: View, names: list[str]) -> None:
    """Store `names` as the view's jobNames: a TreeSet with CASE_INSENSITIVE_ORDER (core
    ListView.java:88), so sorted and without case-insensitive duplicates."""
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.lower(), name)
    root = view.root()
    holder = root.find("jobNames")
    if holder is None:
        holder = ET.SubElement(root, "jobNames")
        ET.SubElement(holder, "comparator", {"class": "java.lang.String$CaseInsensitiveComparator"})
    for old in holder.findall("string"):
        holder.remove(old)
    for key in sorted(unique):
        ET.SubElement(holder, "string").text = unique[key]
    view.config = serialise(root)


# --- model ------------------------------------------------------------------------------------


@dataclass
class Build:
    """A build record. The emulator's own simulated builds fill only the first four fields; the
    job runner (``job_runner``) fills the rest as it runs a build."""

    number: int
    queue_id: int
    timestamp: int  # ms
    result: str | None  # None while building
    duration: int = 0  # ms
    building: bool = False
    causes: list[dict[str, Any]] | None = None  # CauseAction's causes, as api/json shows them
    parameters: list[dict[str, Any]] | None = None  # ParametersAction's values, as api/json shows them
    built_on: str = ""  # node name; "" = the built-in node, as Jenkins exports builtOn
    artifacts: list[str] = field(default_factory=list)  # relative paths under build_dir/archive
    build_dir: str | None = None  # home/jobs/<full name>/builds/<n>: log and archive/
    scm: dict[str, Any] | None = None  # git's BuildData (lastBuiltRevision, buildsByBranchName…)
    workspace: str | None = None  # where the build ran (polling with PathRestriction needs it)
    tests: dict[str, int] | None = None  # junit's TestResultAction counts

    @property
    def log_path(self) -> Path | None:
        return Path(self.build_dir) / "log" if self.build_dir else None

    @property
    def archive_dir(self) -> Path | None:
        return Path(self.build_dir) / "archive" if self.build_dir else None


@dataclass
class View:
    name: str
    type: ViewType
    config: str  # serialised, without declaration

    def root(self) -> ET.Element:
        return ET.fromstring(self.config)

    @property
    def description(self) -> str | None:
        return child_text(self.root(), "description")


def default_view_config(vtype: ViewType, name: str) -> str:
    root = ET.Element(vtype.root)
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "filterExecutors").text = "false"
    ET.SubElement(root, "filterQueue").text = "false"
    ET.SubElement(root, "properties", {"class": "hudson.model.View$PropertyList"})
    return serialise(root)


class Group:
    """An ItemGroup + ViewGroup: the root, or a folder."""

    def __init__(self, default_view: str) -> None:
        self.items: dict[str, Item] = {}  # key: name.lower() (case-insensitive map)
        self.views: dict[str, View] = {}  # case-sensitive
        self.primary_view = default_view
        self.views[default_view] = View(default_view, ALL_VIEW,
                                        default_view_config(ALL_VIEW, default_view))

    # parent path, e.g. "job/a/job/b/" ("" for the root)
    path = ""
    full_name = ""

    def get_item(self, name: str) -> Item | None:
        return self.items.get(name.lower())

    def sorted_items(self) -> list[Item]:
        # CopyOnWriteMap.Tree with CASE_INSENSITIVE_ORDER
        return [self.items[k] for k in sorted(self.items)]

    def get_view(self, name: str) -> View | None:
        return self.views.get(name)

    def sorted_views(self) -> list[View]:
        return [self.views[k] for k in sorted(self.views)]

    def primary(self) -> View:
        """The primary view (an OrganizationFolder's is not among its views, see computed_views)."""
        return self.views.get(self.primary_view) or self.unlisted_views[self.primary_view]

    unlisted_views: dict[str, View] = {}  # read-only default; computed folders set their own


class Item(Group):
    """A top-level item. Only folders use the Group part.

    ``config`` is the stored config.xml after its XML declaration and ``declaration`` what precedes
    it on disk, so ``declaration + config`` is the file Jenkins 2.492.3 serves (emulator_xmlfile)."""

    def __init__(self, name: str, itype: ItemType, config: str, parent: Group,
                 declaration: str = XMLFILE_DECLARATION) -> None:
        super().__init__("All")
        self.name = name
        self.type = itype
        self.config = config
        self.declaration = declaration
        self.parent = parent
        self.builds: list[Build] = []
        self.next_build_number = 1
        # Job.holdOffBuildUntilSave (core Job.java:162-166, 249-256): a copied job does not build
        # until something saves it. Transient: a restart forgets it.
        self.hold_off_build = False

    @property
    def path(self) -> str:  # type: ignore[override]
        return f"{self.parent.path}job/{raw_encode(self.name)}/"

    @property
    def full_name(self) -> str:  # type: ignore[override]
        parent = self.parent.full_name  # once: asking twice per level doubled the work per level
        return f"{parent}/{self.name}" if parent else self.name

    @property
    def is_folder(self) -> bool:
        return self.type.folder

    def root(self) -> ET.Element:
        return ET.fromstring(self.config)

    @property
    def description(self) -> str | None:
        return child_text(self.root(), "description")

    @property
    def file_text(self) -> str:
        """The config.xml file as it is on disk."""
        return self.declaration + self.config

    def save(self, root: ET.Element) -> None:
        """``save()``: XmlFile.write serialises the object with XStream after its own declaration
        (core hudson/XmlFile.java:203-212); Job.save clears holdOffBuildUntilSave (Job.java:201-206)."""
        self.config = serialise(root)
        self.declaration = XMLFILE_DECLARATION
        self.hold_off_build = False

    @property
    def disabled(self) -> bool:
        """A plain folder is never disabled: AbstractFolder.isDisabled() is false and only a
        ComputedFolder supports makeDisabled (folder@b72f4d5 AbstractFolder.java:1017-1038,
        computed/ComputedFolder.java:361-379), whatever a <disabled> element in its config says."""
        if self.is_folder and not self.type.computed:
            return False
        return (child_text(self.root(), "disabled") or "").strip() == "true"

    @property
    def buildable(self) -> bool:
        """ParameterizedJob.isBuildable: enabled and not held off (ParameterizedJobMixIn.java:559-561);
        ComputedFolder.isBuildable: enabled with no disabled folder above (ComputedFolder.java:576-590)."""
        if self.is_folder:
            parents_enabled = True
            group = self.parent
            while isinstance(group, Item):
                parents_enabled = parents_enabled and not group.disabled
                group = group.parent
            return self.type.computed and not self.disabled and parents_enabled
        return not self.disabled and not self.hold_off_build

    def set_disabled(self, value: bool) -> bool:
        """makeDisabled: nothing when the state does not change or the item cannot be disabled,
        else set and save() (ParameterizedJobMixIn.java:517-530; AbstractFolder.java:1046-1058).
        True when it changed."""
        if self.disabled == value or (self.is_folder and not self.type.computed):
            return False
        root = self.root()
        set_child_text(root, "disabled", "true" if value else "false", after="keepDependencies")
        self.save(root)
        return True

    def get_view(self, name: str) -> View | None:
        view = self.views.get(name)
        if view is None and self.type.computed and name == "Welcome":
            # MultiBranchProject/OrganizationFolder.getView("Welcome") (MultiBranchProject.java:1015-1021)
            view = self.views.get(WELCOME) or self.unlisted_views.get(WELCOME)
        return view

    @property
    def parameterized(self) -> bool:
        return self.root().find(".//hudson.model.ParametersDefinitionProperty") is not None

    def quiet_period(self) -> float | None:
        text = child_text(self.root(), "quietPeriod")
        try:
            return float(text) if text else None
        except ValueError:
            return None


@dataclass
class QueueItem:
    id: int
    item: Item
    params: str
    since: float  # seconds
    ready_at: float
    build: Build | None = None
    left_at: float | None = None
    causes: list[dict[str, Any]] = field(default_factory=list)  # folded in by later schedules
    parameters: dict[str, str] = field(default_factory=dict)


def fold_causes(causes: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """``CauseAction.foldIntoExisting``: the waiting item's causes gain the new ones. The action
    keeps a bag (cause → count) and lists each cause as often as it was added, equal causes
    together (core CauseAction.java:62-66, 96-102, 169-177)."""
    for cause in new:
        last_equal = max((i for i, c in enumerate(causes) if c == cause), default=None)
        if last_equal is None:
            causes.append(dict(cause))
        else:
            causes.insert(last_equal + 1, dict(cause))


def parse_params(params: str) -> dict[str, str]:
    """The ``k=v`` lines of a queue item's ``params`` text."""
    out: dict[str, str] = {}
    for line in params.splitlines():
        if line:
            key, _, value = line.partition("=")
            out[key] = value
    return out


@dataclass
class State:
    """Everything the emulator stores. Callers hold ``lock`` (in the server) while using it."""

    plugins: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_PLUGINS))
    root: Group = field(default_factory=lambda: Group("all"))
    queue: dict[int, QueueItem] = field(default_factory=dict)
    next_queue_id: int = 1
    build_result: str = "SUCCESS"
    # A job runner is attached: queued builds wait for it instead of "running" as records.
    runner_attached: bool = False
    # Credential stores (emulator_credentials): the system store here (not persisted); a
    # folder's store lives in its config.xml. Credentials seeded for a folder that does not
    # exist yet wait here, by lower-cased full name, and join its store when it is created.
    system_credentials: list[StoredCredential] = field(default_factory=list)
    pending_folder_credentials: dict[str, list[StoredCredential]] = field(default_factory=dict)
    # Queue items cancelled by disabling their job, by id: Queue$LeftItem with cancelled true
    # (kept out of ``queue``, whose items without a build are the waiting ones)
    cancelled: dict[int, QueueItem] = field(default_factory=dict)

    # --- lookup ------------------------------------------------------------------------------

    def installed(self, plugin: str | None) -> bool:
        return plugin is None or any(p.get("shortName") == plugin for p in self.plugins)

    def item_type(self, root: ET.Element) -> ItemType:
        itype = ITEM_TYPES.get(root.tag)
        if itype is None or not self.installed(itype.plugin):
            raise ServerError(f"Unable to read config.xml: unknown element {root.tag}")
        return itype

    def view_type(self, root: ET.Element) -> ViewType:
        vtype = VIEW_TYPES.get(root.tag)
        if vtype is None or not vtype.creatable or not self.installed(vtype.plugin):
            raise ServerError(f"Unable to read: unknown view element {root.tag}")
        return vtype

    def find(self, full_name: str) -> Item | None:
        group: Group = self.root
        item: Item | None = None
        for part in full_name.strip("/").split("/"):
            if not isinstance(group, Group) or (item is not None and not item.is_folder):
                return None
            item = group.get_item(part)
            if item is None:
                return None
            group = item
        return item

    def all_items(self, group: Group | None = None) -> list[Item]:
        out: list[Item] = []
        for item in (group or self.root).sorted_items():
            out.append(item)
            if item.is_folder:
                out.extend(self.all_items(item))
        return out

    # --- mutation ----------------------------------------------------------------------------

    @staticmethod
    def _stored_form(body: bytes, error: str) -> tuple[str, str, ET.Element]:
        """(declaration, config, root) of the file ``XMLUtils.safeTransform`` writes for a posted
        document (emulator_xmlfile); ServerError(error) when it is malformed."""
        try:
            declaration, config = split_declaration(identity_transform(body))
            root = ET.fromstring(config)
        except (ValueError, ET.ParseError) as exc:
            raise ServerError(error) from exc
        return declaration, config, root

    def create_item(self, parent: Group, name: str, body: bytes) -> Item:
        """Checks 6-7 of §2.2 (name already checked): malformed/unknown → ServerError. The posted
        document is stored as ItemGroupMixIn.createProjectFromXML writes it (ItemGroupMixIn.java:294)."""
        declaration, config, root = self._stored_form(body, "Failed to persist config.xml")
        itype = self.item_type(root)
        return self._add(parent, name, itype, config, root, declaration)

    def create_item_of_class(self, parent: Group, name: str, cls: str) -> Item:
        """createProject: a new instance, saved (ItemGroupMixIn.java:337-360), so XStream's form."""
        itype = ITEM_TYPES_BY_CLASS.get(cls)
        if itype is None or not self.installed(itype.plugin) or not itype.default_config:
            raise Failure(f"No item type ‘{cls}’ is known")
        root = ET.fromstring(itype.default_config)
        return self._add(parent, name, itype, serialise(root), root, XMLFILE_DECLARATION)

    def copy_item(self, parent: Group, name: str, source: Item) -> Item:
        """ItemGroupMixIn.copy (core ItemGroupMixIn.java:236-279): the source's config.xml copied
        byte for byte, reloaded, then Job.onCopiedFrom: build number 1 and no build until the next
        save (Job.java:249-256). Builds, children and views of the source's own are not copied."""
        item = self._add(parent, name, source.type, source.config, source.root(), source.declaration)
        item.hold_off_build = not source.is_folder
        return item

    def _add(self, parent: Group, name: str, itype: ItemType, config: str,
             root: ET.Element, declaration: str = XMLFILE_DECLARATION) -> Item:
        item = Item(name, itype, config, parent, declaration)
        if itype.computed:
            self.computed_views(item)
        elif itype.folder:
            self._load_folder_views(item, root)
        parent.items[name.lower()] = item
        if itype.folder:
            self._receive_pending_credentials(item)
        return item

    @staticmethod
    def computed_views(item: Item) -> None:
        """The views branch-api computes for a computed folder that was never indexed: a
        multibranch project shows only its "welcome" MultiBranchProjectEmptyView, also its primary
        view (bapi@e73a56d MultiBranchProjectViewHolder.java:91-119, MultiBranchProject.java:1008-1010);
        an organization folder lists the view of the uncategorised category, named "default"
        (OrganizationFolderViewHolder.java:89-127; scm-api@24df4bb SCMCategory.java:132-136), while its
        primary view is the "welcome" OrganizationFolderEmptyView (OrganizationFolder.java:643-657)."""
        if item.type.cls == MULTIBRANCH_CLASS:
            welcome = VIEW_TYPES["jenkins.branch.MultiBranchProjectEmptyView"]
            item.views = {WELCOME: View(WELCOME, welcome, default_view_config(welcome, WELCOME))}
            item.unlisted_views = {}
        else:
            listed = VIEW_TYPES["jenkins.branch.OrganizationFolderViewHolder_-ViewImpl"]
            welcome = VIEW_TYPES["jenkins.branch.OrganizationFolderEmptyView"]
            item.views = {"default": View("default", listed, default_view_config(listed, "default"))}
            item.unlisted_views = {WELCOME: View(WELCOME, welcome, default_view_config(welcome, WELCOME))}
        item.primary_view = WELCOME

    def _load_folder_views(self, folder: Item, root: ET.Element) -> None:
        views = root.find("folderViews/views")
        loaded = {}
        for el in list(views) if views is not None else []:
            vtype = VIEW_TYPES.get(el.tag)
            name = child_text(el, "name")
            if vtype is not None and name:
                owner = el.find("owner")
                if owner is not None:
                    el.remove(owner)  # a back-reference to the folder, not view config
                loaded[name] = View(name, vtype, serialise(el))
        if loaded:
            folder.views = loaded
            primary = child_text(root, "folderViews/primaryView") or ""
            folder.primary_view = primary if primary in loaded else sorted(loaded)[0]

    def update_item(self, item: Item, body: bytes) -> None:
        """AbstractItem.updateByXml (core AbstractItem.java:912-952): the transformed document
        replaces the file only if it loads as the same class; nothing calls save()."""
        declaration, config, root = self._stored_form(body, "Failed to persist config.xml")
        itype = ITEM_TYPES.get(root.tag)
        if itype is None or itype.cls != item.type.cls:
            got = itype.cls if itype else root.tag
            raise ServerError(f"Expecting class {item.type.cls} but got class {got} instead")
        item.config, item.declaration = config, declaration

    def delete_item(self, item: Item) -> None:
        for child in list(item.items.values()):
            self.delete_item(child)  # children first, like AbstractItem.delete
        item.parent.items.pop(item.name.lower(), None)
        for qid, q in list(self.queue.items()):
            if q.item is item:
                del self.queue[qid]
        self._list_views_forget(item.full_name)

    def rename_item(self, item: Item, new: str) -> None:
        """AbstractItem.renameTo: the item keeps its config, builds and children (their full
        names follow their parent's); only its key in the parent changes."""
        old_full_name = item.full_name
        item.parent.items.pop(item.name.lower(), None)
        item.name = new
        item.parent.items[new.lower()] = item
        self._list_views_follow(old_full_name, item.full_name)

    def move_item(self, item: Item, destination: Group) -> None:
        """Items.move (core Items.java:564-585): out of its parent into `destination` under the same
        name, config and builds unchanged; ItemListener.fireLocationChange updates the ListViews."""
        old_full_name = item.full_name
        item.parent.items.pop(item.name.lower(), None)
        item.parent = destination
        destination.items[item.name.lower()] = item
        self._list_views_follow(old_full_name, item.full_name)

    def cancel_queued(self, item: Item) -> None:
        """Queue.cancel(task) when a job is disabled (ParameterizedJobMixIn.java:525-527): its waiting
        item leaves the queue as a cancelled LeftItem (Queue.java:2900-2945), kept like left items."""
        for qid, q in list(self.queue.items()):
            if q.item is item and q.build is None:
                del self.queue[qid]
                q.left_at = time.time()
                self.cancelled[qid] = q

    # --- ListView job names (core ListView.java:284-318, 394-436, 560-650) -----------------------

    def _groups(self) -> list[Group]:
        return [self.root, *(i for i in self.all_items() if i.is_folder)]

    def _list_views_follow(self, old_full_name: str, new_full_name: str) -> None:
        """ListView.Listener.onLocationChanged: each jobNames entry that names the moved item or
        something in it is rewritten (Items.computeRelativeNamesAfterRenaming, Items.java:297-316)."""
        for group in self._groups():
            for view in group.views.values():
                if view.type.root != LIST_VIEW:
                    continue
                names = list_view_names(view)
                renamed = [",".join(_renamed(n.strip(), old_full_name, new_full_name, group.full_name)
                                    for n in name.split(",") if n.strip())
                           for name in names]
                if renamed != names:
                    set_list_view_names(view, renamed)

    def _list_views_forget(self, full_name: str) -> None:
        """ListView.Listener.onDeleted: the deleted item's name relative to each view's group goes."""
        for group in self._groups():
            for view in group.views.values():
                if view.type.root != LIST_VIEW:
                    continue
                names = list_view_names(view)
                gone = relative_name(full_name, group.full_name).lower()
                kept = [n for n in names if n.lower() != gone]
                if kept != names:
                    set_list_view_names(view, kept)

    def create_view(self, owner: Group, name: str, body: bytes) -> View:
        try:
            root = parse_xml(body)
        except ValueError as exc:
            raise ServerError("Unable to read") from exc
        vtype = self.view_type(root)
        set_child_text(root, "name", name)  # the query name wins over <name>
        view = View(name, vtype, serialise(root))
        self.add_view(owner, view)
        return view

    @staticmethod
    def add_view(owner: Group, view: View) -> None:
        """ViewGroup.addView; a computed folder's view holder is not modifiable, so its addView
        does nothing (folder@b72f4d5 AbstractFolder.java:287-291)."""
        if isinstance(owner, Item) and owner.type.computed:
            return
        owner.views[view.name] = view

    def update_view(self, view: View, body: bytes) -> None:
        try:
            root = parse_xml(body)
        except ValueError as exc:
            raise ServerError("Failed to persist configuration.xml") from exc
        if root.tag != view.type.root:
            raise ServerError(f"Expecting view type: {view.type.cls} but got: {root.tag} instead")
        set_child_text(root, "name", view.name)  # posted <name> is ignored
        view.config = serialise(root)

    def delete_view(self, owner: Group, view: View) -> None:
        if len(owner.views) <= 1:
            raise ServerError("Cannot delete last view")
        del owner.views[view.name]
        if owner.primary_view == view.name:
            owner.primary_view = sorted(owner.views)[0]

    # --- credential stores (IDs, scopes, types; never secrets) --------------------------------

    def add_credential(self, folder: str | None, credential: StoredCredential) -> None:
        """Put `credential` in the system store (`folder` None) or in the store of the folder
        with that full name; replaces one with the same ID in that store. A folder that does not
        exist yet gets it when it is created."""
        if folder is None:
            self.system_credentials = [c for c in self.system_credentials if c.id != credential.id]
            self.system_credentials.append(credential)
            return
        item = self.find(folder)
        if item is None:
            pending = self.pending_folder_credentials.setdefault(folder.strip("/").lower(), [])
            pending[:] = [c for c in pending if c.id != credential.id] + [credential]
            return
        if not item.is_folder:
            raise ValueError(f"{folder} is not a folder: only folders have a credential store")
        root = item.root()
        add_to_folder_config(root, credential)
        item.save(root)

    def credentials_of(self, folder: Item | None) -> list[StoredCredential]:
        """The credentials in the system store (None) or in a folder's store."""
        if folder is None:
            return list(self.system_credentials)
        return folder_credentials(folder.root())

    def _receive_pending_credentials(self, folder: Item) -> None:
        for credential in self.pending_folder_credentials.pop(folder.full_name.lower(), []):
            self.add_credential(folder.full_name, credential)

    # --- queue -------------------------------------------------------------------------------

    def schedule(self, item: Item, params: str, quiet_period: float,
                 causes: list[dict[str, Any]] | None = None,
                 parameters: dict[str, str] | None = None) -> QueueItem:
        """Queue ``item``, or fold ``causes`` into its waiting item when that has the same
        parameters (core Queue.java:612-652). `parameters` are the values (by name) when
        ``params``, the text ``Queue.Item.getParams`` shows, does not hold them (a password)."""
        self.advance_queue()
        parameters = parse_params(params) if parameters is None else dict(parameters)
        for q in self.queue.values():
            if q.item is item and q.build is None and q.parameters == parameters:
                fold_causes(q.causes, causes or [])
                return q  # Queue.schedule2 merges with the waiting item
        now = time.time()
        q = QueueItem(self.next_queue_id, item, params, now, now + quiet_period,
                      causes=[dict(c) for c in causes or []], parameters=parameters)
        self.next_queue_id += 1
        self.queue[q.id] = q
        return q

    def advance_queue(self, now: float | None = None) -> bool:
        """Start due items (a build record, no execution); expire old left items. With a job
        runner attached, waiting items stay queued until the runner takes them."""
        now = time.time() if now is None else now
        changed = False
        for qid, q in list(self.queue.items()):
            if q.build is None and now >= q.ready_at and not self.runner_attached:
                build = Build(q.item.next_build_number, q.id, int(q.ready_at * 1000),
                              self.build_result)
                q.item.next_build_number += 1
                q.item.builds.insert(0, build)
                q.build, q.left_at = build, now
                changed = True
            elif q.left_at is not None and now - q.left_at > QUEUE_LEFT_TTL:
                del self.queue[qid]
        for qid, q in list(self.cancelled.items()):
            if q.left_at is not None and now - q.left_at > QUEUE_LEFT_TTL:
                del self.cancelled[qid]
        return changed

    # --- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        def group(g: Group) -> dict[str, Any]:
            return {
                "primaryView": g.primary_view,
                "views": [{"name": v.name, "root": v.type.root, "config": v.config}
                          for v in g.sorted_views()],
                "items": [
                    {"name": i.name, "root": i.type.root, "config": i.config,
                     "declaration": i.declaration, "nextBuildNumber": i.next_build_number,
                     "builds": [vars(b) for b in i.builds], **group(i)}
                    for i in g.sorted_items()
                ],
            }

        return {"version": 1, "nextQueueId": self.next_queue_id, "root": group(self.root)}

    def load_json(self, data: dict[str, Any]) -> None:
        def fill(g: Group, d: dict[str, Any]) -> None:
            g.views = {v["name"]: View(v["name"], VIEW_TYPES[v["root"]], v["config"])
                       for v in d["views"]}
            g.primary_view = d["primaryView"]
            g.items = {}
            for i in d["items"]:
                item = Item(i["name"], ITEM_TYPES[i["root"]], i["config"], g,
                            i.get("declaration", XMLFILE_DECLARATION))
                item.next_build_number = i["nextBuildNumber"]
                item.builds = [Build(**b) for b in i["builds"]]
                fill(item, i)
                if item.type.computed:
                    self.computed_views(item)
                g.items[item.name.lower()] = item

        self.root = Group("all")
        fill(self.root, data["root"])
        self.next_queue_id = data.get("nextQueueId", 1)

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, state_dir / "state.json")  # atomic: a crash never leaves half a file

    def load(self, state_dir: Path) -> bool:
        path = state_dir / "state.json"
        if not path.is_file():
            return False
        self.load_json(json.loads(path.read_text(encoding="utf-8")))
        return True
