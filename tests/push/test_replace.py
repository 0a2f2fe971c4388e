"""A job whose type changes (a team moving its CI from freestyle to Pipeline): Jenkins refuses a
config.xml with another root element (reference/jenkins-rest.md §3: "type change", 500, old
config kept), so plan says `replace` and update deletes the job and creates it again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.jenkins_items import item_class, root_tag
from jjb_envdelivery.testing.emulator_faults import Fault

PIPELINE = """    project-type: pipeline
    sandbox: true
    dsl: "echo {service}"
"""


@pytest.fixture
def cli(conf, small, tmp_path, capsys):
    def run(command: str, scope: str, *extra: str) -> tuple[int, str]:
        code = main([command, "--scope", scope, "--org-file", str(small / "delivery.yaml"),
                     "--conf", str(conf), "--cache-dir", str(tmp_path / "cache"), *extra])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def to_pipeline(small: Path) -> None:
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    text = jobs.read_text()
    marker = "    description: 'CI of {service} on {branch}'\n    builders:\n      - shell: make test\n"
    assert marker in text
    jobs.write_text(text.replace(marker, "    description: 'CI of {service} on {branch}'\n" + PIPELINE))


def test_root_tag_and_class():
    assert root_tag(b"<?xml version='1.0' encoding='UTF-8'?>\n<!-- <project> --><flow-definition plugin='x'/>") \
        == "flow-definition"
    assert item_class("flow-definition") == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert item_class("project") == "hudson.model.FreeStyleProject"
    assert root_tag(b"not xml") is None


def test_a_job_changing_type_is_replaced(emu, cli, small):
    assert cli("update", "root")[0] == 0
    assert cli("update", "payments")[0] == 0
    before = emu.state.find("payments/billing-current-lint")
    to_pipeline(small)
    code, out = cli("plan", "payments", "--json")
    assert code == 2, out
    actions = {a["name"]: a for a in json.loads(out)["actions"]}
    replaced = actions["payments/billing-current-lint"]
    assert replaced["action"] == "replace"
    assert "from FreeStyleProject to WorkflowJob" in replaced["reason"] and "builds" in replaced["reason"]
    # The same plan offline: the last applied config says what type the job is.
    code, out = cli("plan", "payments", "--offline")
    assert code == 2 and "  replace job payments/billing-current-lint: its type changes" in out
    assert cli("update", "payments")[0] == 0
    after = emu.state.find("payments/billing-current-lint")
    assert after.type.cls == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert after is not before  # a new item: the old one's builds went with it
    code, out = cli("plan", "payments")
    assert code == 0, out


def test_without_replace_jenkins_would_refuse_the_new_type(emu, rest, cli, small):
    """The reason replace exists: the emulator, like Jenkins, refuses a type change in place."""
    cli("update", "root")
    cli("update", "payments")
    xml = "<flow-definition><definition class='org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition'>" \
          "<script>echo</script><sandbox>true</sandbox></definition></flow-definition>"
    answer = rest.post(f"{emu.url}job/payments/job/billing-current-lint/config.xml", data=xml,
                       headers={"Content-Type": "application/xml"})
    assert answer.status_code == 500
    assert emu.state.find("payments/billing-current-lint").type.cls == "hudson.model.FreeStyleProject"


def test_a_replace_whose_create_fails_says_so_and_the_next_update_creates_it(emu, cli, small):
    cli("update", "root")
    cli("update", "payments")
    to_pipeline(small)
    emu.faults.faults.append(Fault("500", rate=1, limit=8, pattern="POST /job/payments/createItem"))
    code, out = cli("update", "payments")
    assert code == 1
    assert "deleted to change its type, but creating it again failed" in out
    assert "the next update creates it" in out
    emu.faults.faults.clear()
    assert cli("update", "payments")[0] == 0
    assert emu.state.find("payments/billing-current-lint").type.cls.endswith("WorkflowJob")


def test_a_multibranch_project_is_a_job_to_the_updater_and_its_branches_are_not_listed():
    """Jenkins lists a multibranch project with `jobs` (its branch jobs, made by indexing). To an
    updater it is one job it pushes; the branch jobs are the project's, never owned or deleted
    one by one, so they are not listed (a plain folder's children still are)."""
    from jjb_envdelivery.jjb.rendered import ItemKind
    from jjb_envdelivery.push.client import _collect

    items = {}
    unlisted = _collect([
        {"_class": "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject", "name": "svc-branches",
         "description": "d", "jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "main"}]},
        {"_class": "org.jenkinsci.plugins.pipeline.multibranch.defaults.PipelineMultiBranchDefaultsProject",
         "name": "defaults-branches", "jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                                                "name": "main"}]},
        {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "team",
         "jobs": [{"_class": "hudson.model.FreeStyleProject", "name": "a"}]},
    ], "", items)
    assert unlisted == []
    assert items["svc-branches"].kind == ItemKind.JOB
    assert items["svc-branches"].cls.endswith("WorkflowMultiBranchProject")
    assert "svc-branches/main" not in items
    assert items["defaults-branches"].kind == ItemKind.JOB and "defaults-branches/main" not in items
    assert items["team"].kind == ItemKind.FOLDER and items["team/a"].cls == "hudson.model.FreeStyleProject"


def test_a_job_of_another_type_that_no_updater_owns_is_refused_not_replaced(emu, rest, cli, small):
    """Replacing deletes: only the scope's own jobs are replaced; one someone made by hand (no
    owner mark) stays, and the plan says why."""
    cli("update", "root")
    (small / "teams/payments/jenkins/more.yaml").write_text(
        "- job:\n    name: payments/handmade\n    project-type: pipeline\n    sandbox: true\n    dsl: echo\n")
    answer = rest.post(f"{emu.url}job/payments/createItem?name=handmade", data="<project><builders/></project>",
                       headers={"Content-Type": "application/xml"})
    assert answer.status_code == 200
    code, out = cli("plan", "payments")
    assert code == 1
    assert "refuse  job payments/handmade: exists and no updater owns it; pass --adopt to take it over" in out
    assert emu.state.find("payments/handmade").type.cls == "hudson.model.FreeStyleProject"
