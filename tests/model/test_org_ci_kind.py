"""``projects[].ci``: which kind of CI job a project's services use, and what the root makes of it."""

from __future__ import annotations

import pytest

from jjb_envdelivery.generator.views import pipeline_view
from tests.model.test_org_renamed_from import load, problems


def test_ci_defaults_to_freestyle_and_takes_pipeline(tmp_path):
    org = load(tmp_path, a="ci: pipeline")
    assert [p.ci for p in org.projects] == ["pipeline", "freestyle"]


@pytest.mark.parametrize("value, message", [
    ("ci: jenkinsfile", "delivery.yaml:16: projects[0].ci: 'jenkinsfile': expected one of freestyle, pipeline"),
    ("ci: [pipeline]", "delivery.yaml:16: projects[0].ci: expected a string, got a list"),
])
def test_a_wrong_ci_kind_names_the_line(tmp_path, value, message):
    found = problems(tmp_path, a=value)
    assert any(message in p for p in found), found


def test_the_delivery_pipeline_view_starts_pipeline_services_at_their_package_job(tmp_path):
    """DeliveryPipelineView looks every firstJob up as an AbstractProject (delivery-pipeline
    ProjectUtil.java:126-128): a WorkflowJob is not one, and one unresolved firstJob empties the
    whole view (DeliveryPipelineView.java:535-542)."""
    org = load(tmp_path, a="ci: pipeline")
    components = {c["name"]: c["initial-job"] for c in pipeline_view(org, "current")["view"]["components"]}
    assert components == {"billing": "payments/billing-current-package", "ui": "web/ui-current-ci"}
