"""The ``lost`` fault: the request is handled, its response never arrives."""

from __future__ import annotations

import pytest
import requests

from jjb_envdelivery.testing.emulator_faults import Fault
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

XML = {"Content-Type": "text/xml"}


def test_lost_response_write_happened_but_client_sees_a_reset(tmp_path) -> None:
    with JenkinsEmulator(faults=["lost:1:x1@POST */createItem"], state_dir=tmp_path / "state") as emu:
        session = requests.Session()
        session.headers["Jenkins-Crumb"] = session.get(emu.url + "crumbIssuer/api/json").json()["crumb"]
        with pytest.raises(requests.ConnectionError):
            session.post(emu.url + "createItem?name=x", data=b"<project/>", headers=XML, timeout=5)
        assert emu.jobs() == ["x"]  # handled although unanswered
        lost = emu.request_log[-1]
        assert (lost.method, lost.path, lost.status, lost.write, lost.fault) == (
            "POST", "/createItem", None, True, "lost")
        # The retry meets the first write: Jenkins's "already exists" (ItemGroupMixIn.createTopLevelItem,
        # hudson/model/ItemGroupMixIn.java:147-210; reference/jenkins-rest.md §2.2 step 5).
        again = session.post(emu.url + "createItem?name=x", data=b"<project/>", headers=XML, timeout=5)
        assert again.status_code == 400 and "already exists" in again.headers["X-Error"]
    with JenkinsEmulator(state_dir=tmp_path / "state") as emu:
        assert emu.jobs() == ["x"]  # and it was persisted


def test_lost_parses_with_limit_and_pattern() -> None:
    fault = Fault.parse("lost:1:x2@POST */doDelete")
    assert (fault.kind, fault.rate, fault.limit, fault.pattern) == ("lost", 1.0, 2, "POST */doDelete")


def test_lost_on_a_delete_then_the_retry_gets_404() -> None:
    with JenkinsEmulator(faults=[Fault("lost", rate=1, limit=1, pattern="POST */doDelete")]) as emu:
        session = requests.Session()
        session.headers["Jenkins-Crumb"] = session.get(emu.url + "crumbIssuer/api/json").json()["crumb"]
        session.post(emu.url + "createItem?name=x", data=b"<project/>", headers=XML).raise_for_status()
        with pytest.raises(requests.ConnectionError):
            session.post(emu.url + "job/x/doDelete", allow_redirects=False, timeout=5)
        assert emu.jobs() == []
        # AbstractItem.doDoDelete on a missing item: 404 (reference/jenkins-rest.md §2.5).
        assert session.post(emu.url + "job/x/doDelete", allow_redirects=False, timeout=5).status_code == 404
