"""Jenkins item types as config.xml writes them and the REST API reports them.

An item's config.xml root element is its class's XStream alias, or the class name itself; the
API's ``_class`` is always the class name. Jenkins cannot change an item's class in place: a
config.xml with another root is refused (reference/jenkins-rest.md §3, "type change").
"""

from __future__ import annotations

import re

FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
ORGANIZATION_FOLDER = "jenkins.branch.OrganizationFolder"

# Root element -> class, where the root is an alias: core Items.java:767 (`project`);
# workflow-job WorkflowJob.java:738 (`flow-definition`); matrix-project and maven-plugin the same way.
ALIASES = {
    "project": "hudson.model.FreeStyleProject",
    "flow-definition": WORKFLOW_JOB,
    "matrix-project": "hudson.matrix.MatrixProject",
    "maven2-moduleset": "hudson.maven.MavenModuleSet",
}
# Multibranch Pipeline projects: workflow-multibranch's, and pipeline-multibranch-defaults' subclass.
MULTIBRANCH_PROJECTS = frozenset({
    MULTIBRANCH, "org.jenkinsci.plugins.pipeline.multibranch.defaults.PipelineMultiBranchDefaultsProject"})
# Item groups whose children Jenkins makes itself (branch indexing, organisation scans): their
# children belong to the group, never to an updater.
COMPUTED_GROUPS = frozenset({*MULTIBRANCH_PROJECTS, ORGANIZATION_FOLDER})

_ROOT = re.compile(rb"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<([A-Za-z_][\w.$-]*)", re.S)


def item_class(root_tag: str) -> str:
    """The ``_class`` of an item whose config.xml has this root element."""
    return ALIASES.get(root_tag, root_tag)


def root_tag(xml: bytes) -> str | None:
    """The root element's name, without parsing the document: the first start tag after the
    XML declaration, comments and processing instructions."""
    match = _ROOT.match(xml)
    return match.group(1).decode() if match else None


def short_class(cls: str) -> str:
    """``hudson.model.FreeStyleProject`` -> ``FreeStyleProject``, for messages."""
    return cls.rsplit(".", 1)[-1]
