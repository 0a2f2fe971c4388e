"""Build the pipeline graph from the rendered XML of every scope.

The XML, not the org file or our templates, is what Jenkins will run, so the graph covers team
YAML written by hand too. Job names in the XML are resolved as each consumer resolves them
(``jenkins_names``; sources at the commits of shared/reference/jenkins-plugin-semantics.md §0):

- ReverseBuildTrigger ``upstreamProjects``: ``Items.fromNameList(downstream.getParent(), …)``
  (core ReverseBuildTrigger.java:173, 257);
- hudson.tasks.BuildTrigger ``childProjects``: ``Items.fromNameList(owner.getParent(), …)``
  (core BuildTrigger.java:158-166);
- parameterized-trigger ``projects``: ``Jenkins.getItem(name, rootProject.getParent())``
  (parameterized-trigger BuildTriggerConfig.java:283-304, BuildTrigger.java:83, TriggerBuilder.java:97);
- CopyArtifact ``project``: ``Jenkins.getItem(name, rootProject.getParent(), Job.class)``
  (copyartifact CopyArtifact.java:455-456, 665-668);

all of them ``Jenkins.getItem``: relative to the job's folder first, then as a full name
(Jenkins.java:3050-3092). Views belong to the root (push writes them there):
DeliveryPipelineView ``firstJob``/``lastJob`` are ``Jenkins.getItem(name, owner,
AbstractProject.class)`` (delivery-pipeline ProjectUtil.java:126-128, DeliveryPipelineView.java:535-536);
ListView ``jobNames`` are the owner's children or, with ``recurse``, names relative to it
(core ListView.java:218-258).

Pipeline jobs (WorkflowJob) are jobs like the others: their triggers sit in
PipelineTriggersJobProperty, their SCM in the CpsScmFlowDefinition, and a ReverseBuildTrigger naming
one fires through ReverseBuildTrigger's RunListener (core ReverseBuildTrigger.java:260-302), so
the edges are real. A multibranch Pipeline project (WorkflowMultiBranchProject) is an item group
that never builds: its branch jobs appear only when it indexes its branch sources, each from the
repository's Jenkinsfile. It is drawn as a MULTIBRANCH node started by that indexing (webhooks,
and its PeriodicFolderTrigger as a timer), with an SCM edge from each source's repository
(``policy.sources.repository_url``). Names that go into it (``svc-branches/main``) name a branch
job no render can see; names of it name no job: the checks say so.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Sequence

from .. import jenkins_items, naming
from ..errors import EnvDeliveryError
from ..jenkins_names import ItemIndex, Lookup, parent_of, split_names
from ..model.organisation import Namespace, NamespaceKind, Organisation, Project
from ..policy.sources import branch_sources, repository_url
from .model import (
    ARTIFACT,
    CI,
    DELIVER,
    ENV_BUILD,
    ENV_CUSTOM,
    ENV_GC,
    ENV_VERIFY,
    FOLDER,
    GENERATES,
    MULTIBRANCH,
    OTHER,
    PACKAGE,
    REPO,
    SCM,
    START_OTHER,
    START_PARAMETERS,
    START_SCM,
    START_TIMER,
    TRIGGER,
    UPDATER,
    VIEW,
    Edge,
    Graph,
    Node,
    Reference,
)

REVERSE_TRIGGER = "jenkins.triggers.ReverseBuildTrigger"
BUILD_TRIGGER = "hudson.tasks.BuildTrigger"
PARAM_TRIGGER = "hudson.plugins.parameterizedtrigger.BuildTrigger"
PARAM_TRIGGER_BUILDER = "hudson.plugins.parameterizedtrigger.TriggerBuilder"
COPY_ARTIFACT = "hudson.plugins.copyartifact.CopyArtifact"
COPY_PERMISSION = "hudson.plugins.copyartifact.CopyArtifactPermissionProperty"
PIPELINE_VIEW = "se.diabol.jenkins.pipeline.DeliveryPipelineView"
LIST_VIEW = "hudson.model.ListView"
# Job types that are no AbstractProject: DeliveryPipelineView's type filter drops them.
NOT_ABSTRACT_PROJECTS = frozenset({"flow-definition"})

FIELD_REVERSE = f"upstreamProjects ({REVERSE_TRIGGER})"
FIELD_BUILD_TRIGGER = f"childProjects ({BUILD_TRIGGER})"
FIELD_PARAM_TRIGGER = f"projects ({PARAM_TRIGGER})"
FIELD_PARAM_TRIGGER_BUILDER = f"projects ({PARAM_TRIGGER_BUILDER})"
FIELD_COPY = f"project ({COPY_ARTIFACT})"
FIELD_COPY_GRANTS = f"projectNameList ({COPY_PERMISSION})"
FIELD_LIST_VIEW = f"jobNames ({LIST_VIEW})"

# What each view does with a name that finds nothing.
FIRST_JOB_BROKEN = ("the delivery-pipeline plugin then shows no pipeline at all in this view, only "
                    "'Could not find project: {name}' (DeliveryPipelineView.java:535-542, 570-572)")
LAST_JOB_BROKEN = "the pipeline then runs on to its end (an unresolved lastJob is null, DeliveryPipelineView.java:536)"
LIST_VIEW_BROKEN = "the view leaves it out (ListView.java:218-258)"
LIST_VIEW_FLAT = ("the view leaves it out: without recurse it looks up only its own group's items by name "
                  "(ListView.java:241-251); set recurse")

# Triggers that start a build on a change in a repository.
SCM_TRIGGERS = frozenset({
    "hudson.triggers.SCMTrigger",
    "com.cloudbees.jenkins.GitHubPushTrigger",
    "com.dabsquared.gitlabjenkins.GitLabPushTrigger",
    "com.sonyericsson.hudson.plugins.gerrit.trigger.hudsontrigger.GerritTrigger",
    "com.cloudbees.jenkins.plugins.BitBucketTrigger",
})
TIMER_TRIGGERS = frozenset({
    "hudson.triggers.TimerTrigger",
    "org.jenkinsci.plugins.parameterizedscheduler.ParameterizedTimerTrigger",
})
# Multibranch Pipeline projects: item groups that index branch sources into branch jobs.
MULTIBRANCH_PROJECTS = jenkins_items.MULTIBRANCH_PROJECTS
# ComputedFolder's timer: it runs branch indexing (cloudbees-folder computed/PeriodicFolderTrigger).
PERIODIC_FOLDER_TRIGGER = "com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger"
FIELD_BRANCH_SOURCE = "source (jenkins.branch.BranchSource)"
# Items that hold other items: names resolve through them.
ITEM_GROUPS = frozenset({jenkins_items.FOLDER, *jenkins_items.COMPUTED_GROUPS})


@dataclass
class JobFacts:
    """What one config.xml says about how the job starts and what it names."""

    name: str
    is_group: bool
    root_tag: str = "project"
    disabled: bool = False
    starts: set[str] = field(default_factory=set)
    scm_urls: list[str] = field(default_factory=list)
    # (kind, field, name as written, names an upstream?)
    refs: list[tuple[str, str, str, bool]] = field(default_factory=list)
    # CopyArtifactPermissionProperty.projectNameList, each entry as written (XStream reads the
    # list as is: no trimming, CopyArtifactPermissionProperty.java:62); None: no property
    copy_grants: tuple[str, ...] | None = None
    multibranch: bool = False  # a multibranch Pipeline project (an item group, see the module)

    @property
    def declares_upstream(self) -> bool:
        return any(upstream for _, _, _, upstream in self.refs)


def _is(element: ET.Element, cls: str) -> bool:
    # A describable is written either as its own tag or as <tag class="...">.
    return element.tag == cls or element.get("class") == cls


def read_job(name: str, xml: bytes | str) -> JobFacts:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise EnvDeliveryError(f"{name}: config.xml does not parse: {exc}") from None
    facts = JobFacts(name, is_group=root.tag in ITEM_GROUPS, root_tag=root.tag,
                     disabled=root.findtext("disabled") == "true")
    if root.tag in MULTIBRANCH_PROJECTS:
        return _read_multibranch(facts, root)
    if facts.is_group:
        return facts
    grants = root.find(f"properties/{COPY_PERMISSION}")
    if grants is not None:  # the first one is the one Job.getProperty returns
        facts.copy_grants = tuple(entry.text or "" for entry in grants.findall("projectNameList/string"))
    trigger_lists = root.findall("triggers") + root.findall(
        ".//org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty/triggers")
    for triggers in trigger_lists:
        for trigger in triggers:
            if trigger.tag == REVERSE_TRIGGER:
                for upstream in split_names(trigger.findtext("upstreamProjects")):
                    facts.refs.append((TRIGGER, FIELD_REVERSE, upstream, True))
            elif trigger.tag in SCM_TRIGGERS:
                facts.starts.add(START_SCM)
            elif trigger.tag in TIMER_TRIGGERS:
                facts.starts.add(START_TIMER)
            else:
                facts.starts.add(START_OTHER)
    if len(root.findall(".//hudson.model.ParametersDefinitionProperty/parameterDefinitions/*")):
        facts.starts.add(START_PARAMETERS)
    for scm in root.findall("scm") + root.findall("definition/scm"):
        for url in scm.iterfind(".//hudson.plugins.git.UserRemoteConfig/url"):
            facts.scm_urls.append((url.text or "").strip())
        for url in scm.iterfind(".//hudson.scm.SubversionSCM_-ModuleLocation/remote"):
            facts.scm_urls.append((url.text or "").strip())
        if scm.get("class") == "hudson.plugins.mercurial.MercurialSCM":
            facts.scm_urls.append((scm.findtext("source") or "").strip())
    facts.scm_urls = [u for u in dict.fromkeys(facts.scm_urls) if u]
    # Build steps and publishers may sit inside conditional steps or flexible publishers: look everywhere.
    for element in root.iter():
        if _is(element, COPY_ARTIFACT):
            project = (element.findtext("project") or element.findtext("projectName") or "").strip()
            if project:
                facts.refs.append((ARTIFACT, FIELD_COPY, project, True))
        elif _is(element, BUILD_TRIGGER):
            for child in split_names(element.findtext("childProjects")):
                facts.refs.append((TRIGGER, FIELD_BUILD_TRIGGER, child, False))
        elif _is(element, PARAM_TRIGGER) or _is(element, PARAM_TRIGGER_BUILDER):
            label = FIELD_PARAM_TRIGGER if _is(element, PARAM_TRIGGER) else FIELD_PARAM_TRIGGER_BUILDER
            for projects in element.findall("configs/*/projects"):
                for child in split_names(projects.text):
                    facts.refs.append((TRIGGER, label, child, False))
    return facts


def _read_multibranch(facts: JobFacts, root: ET.Element) -> JobFacts:
    """A multibranch project starts its branch jobs by indexing its sources: on their webhooks
    (SCM events) and on its PeriodicFolderTrigger (ComputedFolder ``triggers``,
    jenkins-plugin-semantics.md §11.1). Its repositories are its branch sources'."""
    facts.multibranch = True
    facts.starts.add(START_SCM)
    for trigger in root.findall("triggers/*"):
        facts.starts.add(START_TIMER if trigger.tag == PERIODIC_FOLDER_TRIGGER else START_OTHER)
    sources = root.find("sources")  # MultiBranchProject.sources; any other BranchSource is not one
    urls = (repository_url(source) for source in (branch_sources(sources) if sources is not None else ()))
    facts.scm_urls = [u for u in dict.fromkeys(urls) if u]
    return facts


