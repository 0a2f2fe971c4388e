"""Judge one team scope's rendered jobs against the org file's grants (``model.policy``).

What is judged is the config.xml that would be pushed, so ``raw:`` XML and macros are judged by
what they contain. Every element's class (tag and ``class=``) must be known and allowed, or
granted by the org file; the fields that name agents, credentials and other jobs must stay
within what the project was given. See the README's "The job policy" for the table.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import jenkins_names
from ..jenkins_items import short_class
from ..model.organisation import Namespace
from ..model.policy import TeamPolicy, UnknownClasses
from .classes import ALIASES, DENIED, DENIED_PROJECT_TYPES, PROJECT_TYPES, Denial, Rule, is_allowed, java_name
from .sources import SOURCE_FIELDS, repository_url


@dataclass(frozen=True)
class Finding:
    """One thing the policy refuses (or, for a notice, lets through and says so)."""

    job: str
    source: str  # "file:line" of the YAML definition ("" if unknown)
    rule: Rule
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.job}: [{self.rule}] {self.message}"


@dataclass
class Judgement:
    refused: list[Finding]
    notices: list[Finding]


# Fields that hold credential IDs, in every class that has them (credentials-binding's
# bindings, git's UserRemoteConfig, a multibranch project's branch sources and their
# checkout-over-SSH traits: credentialsId; ssh-agent: credentialIds/string).
CREDENTIAL_FIELDS = frozenset({"credentialsId", "credentialId", "credentialIds", "credentialsIds"})

# Fields that name other jobs, by the class that holds them, as the plugins read them.
JOB_NAME_FIELDS = {
    "jenkins.triggers.ReverseBuildTrigger": "upstreamProjects",           # ReverseBuildTrigger.java:128-168
    "hudson.tasks.BuildTrigger": "childProjects",                         # BuildTrigger.java:203-209
    "hudson.plugins.parameterizedtrigger.BuildTriggerConfig": "projects",  # BuildTriggerConfig.java:138
    "hudson.plugins.parameterizedtrigger.BlockableBuildTriggerConfig": "projects",
    "hudson.plugins.copyartifact.CopyArtifact": "project",                # CopyArtifact.java:455
}


# Allowed classes with other fields the policy reads (see ``_Judge.judge_class``).
FIELD_CHECKED = frozenset({"org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition",
                           "hudson.plugins.ws_cleanup.PreBuildCleanup", "hudson.plugins.ws_cleanup.WsCleanup",
                           "com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper",
                           "hudson.plugins.git.UserRemoteConfig", *SOURCE_FIELDS})


def judge_item(name: str, source: str, xml: bytes, namespace: Namespace, policy: TeamPolicy,
               project: str, own: frozenset[str] = frozenset()) -> Judgement:
    """The findings for one rendered job, folder or view of a team scope; `own` holds the
    scope's item names, lower-cased (a relative name that finds one of them needs no fallback)."""
    return _Judge(name, source, namespace, policy, project, own).run(ET.fromstring(xml))


