"""The job policy's rules, judged on config.xml as the plugins write it (issue 14, "A policy over
each team scope's rendered jobs"). Each refused element is cited to the plugin source in
shared/reference/jenkins-security.md; each allowed one is what the shipped templates emit."""

from __future__ import annotations

import pytest

from jjb_envdelivery.model.organisation import Namespace
from jjb_envdelivery.model.policy import Allowances, ClassException, TeamPolicy, UnknownClasses
from jjb_envdelivery.policy import Rule
from jjb_envdelivery.policy.check import judge_item
from jjb_envdelivery.policy.classes import ALLOWED, DENIED, java_name

FOLDER = Namespace("folder", "compute")
PREFIX = Namespace("prefix", "portal-")
POLICY = TeamPolicy(allow=Allowances(agent_labels=("compute-build",), credentials=("compute-git",),
                                     upstreams=("delivery/env-minimal-current-build",)),
                    updater_label="jjb-updater", updater_credential="jjb-updater-config")


def freestyle(body: str = "", node: str | None = "compute-build") -> bytes:
    where = f"<assignedNode>{node}</assignedNode><canRoam>false</canRoam>" if node else "<canRoam>true</canRoam>"
    return f"<project>{where}<builders/>{body}</project>".encode()


def judged(xml: bytes, job: str = "compute/job", namespace: Namespace = FOLDER, policy: TeamPolicy = POLICY,
           own: frozenset[str] = frozenset()):
    return judge_item(job, "team.yaml:3", xml, namespace, policy, "compute", own)


def rules(xml: bytes, **kwargs) -> list[Rule]:
    return [f.rule for f in judged(xml, **kwargs).refused]


def test_what_the_shipped_templates_emit_passes():
    xml = freestyle(
        "<scm class='hudson.plugins.git.GitSCM'><userRemoteConfigs><hudson.plugins.git.UserRemoteConfig>"
        "<credentialsId>compute-git</credentialsId></hudson.plugins.git.UserRemoteConfig></userRemoteConfigs></scm>"
        "<buildWrappers><hudson.plugins.build__timeout.BuildTimeoutWrapper><strategy "
        "class='hudson.plugins.build_timeout.impl.AbsoluteTimeOutStrategy'/></hudson.plugins.build__timeout"
        ".BuildTimeoutWrapper></buildWrappers>"
        "<triggers><jenkins.triggers.ReverseBuildTrigger><upstreamProjects>/compute/a-ci, b-ci"
        "</upstreamProjects></jenkins.triggers.ReverseBuildTrigger></triggers>"
        "<publishers><hudson.plugins.copyartifact.CopyArtifact><project>/delivery/env-minimal-current-build</project>"
        "<selector class='hudson.plugins.copyartifact.TriggeredBuildSelector'/></hudson.plugins.copyartifact"
        ".CopyArtifact></publishers>")
    assert judged(xml, own=frozenset({"compute/b-ci"})).refused == []


@pytest.mark.parametrize("tag, rule", [
    ("hudson.plugins.groovy.SystemGroovy", Rule.CONTROLLER_CODE),
    ("org.jvnet.hudson.plugins.groovypostbuild.GroovyPostbuildRecorder", Rule.CONTROLLER_CODE),
    ("javaposse.jobdsl.plugin.ExecuteDslScripts", Rule.CONTROLLER_CODE),
    ("EnvInjectBuildWrapper", Rule.CONTROLLER_CODE),  # EnvInject's bare XStream alias
    ("hudson.security.AuthorizationMatrixProperty", Rule.PERMISSIONS),
    ("org.jenkinsci.plugins.authorizeproject.AuthorizeProjectProperty", Rule.PERMISSIONS),
    ("com.cloudbees.plugins.credentials.CredentialsParameterDefinition", Rule.CREDENTIAL),
    ("org.jvnet.jenkins.plugins.nodelabelparameter.LabelParameterDefinition", Rule.AGENT_LABEL),
    ("hudson.plugins.templateproject.ProxyBuilder", Rule.REACH),
    ("hudson.plugins.throttleconcurrents.ThrottleJobProperty", Rule.SHARED_RESOURCES),
])
def test_denied_classes_are_refused_as_tags(tag, rule):
    assert rules(freestyle(f"<x><{tag}/></x>")) == [rule]