@dataclass
class ViewFacts:
    """The job names a view's config.xml holds: (field, name as written, what happens without it,
    whether the view still works then)."""

    name: str
    refs: list[tuple[str, str, str, bool]] = field(default_factory=list)
    list_view: bool = False
    recurse: bool = False


def read_view(name: str, xml: bytes | str) -> ViewFacts:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise EnvDeliveryError(f"view {name}: config.xml does not parse: {exc}") from None
    facts = ViewFacts(name)
    if root.tag == PIPELINE_VIEW:
        for spec in root.findall("componentSpecs/*"):
            component = spec.findtext("name") or ""
            first, last = (spec.findtext("firstJob") or "").strip(), (spec.findtext("lastJob") or "").strip()
            where = f"of component {component!r} ({PIPELINE_VIEW})"
            # A warning, though the plugin shows only an error for the whole view: the root scope
            # generates the view from the org file, the job comes from team YAML, and a team
            # leaving out a release line must not stop the root updater.
            facts.refs.append((f"firstJob {where}", first, FIRST_JOB_BROKEN, True))
            if last:  # blank: to the end of the pipeline
                facts.refs.append((f"lastJob {where}", last, LAST_JOB_BROKEN, True))
    elif root.tag == LIST_VIEW:
        facts.list_view, facts.recurse = True, root.findtext("recurse") == "true"
        for entry in root.findall("jobNames/string"):
            written = entry.text or ""
            broken = LIST_VIEW_BROKEN if facts.recurse or "/" not in written else LIST_VIEW_FLAT
            facts.refs.append((FIELD_LIST_VIEW, written, broken, True))
    return facts