class _Judge:
    def __init__(self, job: str, source: str, namespace: Namespace, policy: TeamPolicy, project: str,
                 own: frozenset[str]):
        self.job, self.source, self.policy, self.project, self.own = job, source, policy, project, own
        # Jenkins finds items without case (Jenkins.java:489), so the namespace is matched without it too.
        self.namespace = Namespace(namespace.kind, namespace.value.lower())
        self.upstreams = frozenset(u.lower() for u in policy.allow.upstreams)
        self.exceptions = {e.class_name: e for e in policy.allow.classes}
        self.judgement = Judgement([], [])
        self._noted: set[str] = set()
        self._denied: set[str] = set()

    def refuse(self, rule: Rule, message: str) -> None:
        self.judgement.refused.append(Finding(self.job, self.source, rule, message))

    def run(self, root: ET.Element) -> Judgement:
        self.project_type(root)
        self.agent_label(root)
        for field, rule, what in (("authToken", Rule.AUTH_TOKEN, "lets anyone holding the token start builds "
                                   "without permission (BuildAuthorizationToken.java:114-124)"),
                                  ("customWorkspace", Rule.WORKSPACE, "a custom workspace can be another job's or "
                                   "the controller's home (AbstractBuild.java:448-456)"),
                                  ("childCustomWorkspace", Rule.WORKSPACE, "a custom workspace can be another "
                                   "job's (AbstractBuild.java:448-456)")):
            if root.find(field) is not None:
                self.refuse(rule, f"<{field}>: {what}")
        self.walk(root)
        return self.judgement

    def project_type(self, root: ET.Element) -> None:
        kind = java_name(root.tag)
        if kind in DENIED_PROJECT_TYPES:
            self.denied(kind, DENIED_PROJECT_TYPES[kind])
        elif kind not in PROJECT_TYPES and kind not in DENIED:  # a denied class: ``walk`` refuses the root tag
            self.unknown(kind, f"job kind <{root.tag}>")

    def walk(self, root: ET.Element) -> None:
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in root.iter():
            tag = element.tag
            name = _tag_class(tag)
            if name is not None and not _plainly_allowed(name):
                self.judge_class(name, element)
            value = element.get("class")
            if value and "." in value and not _plainly_allowed(value):
                self.judge_class(value, element)
            if tag in CREDENTIAL_FIELDS:
                self.credentials(element, _holder(parents.get(element)))

    def judge_class(self, name: str, element: ET.Element) -> None:
        if name in DENIED:
            self.denied(name, DENIED[name])
        elif not is_allowed(name):
            self.unknown(name, f"class {name}")
        if name in JOB_NAME_FIELDS:
            self.job_names(name, element.findtext(JOB_NAME_FIELDS[name]))
        if name == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" and element.findtext("sandbox") != "true":
            if not self.excepted(name):
                self.refuse(Rule.CONTROLLER_CODE, "an inline Pipeline script without the Groovy sandbox runs in the "
                            "controller once approved (CpsFlowDefinition.java:87-105); set sandbox: true")
        if name in ("hudson.plugins.ws_cleanup.PreBuildCleanup", "hudson.plugins.ws_cleanup.WsCleanup") \
                and (element.findtext("externalDelete") or "").strip():
            self.refuse(Rule.WORKSPACE, "externalDelete runs a command on the agent (PreBuildCleanup.java:98)")
        if name == "com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper":
            user = element.find("user")  # the old single-credential form (JJB wrappers.py:2048-2049)
            if user is not None:
                self.credentials(user, "SSHAgentBuildWrapper")
        if name == "hudson.plugins.git.UserRemoteConfig":
            self.git_url((element.findtext("url") or "").strip())
        if name in SOURCE_FIELDS:
            self.source_url(name, element)

    def denied(self, name: str, denial: Denial) -> None:
        # Once per class and item: a project's own class recurs in its <owner class=...> references.
        if not self.excepted(name) and name not in self._denied:
            self._denied.add(name)
            self.refuse(denial.rule, f"{name}: {denial.why}")

    def unknown(self, name: str, what: str) -> None:
        if self.excepted(name):
            return
        if self.policy.unknown_classes == UnknownClasses.ALLOW:
            if name not in self._noted:
                self._noted.add(name)
                self.judgement.notices.append(Finding(self.job, self.source, Rule.UNKNOWN_CLASS,
                                                      f"{what} is not known to the policy; let through because the "
                                                      "org file sets policy.unknown-classes: allow"))
            return
        self.refuse(Rule.UNKNOWN_CLASS, f"{what} is not known to the policy, and the org file does not allow "
                    "unknown classes (policy.unknown-classes); ask the platform team for an exception")

    def excepted(self, name: str) -> bool:
        exception = self.exceptions.get(name)
        if exception is None:
            return False
        if name not in self._noted:
            self._noted.add(name)
            rule = DENIED[name].rule if name in DENIED else Rule.UNKNOWN_CLASS
            self.judgement.notices.append(Finding(
                self.job, self.source, rule,
                f"{name} is allowed by an exception the org file grants project {self.project} "
                f"(projects[].allow.classes: {exception.reason})"))
        return True

    # -- fields --------------------------------------------------------------------------------
    def agent_label(self, root: ET.Element) -> None:
        if root.tag != "project":
            return  # folders and views run nothing; a Pipeline's agents are in its script
        label = (root.findtext("assignedNode") or "").strip()
        roams = root.findtext("canRoam") == "true" or not label
        allowed = self.policy.allow.agent_labels
        if roams:
            if allowed:
                self.refuse(Rule.AGENT_LABEL, f"names no agent label, so it could run on any agent; give it "
                            f"node: one of {', '.join(allowed)} (projects[].allow.agent-labels)")
            return
        if label in self.policy.forbidden_labels:
            whose = "the updater's, where its token is bound" if label == self.policy.updater_label \
                else "the controller's own"
            self.refuse(Rule.AGENT_LABEL, f"node {label!r} is {whose}: no team job may run there")
        elif label not in allowed:
            expected = f"one of {', '.join(allowed)}" if allowed else "no label (the org file grants this project none)"
            if not _single_label(label):
                self.refuse(Rule.AGENT_LABEL, f"node {label!r} is a label expression, which can match agents "
                            f"outside the project's; expected {expected}")
            else:
                self.refuse(Rule.AGENT_LABEL, f"node {label!r} is not a label the org file grants the project "
                            f"(projects[].allow.agent-labels); expected {expected}")

    def git_url(self, url: str, what: str = "git url") -> None:
        """A repository on the controller's or agent's own disk reads files no job should (git
        refuses controller checkouts only since SECURITY-2478, GitSCM.java:1402-1409); a URL
        with a password in it puts a secret in the job. `what` names the field in messages."""
        try:
            parsed = urlsplit(url)
            password = parsed.password if parsed.scheme else None
        except ValueError:  # an unparsable port or host: judged by its text alone
            parsed, password = urlsplit(""), None
        if url.startswith(("/", ".", "~")) or parsed.scheme == "file" or re.match(r"^[A-Za-z]:[\\/]", url):
            self.refuse(Rule.WORKSPACE, f"{what} {url!r} is a path on the build's own machine; "
                        "clone from a server")
        elif password is not None:
            self.refuse(Rule.CREDENTIAL, f"a {what} with a password in it puts a secret in the job; "
                        "give credentials-id instead")
        elif "$" in url:
            self.refuse(Rule.CREDENTIAL, f"{what} {url!r} is expanded from variables when the build runs, so "
                        "the job's git credential could be sent anywhere; write the URL")

    def source_url(self, cls: str, source: ET.Element) -> None:
        """A multibranch branch source's repository, judged like a GitSCM url: the URL it clones
        (``sources.repository_url``), named by the fields it is made of. Its credentialsId (and
        a checkout-over-SSH trait's) is judged with every other credential field (``walk``)."""
        values = {f: (source.findtext(f) or "").strip() for f in SOURCE_FIELDS[cls]}
        name = short_class(cls)
        if "remote" in values:
            self.git_url(values["remote"], f"{name} remote")
            return
        server = SOURCE_FIELDS[cls][0]  # apiUri, serverUrl: the host the credential is sent to
        before = len(self.judgement.refused)
        if values[server]:
            self.git_url(values[server], f"{name} {server}")
        url = repository_url(source)
        if url and len(self.judgement.refused) == before:
            made_of = ", ".join(f"{f} {v!r}" for f, v in values.items() if v)
            self.git_url(url, f"{name} repository URL (from {made_of})")

    def credentials(self, element: ET.Element, holder: str = "") -> None:
        """The credential IDs of a field; `holder` (the class that has it) and the field name
        the place in messages, e.g. ``GitHubSCMSource credentialsId: ``."""
        values = [element.text or ""] if len(element) == 0 else [child.text or "" for child in element]
        where = f"{holder} {element.tag}: " if holder else f"{element.tag}: "
        for value in (v.strip() for v in values):
            if not value:
                continue
            if "$" in value:
                self.refuse(Rule.CREDENTIAL, f"{where}credential ID {value!r} is expanded from variables when the "
                            "build runs, so any credential could be bound; write the ID itself")
            elif value == self.policy.updater_credential:
                self.refuse(Rule.CREDENTIAL, f"{where}credential {value!r} is the updater's (updater.credential-id), "
                            "which can rewrite every job: no team job may bind it")
            elif value not in self.policy.allow.credentials:
                self.refuse(Rule.CREDENTIAL, f"{where}credential {value!r} is not one the org file grants the project "
                            f"(projects[].allow.credentials: {', '.join(self.policy.allow.credentials) or 'none'})")

    def job_names(self, holder: str, value: str | None) -> None:
        field = JOB_NAME_FIELDS[holder]
        for name in jenkins_names.split_names(value):
            if "$" in name:
                self.refuse(Rule.REACH, f"{holder} {field} {name!r} is expanded from variables when the build runs, "
                            "so it could name any job; write the job's name")
                continue
            outside = [c for c in _meanings(name, self.job, self.own) if not self.reaches_allowed(c)]
            if outside:
                grants = ", ".join(self.policy.allow.upstreams) or "none"
                self.refuse(Rule.REACH, f"{holder} {field} {name!r} reaches {outside[0]!r}, outside namespace "
                            f"{self.namespace} (projects[].allow.upstreams: {grants})")

    def reaches_allowed(self, full_name: str) -> bool:
        key = full_name.lower()
        return self.namespace.contains(key) or key in self.upstreams