def test_a_class_hidden_in_a_class_attribute_is_refused():
    """JJB's conditional-step renames the wrapped step to <buildStep class="ORIGINAL"> (JJB
    builders.py:1829-1830): the class attribute is judged like a tag."""
    xml = freestyle("<builders><org.jenkinsci.plugins.conditionalbuildstep.singlestep.SingleConditionalBuilder>"
                    "<buildStep class='hudson.plugins.groovy.SystemGroovy'/></org.jenkinsci.plugins"
                    ".conditionalbuildstep.singlestep.SingleConditionalBuilder></builders>")
    assert rules(xml) == [Rule.CONTROLLER_CODE]


def test_xstream_escapes_are_undone_before_matching():
    """XStream writes '_' as '__' and '$' as '_-' (core XStream2.java:435-436)."""
    assert java_name("hudson.plugins.ws__cleanup.WsCleanup") == "hudson.plugins.ws_cleanup.WsCleanup"
    assert java_name("se.diabol.jenkins.pipeline.DeliveryPipelineView_-ComponentSpec") == \
        "se.diabol.jenkins.pipeline.DeliveryPipelineView$ComponentSpec"
    escaped = "com.cloudbees.hudson.plugins.folder.properties.FolderCredentialsProvider_-FolderCredentialsProperty"
    assert rules(freestyle(f"<properties><{escaped}/></properties>")) == [Rule.CREDENTIAL]
    assert rules(freestyle("<x><com.cwctravel.hudson.plugins.extended__choice__parameter"
                           ".ExtendedChoiceParameterDefinition/></x>")) == [Rule.CONTROLLER_CODE]


def test_unknown_classes_are_refused_unless_the_org_allows_them_and_then_noted():
    xml = freestyle("<builders><com.example.MysteryBuilder/></builders>")
    assert rules(xml) == [Rule.UNKNOWN_CLASS]
    lenient = TeamPolicy(allow=POLICY.allow, unknown_classes=UnknownClasses.ALLOW)
    found = judged(xml, policy=lenient)
    assert found.refused == []
    assert [n.rule for n in found.notices] == [Rule.UNKNOWN_CLASS]
    assert "com.example.MysteryBuilder" in found.notices[0].message
    # Known denials stay denied however lenient the org is about unknown classes.
    assert rules(freestyle("<x><hudson.plugins.groovy.SystemGroovy/></x>"), policy=lenient) == [Rule.CONTROLLER_CODE]


def test_an_exception_lets_one_class_through_visibly():
    granted = TeamPolicy(allow=Allowances(agent_labels=("compute-build",), classes=(
        ClassException("hudson.plugins.groovy.SystemGroovy", "reviewed: reads build stats"),)))
    found = judged(freestyle("<x><hudson.plugins.groovy.SystemGroovy/><hudson.plugins.groovy.SystemGroovy/></x>"),
                   policy=granted)
    assert found.refused == []
    assert len(found.notices) == 1 and "reviewed: reads build stats" in found.notices[0].message
    # The exception is for that class only.
    assert rules(freestyle("<x><org.jvnet.hudson.plugins.groovypostbuild.GroovyPostbuildRecorder/></x>"),
                 policy=granted) == [Rule.CONTROLLER_CODE]


@pytest.mark.parametrize("root, expected", [
    ("project", []),
    ("matrix-project", [Rule.CONTROLLER_CODE]),
    ("maven2-moduleset", [Rule.UNKNOWN_CLASS]),
])
def test_job_kinds(root, expected):
    xml = f"<{root}><assignedNode>compute-build</assignedNode><canRoam>false</canRoam></{root}>".encode()
    assert rules(xml) == expected


@pytest.mark.parametrize("sandbox, expected", [
    ("true", []), ("false", [Rule.CONTROLLER_CODE]), (None, [Rule.CONTROLLER_CODE])])
def test_inline_pipeline_scripts_must_be_sandboxed(sandbox, expected):
    """JJB's pipeline `sandbox` defaults to false (project_pipeline.py:116-117); unsandboxed CPS
    runs in the controller once approved (CpsFlowDefinition.java:87-105)."""
    flag = f"<sandbox>{sandbox}</sandbox>" if sandbox else ""
    xml = (f"<flow-definition><definition class='org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition'>"
           f"<script>node {{}}</script>{flag}</definition></flow-definition>").encode()
    assert rules(xml) == expected