class _Namer:
    """Kind, project, release line, service and variant of a job, from its name and scope."""

    def __init__(self, org: Organisation):
        self.org = org
        lines = "|".join(re.escape(r.name) for r in sorted(org.release_lines, key=lambda r: -len(r.name)))
        root = re.escape(org.root_folder)
        self.env = re.compile(rf"^{root}/env-(?P<variant>.+)-(?P<line>{lines})-(?P<stage>build|verify|gc)$", re.I)
        self.custom = re.compile(rf"^{root}/env-custom-(?P<line>{lines})$", re.I)
        self.service = re.compile(rf"^(?P<service>.+)-(?P<line>{lines})-(?P<stage>ci|package|deliver)$", re.I)
        self.line = re.compile(rf"(?:^|[-_./])(?P<line>{lines})(?:$|[-_./])", re.I)
        # The drift check runs with the updaters' credential, on their agents: it is one of them.
        self.updaters = {naming.root_updater_name(org).lower(): None, naming.drift_check_name(org).lower(): None}
        self.updaters.update({naming.child_updater_name(org, p).lower(): p.name for p in org.projects})
        self.folders = {p.namespace.value.lower(): p.name for p in org.projects
                        if p.namespace.kind == NamespaceKind.FOLDER}
        self.stages = {"build": ENV_BUILD, "verify": ENV_VERIFY, "gc": ENV_GC,
                       "ci": CI, "package": PACKAGE, "deliver": DELIVER}

    def node(self, facts: JobFacts, scope_name: str, is_root: bool) -> Node:
        name = facts.name
        node = Node(name, OTHER, scope=scope_name, disabled=facts.disabled, starts=frozenset(facts.starts),
                    declares_upstream=facts.declares_upstream, copy_grants=facts.copy_grants)
        if is_root:
            node.label = name.split("/")[-1]
        else:
            project = self.org.project(scope_name)
            node.project = project.name
            node.label = name[len(project.namespace.job_prefix):] if project.namespace.contains(name) else name
        if facts.multibranch:
            node.kind = MULTIBRANCH
            if match := re.match(r"^(?P<service>.+)-branches$", node.label, re.I):
                node.service = match["service"]
            return node
        if facts.is_group:
            node.kind = FOLDER
            node.project = node.project or self.folders.get(name.lower())
            return node
        if is_root and name.lower() in self.updaters:
            node.kind, node.project = UPDATER, self.updaters[name.lower()]
            return node
        if is_root and (match := self.env.match(name)):
            node.kind = self.stages[match["stage"].lower()]
            node.variant, node.release = match["variant"], self._line(match["line"])
            node.label = node.variant
            return node
        if is_root and (match := self.custom.match(name)):
            node.kind, node.release, node.label = ENV_CUSTOM, self._line(match["line"]), "custom"
            return node
        if not is_root and (match := self.service.match(node.label)):
            node.kind = self.stages[match["stage"].lower()]
            node.service, node.release = match["service"], self._line(match["line"])
            node.label = node.service
            return node
        if match := self.line.search(node.label):
            node.release = self._line(match["line"])
        return node

    def _line(self, written: str) -> str:
        return next(r.name for r in self.org.release_lines if r.name.lower() == written.lower())


