"""Fidelity through python-jenkins 1.8.3: the exceptions its callers see (reference §1.2)."""

from __future__ import annotations

import jenkins
import pytest
import requests

from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator


def test_job_lifecycle(emu: JenkinsEmulator, pj: jenkins.Jenkins, h) -> None:
    pj.create_job("top", h.project_xml("top" + h.JJB_MARK))
    assert pj.job_exists("top") and pj.get_job_name("top") == "top"
    with pytest.raises(jenkins.JenkinsException, match=r"job\[top\] already exists"):
        pj.create_job("top", h.project_xml())
    config = pj.get_job_config("top")
    # 2.492.3 serves the stored file: what safeTransform wrote (test_fidelity_config_file.py)
    assert config.startswith('<?xml version="1.0" encoding="UTF-8"?><project>')
    pj.reconfig_job("top", h.project_xml("changed"))
    assert "<description>changed</description>" in pj.get_job_config("top")
    assert pj.get_job_info("top")["description"] == "changed"
    pj.disable_job("top")
    assert pj.get_job_info("top")["color"] == "disabled"
    pj.enable_job("top")
    assert pj.get_job_info("top")["disabled"] is False
    pj.delete_job("top")
    assert not pj.job_exists("top") and emu.jobs() == []
    assert pj.get_version() == emu.version


def test_folders_and_get_all_jobs(emu: JenkinsEmulator, pj: jenkins.Jenkins, h) -> None:
    pj.create_folder("f")
    with pytest.raises(jenkins.JenkinsException, match="Probably it already exists"):
        pj.create_folder("F")
    pj.create_job("f/inner", h.project_xml())
    pj.create_job("top", h.project_xml())
    names = sorted(j["fullname"] for j in pj.get_all_jobs())
    assert names == ["f", "f/inner", "top"]
    assert [j["name"] for j in pj.get_jobs()] == ["f", "top"]
    assert pj.get_job_info("f")["_class"] == "com.cloudbees.hudson.plugins.folder.Folder"
    pj.delete_job("f")
    assert emu.jobs() == ["top"]


def test_get_all_jobs_on_twelve_levels_needs_exactly_one_more_request(emu, pj, h) -> None:
    path = ""
    for level in range(12):
        pj.create_folder(f"{path}l{level}")
        path += f"l{level}/"
    emu.clear_log()
    jobs = pj.get_all_jobs()
    assert len(jobs) == 12 and jobs[-1]["fullname"] == path.rstrip("/")
    gets = [r for r in emu.request_log if r.path.endswith("/api/json")]
    assert [r.path for r in gets] == ["/api/json",
                                      "/" + "".join(f"job/l{i}/" for i in range(10)) + "api/json"]


def test_case_mismatch_and_client_visible_errors(emu, pj, h) -> None:
    pj.create_job("top", h.project_xml())
    with pytest.raises(jenkins.JenkinsException,
                       match=r"unexpected job name top \(expected: TOP\)"):
        pj.job_exists("TOP")
    with pytest.raises(requests.exceptions.HTTPError, match="400 Client Error"):
        pj.create_job("a&b", h.project_xml())
    with pytest.raises(jenkins.JenkinsException,
                       match=r"Cannot create job\[nofolder/x\] because folder for the job does "
                             r"not exist"):
        pj.create_job("nofolder/x", h.project_xml())
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]: Server Error"):
        pj.create_job("broken", "<project>")
    assert not pj.job_exists("broken")
    with pytest.raises(jenkins.NotFoundException):
        pj.reconfig_job("missing", h.project_xml())
    with pytest.raises(jenkins.NotFoundException):
        pj.get_job_config("missing")
    with pytest.raises(jenkins.JenkinsException, match=r"job\[missing\] does not exist"):
        pj.get_job_info("missing")
    with pytest.raises(jenkins.NotFoundException):
        pj.delete_job("missing")


def test_views(emu, pj, h) -> None:
    assert pj.view_exists("All")
    pj.create_view("v1", h.LIST_VIEW_XML)
    assert pj.view_exists("v1") and not pj.view_exists("V1")
    with pytest.raises(jenkins.JenkinsException, match=r"view\[v1\] already exists"):
        pj.create_view("v1", h.LIST_VIEW_XML)
    assert [v["name"] for v in pj.get_views()] == ["all", "v1"]
    assert "<name>v1</name>" in pj.get_view_config("v1")
    pj.reconfig_view("v1", h.LIST_VIEW_XML)
    pj.delete_view("v1")
    assert not pj.view_exists("v1")


def test_build_and_queue(emu, pj, h) -> None:
    pj.create_job("top", h.project_xml())
    number = pj.build_job("top")
    item = pj.get_queue_item(number)
    assert item["_class"] == "hudson.model.Queue$LeftItem"  # quiet_period=0 in the fixture
    assert pj.get_build_info("top", item["executable"]["number"])["result"] == "SUCCESS"
    with pytest.raises(jenkins.JenkinsException, match=r"queue number\[999\] does not exist"):
        pj.get_queue_item(999)
    pj.disable_job("top")
    with pytest.raises(requests.exceptions.HTTPError, match="409"):
        pj.build_job("top")
    with pytest.raises(jenkins.JenkinsException, match=r"number\[7\] does not exist"):
        pj.get_build_info("top", 7)


def test_plugins_and_permissions(emu, h) -> None:
    admin = jenkins.Jenkins(emu.url, h.ADMIN, h.ADMIN_TOKEN)
    assert "cloudbees-folder" in {p["shortName"] for p in admin.get_plugins().values()}
    dev = jenkins.Jenkins(emu.url, h.DEV, h.DEV_PW)
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]: Forbidden"):
        dev.get_plugins()
    bad = jenkins.Jenkins(emu.url, h.ADMIN, "wrong")
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]: Unauthorized"):
        bad.job_exists("x")
    viewer = jenkins.Jenkins(emu.url, h.VIEWER, h.VIEWER_PW)
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        viewer.create_job("x", h.project_xml())


def test_first_call_get_version_goes_out_unauthenticated(emu, h) -> None:
    with pytest.raises(jenkins.BadHTTPException):
        jenkins.Jenkins(emu.url, h.ADMIN, h.ADMIN_PW).get_version()
    with JenkinsEmulator(users={h.ADMIN: h.ADMIN_PW}, anonymous_read=True) as open_emu:
        assert jenkins.Jenkins(open_emu.url, h.ADMIN, h.ADMIN_PW).get_version()