@pytest.mark.parametrize("node, expected", [
    ("compute-build", []),
    ("jjb-updater", "is the updater's"),
    ("built-in", "the controller's own"),
    ("master", "the controller's own"),
    ("compute-build || built-in", "label expression"),
    ("!nonexistent", "label expression"),
    ("other-team-build", "not a label the org file grants"),
    (None, "names no agent label"),
])
def test_agent_labels(node, expected):
    found = judged(freestyle(node=node)).refused
    if not expected:
        assert found == []
    else:
        assert [f.rule for f in found] == [Rule.AGENT_LABEL] and expected in found[0].message


def test_without_granted_labels_jobs_roam_but_may_name_none():
    free = TeamPolicy(updater_label="jjb-updater")
    assert rules(freestyle(node=None), policy=free) == []
    assert rules(freestyle(node="jjb-updater"), policy=free) == [Rule.AGENT_LABEL]
    assert rules(freestyle(node="anything"), policy=free) == [Rule.AGENT_LABEL]


@pytest.mark.parametrize("field, value, expected", [
    ("credentialsId", "compute-git", None),
    ("credentialsId", "jjb-updater-config", "is the updater's"),
    ("credentialsId", "identity-deploy-ssh", "not one the org file grants"),
    ("credentialsId", "${CRED}", "expanded from variables"),
])
def test_credential_ids(field, value, expected):
    xml = freestyle("<buildWrappers><org.jenkinsci.plugins.credentialsbinding.impl.SecretBuildWrapper><bindings>"
                    "<org.jenkinsci.plugins.credentialsbinding.impl.FileBinding>"
                    f"<{field}>{value}</{field}></org.jenkinsci.plugins.credentialsbinding.impl.FileBinding>"
                    "</bindings></org.jenkinsci.plugins.credentialsbinding.impl.SecretBuildWrapper></buildWrappers>")
    found = judged(xml).refused
    assert [f.message for f in found if expected is None] == []
    if expected:
        assert [f.rule for f in found] == [Rule.CREDENTIAL] and expected in found[0].message


def test_ssh_agent_credential_lists_are_checked_item_by_item():
    xml = freestyle("<buildWrappers><com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper><credentialIds>"
                    "<string>compute-git</string><string>jjb-updater-config</string></credentialIds>"
                    "</com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper></buildWrappers>")
    assert [f.message.split("'")[1] for f in judged(xml).refused] == ["jjb-updater-config"]


TRIGGER = ("<triggers><jenkins.triggers.ReverseBuildTrigger><upstreamProjects>{}</upstreamProjects>"
           "</jenkins.triggers.ReverseBuildTrigger></triggers>")
COPY = ("<builders><hudson.plugins.copyartifact.CopyArtifact><project>{}</project>"
        "</hudson.plugins.copyartifact.CopyArtifact></builders>")
CHILD = ("<publishers><hudson.tasks.BuildTrigger><childProjects>{}</childProjects>"
         "</hudson.tasks.BuildTrigger></publishers>")
PARAMETERIZED = ("<publishers><hudson.plugins.parameterizedtrigger.BuildTrigger><configs>"
                 "<hudson.plugins.parameterizedtrigger.BuildTriggerConfig><projects>{}</projects>"
                 "</hudson.plugins.parameterizedtrigger.BuildTriggerConfig></configs>"
                 "</hudson.plugins.parameterizedtrigger.BuildTrigger></publishers>")


@pytest.mark.parametrize("template", [TRIGGER, COPY, CHILD, PARAMETERIZED])
@pytest.mark.parametrize("name, allowed", [
    ("/compute/a-ci", True),
    ("a-ci", True),                                # found in the folder (the scope's own job)
    ("/delivery/root-updater", False),
    ("../delivery/root-updater", False),
    ("/delivery/env-minimal-current-build", True),  # granted upstream
    ("/DELIVERY/Env-Minimal-Current-Build", True),  # Jenkins's lookups ignore case
    ("delivery/updater-identity", False),           # relative: compute/delivery/..., else the full name
    ("../../x", False),                             # leaves the root
    ("$UPSTREAM", False),
    ("/compute/a-ci, /identity/x", False),
])
def test_job_references_stay_in_the_namespace_or_the_grants(template, name, allowed):
    found = judged(freestyle(template.format(name)), own=frozenset({"compute/a-ci"})).refused
    assert (found == []) == allowed, found
    assert all(f.rule == Rule.REACH for f in found)