@dataclass(frozen=True)
class _Outside:
    """Stands for everything outside one namespace as not rendered (a child updater's check)."""

    inside: Namespace

    def contains(self, name: str) -> bool:
        return not self.inside.contains(name)


def build_graph(scopes: Sequence, org: Organisation, only: Namespace | None = None) -> Graph:
    """The graph of `scopes` (``render.ScopeResult``s). Projects of `org` that have no scope
    here were not rendered: names into their namespaces are recorded, not checked. With `only`
    (a child updater, which renders its own scope alone), names outside that namespace are
    recorded, not checked, too: the job policy has already held them to the org's grants."""
    graph = Graph(name=org.name, projects=tuple(p.name for p in org.projects),
                  release_lines=tuple(r.name for r in org.release_lines))
    namer = _Namer(org)
    facts_of: dict[str, JobFacts] = {}
    views: list[ViewFacts] = []
    scope_items: dict[str, list[str]] = defaultdict(list)
    rendered = set()
    for result in scopes:
        scope = result.scope
        rendered.add(scope.name)
        views.extend(read_view(item.name, item.output()) for item in result.rendered.views)
        for item in result.rendered.jobs:
            seen = graph.generated.setdefault(item.name.lower(), [])
            seen.append((item.name, scope.name))
            if len(seen) > 1:
                continue  # a duplicate: the check reports it; the first one stands
            facts = read_job(item.name, item.output())
            facts_of[item.name] = facts
            graph.nodes[item.name] = namer.node(facts, scope.name, scope.is_root)
            scope_items[scope.name].append(item.name)
    unrendered = [p for p in org.projects if p.name not in rendered]
    if only is not None:
        unrendered.append(SimpleNamespace(name="(outside)", namespace=_Outside(only)))
    graph.unrendered_prefixes = tuple(p.namespace.job_prefix for p in unrendered if isinstance(p, Project))
    for project in (p for p in unrendered if isinstance(p, Project)):
        graph.notes.append(f"project {project.name}: its YAML was not rendered here (no local-checkout), "
                           f"so names in {project.namespace} are not checked")
    stages = {"package"}
    if org.environments is not None:
        graph.build_stage = org.environments.builds_after
        stages.add(graph.build_stage)
    for project in org.projects:
        for service in project.services:
            for line in org.release_lines:
                for stage in stages:
                    upstream = naming.service_job_name(project.namespace, service, line.name, stage)
                    graph.package_jobs[upstream.lower()] = (service, line.name)

    index = ItemIndex((name, facts.is_group) for name, facts in facts_of.items())
    edges: dict[tuple[str, str, str], Edge] = {}

    def add(edge: Edge) -> None:
        edges.setdefault((edge.source, edge.target, edge.kind), edge)

    repo_projects: dict[str, set] = defaultdict(set)
    multibranches = {name.lower(): name for name, facts in facts_of.items() if facts.multibranch}
    for name, facts in facts_of.items():
        if START_SCM in facts.starts and not facts.multibranch:  # multibranch projects: below
            for url in facts.scm_urls:
                repo = f"repo:{url}"
                graph.nodes.setdefault(repo, Node(repo, REPO, label=url))
                repo_projects[repo].add(graph.nodes[name].project)
                add(Edge(repo, name, SCM, "scm url", name))
        for kind, where, written, upstream in facts.refs:
            ref = Reference(name, kind, where, written, upstream)
            graph.references.append(ref)
            if "$" in written:
                ref.dynamic = True
                continue
            ref.context = parent_of(name)
            _settle(ref, index.lookup(written, ref.context), unrendered)
            _into_multibranch(ref, multibranches)
            if ref.resolved:
                source, target = (ref.resolved, name) if upstream else (name, ref.resolved)
                add(Edge(source, target, kind, where, name))
    for view in views:
        for where, written, broken, degrades in view.refs:
            ref = Reference(view.name, VIEW, where, written, upstream=False, broken=broken.format(name=written),
                            degrades=degrades)
            graph.references.append(ref)
            if view.list_view:
                found = index.view_member(written, ref.context, view.recurse)
                below = written if not ref.context else f"{ref.context}/{written}"
                ref.tried = (below,)
                if found:  # a list view shows folders too
                    ref.resolved = found[0]
                elif any(p.namespace.contains(below) for p in unrendered):
                    ref.unverified = True
                _into_multibranch(ref, multibranches)
                continue
            _settle(ref, index.lookup(written, ref.context), unrendered)
            _into_multibranch(ref, multibranches)
            if ref.resolved and facts_of[ref.resolved].root_tag in NOT_ABSTRACT_PROJECTS:
                ref.not_project, ref.resolved = ref.resolved, None
    # A multibranch project's repository URLs are derived from its sources' fields, so they join
    # the repository a job names under another spelling of the same URL (scheme, user, '.git').
    known = {}
    for repo in (n for n in graph.nodes.values() if n.kind == REPO):
        known.setdefault(_repo_key(repo.label), repo.id)
    for name in multibranches.values():
        for url in facts_of[name].scm_urls:
            repo = known.setdefault(_repo_key(url), f"repo:{url}")
            graph.nodes.setdefault(repo, Node(repo, REPO, label=url))
            repo_projects[repo].add(graph.nodes[name].project)
            add(Edge(repo, name, SCM, FIELD_BRANCH_SOURCE, name))
    for repo, projects in repo_projects.items():
        graph.nodes[repo].project = next(iter(projects)) if len(projects) == 1 else None

    root_updater = naming.root_updater_name(org)
    for result in scopes:
        if result.scope.is_root:
            updater = root_updater if root_updater in graph.nodes else None
        else:
            updater = naming.child_updater_name(org, org.project(result.scope.name))
            updater = updater if updater in graph.nodes else None
        for item in scope_items[result.scope.name] if updater else ():
            if item != updater:  # the root updater regenerates itself too; a self-loop says nothing
                add(Edge(updater, item, GENERATES, "", updater))
    graph.edges = list(edges.values())
    return graph


