"""Edges from real rendered XML, and job names resolved as Jenkins's Items.getItem does."""

from __future__ import annotations

from jjb_envdelivery.graph.build import read_job
from jjb_envdelivery.jenkins_names import ItemIndex, split_names
from jjb_envdelivery.orchestration.checked_render import graph_of_organisation

from .conftest import add_yaml, grant_upstreams


def test_split_names_like_items_from_name_list():
    assert split_names(" a, b ,,c , ") == ["a", "b", "c"]
    assert split_names(None) == []


def test_resolution_relative_then_full():
    index = ItemIndex([("top", False), ("f", True), ("f/job", False), ("f/sub/deep", False), ("other", False),
                       ("f/top", False)])
    job = "f/sub/me"
    assert index.resolve("deep", job)[0] == ("f/sub/deep", False)
    assert index.resolve("../job", job)[0] == ("f/job", False)
    assert index.resolve("../top", job)[0] == ("f/top", False)  # relative wins over the top-level job
    assert index.resolve("/top", job)[0] == ("top", False)
    assert index.resolve("other", job)[0] == ("other", False)  # falls back to the full name
    assert index.resolve("F/JOB", job)[0] == ("f/job", False)  # names compare without case
    assert index.resolve("../../../top", job)[0] is None  # above the root, and no item "../../../top"
    assert index.resolve("..", job)[0] == ("f", True)  # a folder: the caller says it is no job
    # A job holds no items: Jenkins stops there, with no fallback to the full name.
    assert index.resolve("../job/x", job)[0] is None
    assert index.resolve("nothing", job) == (None, ("f/sub/nothing", "nothing"))


def test_read_job_from_xml():
    facts = read_job("f/j", b"""<?xml version="1.0"?><project>
      <disabled>true</disabled>
      <properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>
        <hudson.model.StringParameterDefinition><name>X</name></hudson.model.StringParameterDefinition>
      </parameterDefinitions></hudson.model.ParametersDefinitionProperty></properties>
      <scm class="hudson.plugins.git.GitSCM"><userRemoteConfigs><hudson.plugins.git.UserRemoteConfig>
        <url>https://git.example.com/x.git</url></hudson.plugins.git.UserRemoteConfig></userRemoteConfigs></scm>
      <triggers class="vector">
        <hudson.triggers.SCMTrigger><spec>H * * * *</spec></hudson.triggers.SCMTrigger>
        <jenkins.triggers.ReverseBuildTrigger><upstreamProjects>a, ../b</upstreamProjects>
        </jenkins.triggers.ReverseBuildTrigger>
      </triggers>
      <builders>
        <org.jenkinsci.plugins.conditionalbuildstep.singlestep.SingleConditionalBuilder>
          <buildStep class="hudson.plugins.copyartifact.CopyArtifact"><project>c</project></buildStep>
        </org.jenkinsci.plugins.conditionalbuildstep.singlestep.SingleConditionalBuilder>
        <hudson.plugins.parameterizedtrigger.TriggerBuilder><configs>
          <hudson.plugins.parameterizedtrigger.BlockableBuildTriggerConfig><projects>d,e</projects>
          </hudson.plugins.parameterizedtrigger.BlockableBuildTriggerConfig></configs>
        </hudson.plugins.parameterizedtrigger.TriggerBuilder>
      </builders>
      <publishers><hudson.tasks.BuildTrigger><childProjects>f</childProjects></hudson.tasks.BuildTrigger></publishers>
    </project>""")
    assert facts.disabled and facts.starts == {"scm trigger", "parameters"}
    assert facts.scm_urls == ["https://git.example.com/x.git"]
    assert [(kind, name, upstream) for kind, _, name, upstream in facts.refs] == [
        ("trigger", "a", True), ("trigger", "../b", True), ("artifact", "c", True),
        ("trigger", "d", False), ("trigger", "e", False), ("trigger", "f", False)]


def test_edges_of_rendered_team_yaml_with_folder_relative_names(tiny_org):
    add_yaml(tiny_org, "payments", "smoke.yaml", """
- job:
    name: payments/smoke
    disabled: false
    triggers:
      - reverse:
          jobs: 'billing-current-deliver , ../web-ui-current-deliver,/payments/billing-upcoming-deliver'
    builders:
      - copyartifact: {project: billing-current-package}
    publishers:
      - trigger-parameterized-builds:
          - project: '../web-smoke-report'
            current-parameters: true
- job:
    name: payments/report
    disabled: false
    parameters:
      - string: {name: FROM}
""")
    grant_upstreams(tiny_org, "payments", ["web-ui-current-deliver", "web-smoke-report"])
    graph = graph_of_organisation(tiny_org)
    into = sorted((e.source, e.kind) for e in graph.edges if e.target == "payments/smoke")
    assert into == [("delivery/updater-payments", "generates"), ("payments/billing-current-deliver", "trigger"),
                    ("payments/billing-current-package", "artifact"), ("payments/billing-upcoming-deliver", "trigger"),
                    ("web-ui-current-deliver", "trigger")]
    smoke = graph.nodes["payments/smoke"]
    assert (smoke.kind, smoke.project, smoke.release, smoke.scope) == ("other", "payments", None, "payments")
    # '../web-smoke-report' is no job: reported, and no edge drawn.
    assert [e.target for e in graph.edges if e.source == "payments/smoke"] == []
    ci = graph.nodes["web-ui-upcoming-ci"]
    assert (ci.kind, ci.project, ci.release, ci.service, ci.label) == ("ci", "web", "upcoming", "ui", "ui")
    assert [e.source for e in graph.edges if e.target == "web-ui-upcoming-ci"] == [
        "repo:https://git.example.com/web/ui.git", "delivery/updater-web"]
    build = graph.nodes["delivery/env-small-current-build"]
    assert (build.kind, build.variant, build.release, build.project) == ("env-build", "small", "current", None)
    updater = graph.nodes["delivery/updater-web"]
    assert (updater.kind, updater.project, updater.scope) == ("updater", "web", "root")
