"""The retention rules on their own."""

from __future__ import annotations

from jjb_envdelivery.environments.catalog import Template, plan_gc


def _t(version, status, pinned=False, variant="minimal", release="current"):
    return Template(id=f"{variant}-{release}-v{version}", variant=variant, release=release, version=version,
                    status=status, pinned=pinned)


def test_plan_gc_reasons():
    templates = [_t(1, "verified", pinned=True), _t(2, "verified"), _t(3, "verified"), _t(4, "failed"),
                 _t(5, "verified"), _t(6, "built"), _t(7, "verified"), _t(8, "built"),
                 _t(1, "verified", release="upcoming")]
    plan = plan_gc(templates, {"minimal-current-v2": ["deploy-a"]}, "minimal", "current", keep=2)
    assert {t.version: why for t, why in plan.delete} == {
        3: "older than the newest 2 verified", 4: "failed verification",
        6: "built but superseded by a newer verified template"}
    assert {t.version: why for t, why in plan.keep} == {
        8: "built, waiting for verification", 7: "newest verified", 5: "among the newest 2 verified",
        2: "in use by deploy-a", 1: "pinned (golden)"}


def test_newest_verified_survives_keep_one_even_when_older_ones_are_pinned():
    plan = plan_gc([_t(1, "verified", pinned=True), _t(2, "verified"), _t(3, "failed")], {}, "minimal", "current", 1)
    assert [t.version for t, _ in plan.keep] == [2, 1]
    assert [t.version for t, _ in plan.delete] == [3]