def _repo_key(url: str) -> str:
    """A repository URL compared loosely: host and path, without case, scheme, user, port, a
    trailing '/' or '.git'; scp-like ``git@host:path`` as ``host/path``."""
    text = url.strip().lower()
    if match := re.match(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?!//)(?P<path>.*)$", text):  # scp-like
        text = f"{match['host']}/{match['path']}"
    else:
        text = re.sub(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?", "", text)
        text = re.sub(r"^(?P<host>[^/:]+):\d+(?=/|$)", r"\g<host>", text)
    text = text.rstrip("/")
    return text[:-4] if text.endswith(".git") else text


def _into_multibranch(ref: Reference, multibranches: dict[str, str]) -> None:
    """Record the multibranch project a name that found nothing goes into, if any lookup did."""
    if ref.resolved or ref.folder or ref.unverified or ref.dynamic:
        return
    for tried in ref.tried:
        parts = tried.split("/")
        for end in range(len(parts) - 1, 0, -1):
            found = multibranches.get("/".join(parts[:end]).lower())
            if found:
                ref.multibranch = found
                return


def _settle(ref: Reference, lookup: Lookup, unrendered: Sequence) -> None:
    """Record on `ref` what Jenkins's lookup found: a job, a folder (no job), or nothing."""
    ref.tried, ref.by_fallback = lookup.tried, lookup.by_fallback
    if lookup.item and not lookup.item[1]:
        ref.resolved = lookup.item[0]
    elif lookup.item:
        ref.folder = lookup.item[0]
    elif any(p.namespace.contains(t) for p in unrendered for t in ref.tried):
        ref.unverified = True