def test_a_relative_name_the_scope_does_not_define_may_fall_back_to_another_teams_job():
    """Jenkins.getItem walks from the job's folder, then falls back to the text as a full name
    (Jenkins.java:3050-3092): 'identity/x' from compute/job is compute/identity/x if that exists,
    else identity/x. Unless the walk finds the scope's own job, both must be allowed."""
    found = judged(freestyle(TRIGGER.format("identity/x"))).refused
    assert len(found) == 1 and "'identity/x'" in found[0].message
    assert judged(freestyle(TRIGGER.format("identity/x")), own=frozenset({"compute/identity/x"})).refused == []


def test_a_prefix_team_reaches_only_top_level_names_with_its_prefix():
    policy = TeamPolicy(updater_label="jjb-updater")
    ok = freestyle(TRIGGER.format("portal-web-ci"), node=None)
    assert judged(ok, job="portal-x", namespace=PREFIX, policy=policy).refused == []
    bad = freestyle(TRIGGER.format("portal-evil/inside, compute/a-ci"), node=None)
    assert len(judged(bad, job="portal-x", namespace=PREFIX, policy=policy).refused) == 2


@pytest.mark.parametrize("element, rule", [
    ("<authToken>secret</authToken>", Rule.AUTH_TOKEN),
    ("<customWorkspace>/var/lib/jenkins</customWorkspace>", Rule.WORKSPACE),
    ("<childCustomWorkspace>../x</childCustomWorkspace>", Rule.WORKSPACE),
    ("<buildWrappers><hudson.plugins.ws__cleanup.PreBuildCleanup><externalDelete>rm -rf /</externalDelete>"
     "</hudson.plugins.ws__cleanup.PreBuildCleanup></buildWrappers>", Rule.WORKSPACE),
    ("<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
     "<org.jvnet.jenkins.plugins.nodelabelparameter.NodeParameterDefinition/></parameterDefinitions>"
     "</hudson.model.ParametersDefinitionProperty></properties>", Rule.AGENT_LABEL),
])
def test_job_level_settings(element, rule):
    assert rules(freestyle(element)) == [rule]


def test_every_finding_names_file_line_job_and_rule():
    finding = judged(freestyle("<x><hudson.plugins.groovy.SystemGroovy/></x>")).refused[0]
    assert str(finding).startswith("team.yaml:3: compute/job: [controller-code] hudson.plugins.groovy.SystemGroovy:")


def test_the_tables_do_not_overlap():
    assert not set(DENIED) & ALLOWED


def test_the_readme_table_names_every_rule(repo_root):
    """The README documents the policy as a table of its rules."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### The job policy"):readme.index("## The Jenkins REST emulator")]
    for rule in Rule:
        assert f"`{rule}`" in table, rule


def test_the_old_ssh_agent_form_names_its_credential_in_user():
    """JJB's deprecated `user` writes <user>ID</user> (JJB wrappers.py:2048-2049): checked too."""
    xml = freestyle("<buildWrappers><com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper>"
                    "<user>jjb-updater-config</user></com.cloudbees.jenkins.plugins.sshagent.SSHAgentBuildWrapper>"
                    "</buildWrappers>")
    assert rules(xml) == [Rule.CREDENTIAL]


@pytest.mark.parametrize("url, rule", [
    ("https://git.example.com/compute/x.git", None),
    ("git@git.example.com:compute/x.git", None),
    ("file:///var/lib/jenkins/secrets", Rule.WORKSPACE),
    ("/var/lib/jenkins/users", Rule.WORKSPACE),
    ("../other-job-workspace", Rule.WORKSPACE),
    ("https://me:hunter2@git.example.com/x.git", Rule.CREDENTIAL),
    ("https://$HOST/x.git", Rule.CREDENTIAL),
])
def test_git_urls(url, rule):
    xml = freestyle("<scm class='hudson.plugins.git.GitSCM'><userRemoteConfigs><hudson.plugins.git.UserRemoteConfig>"
                    f"<url>{url}</url><credentialsId>compute-git</credentialsId>"
                    "</hudson.plugins.git.UserRemoteConfig></userRemoteConfigs></scm>")
    assert rules(xml) == ([rule] if rule else [])
