"""An item outside its scope's namespace is refused by the stage (render) and by the plan with
one wording, ``Namespace.rule()``, which says what ``Namespace.contains`` asks: a folder holds
the items below it (not the folder itself, not ``compute-evil/x``), a prefix only top-level names."""

from __future__ import annotations

import pytest
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.root_base import JobViewData

from jjb_envdelivery.jjb.rendered import ItemKind
from jjb_envdelivery.jjb.stage import JobStage
from jjb_envdelivery.model.organisation import Namespace
from jjb_envdelivery.push.plan import REFUSE, DesiredItem, make_plan

FOLDER = Namespace("folder", "compute")
PREFIX = Namespace("prefix", "portal-")
FOLDER_RULE = ("every name must start with 'compute/' and name an item inside that folder (not the folder "
               "itself, no empty, '.' or '..' segment)")
PREFIX_RULE = "every name must start with 'portal-' and lie at the top level (no '/')"

OUTSIDE = [
    (FOLDER, "compute", FOLDER_RULE),          # starts with the folder's name, but is the folder itself
    (FOLDER, "compute-evil/x", FOLDER_RULE),
    (FOLDER, "compute/../identity/x", FOLDER_RULE),
    (PREFIX, "portal-x/job", PREFIX_RULE),     # starts with the prefix, but is not at the top level
]


@pytest.mark.parametrize("namespace, rule", [(FOLDER, FOLDER_RULE), (PREFIX, PREFIX_RULE)])
def test_the_rule_says_what_contains_asks(namespace, rule):
    assert namespace.rule() == rule


@pytest.mark.parametrize("namespace, name, rule", OUTSIDE)
def test_the_plan_refuses_with_the_rule(namespace, name, rule):
    item = DesiredItem(name, ItemKind.JOB, b"<project/>", "digest", None, source="jobs.yaml:3")
    [action] = make_plan("team", namespace, [item], server={}, cached={}).actions
    assert action.kind == REFUSE
    assert action.reason == f"outside the scope's namespace {namespace}: {rule} (defined at jobs.yaml:3)"


# The stage refuses a '..' segment earlier, as a name Jenkins would not keep; its prefix wording
# was already the rule's.
@pytest.mark.parametrize("namespace, name, rule", [c for c in OUTSIDE if c[0] is FOLDER and ".." not in c[1]])
def test_the_stage_refuses_with_the_same_rule(namespace, name, rule):
    stage = JobStage(roots=None, registry=None, job_generator=None, view_generator=None, owner=None,
                     name_prefix=namespace.job_prefix)
    with pytest.raises(JenkinsJobsException) as caught:
        stage.prepare([JobViewData({"name": name})], "job")
    assert str(caught.value.message) == f"job {name!r} is outside the scope's namespace: {rule}"