@functools.cache
def _tag_class(tag: str) -> str | None:
    """The class an element tag names, if any: a dotted tag (XStream-escaped) or a bare alias."""
    if "." in tag:
        return java_name(tag)
    return ALIASES.get(tag)


@functools.cache
def _plainly_allowed(name: str) -> bool:
    """Allowed, with no field the policy reads: nothing more to judge."""
    return is_allowed(name) and name not in JOB_NAME_FIELDS and name not in FIELD_CHECKED


def _meanings(name: str, job: str, own: frozenset[str]) -> list[str]:
    """Every full name ``Jenkins.getItem(name, parent of job)`` can return: a leading ``/`` is
    absolute; otherwise the walk from the job's folder, and, when that finds nothing, the same
    text as a full name (Jenkins.java:3050-3092; ``jenkins_names.ItemIndex.lookup``). Both must
    be allowed, since which one applies depends on what exists when the build runs, unless the
    walk finds an item of the scope's own (`own`, lower-cased; lookups ignore case). A name
    that leaves the root means nothing; it is shown as written, and refused."""
    tokens = [t for t in name.split("/") if t]
    if name.startswith("/"):
        return ["/".join(tokens)]
    walked: list[str] | None = [t for t in jenkins_names.parent_of(job).split("/") if t]
    for token in tokens:
        if token == "..":
            walked = walked[:-1] if walked else None
            if walked is None:
                break
        elif token != ".":
            walked.append(token)
    meanings = ["/".join(walked)] if walked else [name]
    if walked and meanings[0].lower() in own:
        return meanings
    # The fallback reads the text as a full name; with a '.' or '..' segment it names no item
    # (Jenkins.checkGoodName refuses both as names), so it can find nothing.
    as_full_name = "/".join(tokens)
    if as_full_name not in meanings and not any(t in (".", "..") for t in tokens):
        meanings.append(as_full_name)
    return meanings


def _holder(element: ET.Element | None) -> str:
    """The short class name of the element that holds a field (its ``class=`` or its tag)."""
    if element is None:
        return ""
    value = element.get("class") or ""
    name = value if "." in value else _tag_class(element.tag) or element.tag
    return name.rsplit(".", 1)[-1]


def _single_label(label: str) -> bool:
    """One label atom: no operator, quote, parenthesis or space (core LabelExpressionLexer.g4:3-56)."""
    return not any(c in label for c in "!&|()<>\"' \t") and "->" not in label
