"""A scoped update under faults: lost responses, a flaky or refusing crumb issuer, items created
behind the plan's back, a team folder that is not there. Each test asserts the exit status, the
report's counts and what the server holds afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.orchestration import update as update_module
from jjb_envdelivery.push.client import JenkinsClient, PushError
from jjb_envdelivery.testing.emulator_faults import Fault

from .conftest import TOKEN, USER, new_emulator, normal_xml, owner, write_conf

HINT = "the server refused the credentials (check the user and API token in the JJB ini)"



@pytest.fixture
def update(conf, small, tmp_path, capsys, summary):
    """`jjb-envdelivery update` for a scope: (exit code, stdout + stderr, the scope's counts)."""

    def run(scope: str, *extra: str, conf_path: Path | None = None) -> tuple[int, str, dict]:
        code = main(["update", "--scope", scope, "--org-file", str(small / "delivery.yaml"),
                     "--conf", str(conf_path or conf), "--cache-dir", str(tmp_path / "cache"), *extra])
        out = capsys.readouterr()
        text = out.out + out.err
        try:
            row = summary(out.out).get(scope, {})
        except AssertionError:
            row = {}
        return code, text, row

    return run


def posts(emu, suffix: str) -> list:
    return [r for r in emu.request_log if r.method == "POST" and r.path.endswith(suffix)]


def server_state(emu) -> dict:
    """Every item's and top-level view's configuration, by content (not Jenkins's own view "all")."""
    state = {name: normal_xml(emu.job_config(name)) for name in emu.jobs()}
    state.update({f"view:{name}": normal_xml(emu.view_config(name)) for name in emu.views() if name != "all"})
    return state


def fault_free(small: Path, tmp_path: Path, *scopes: str) -> dict:
    """The server state a fault-free push of `scopes` gives, on a server of its own."""
    with new_emulator() as clean:
        conf = write_conf(clean, tmp_path / "clean.ini")
        for scope in scopes:
            assert main(["update", "--scope", scope, "--org-file", str(small / "delivery.yaml"),
                         "--conf", str(conf), "--cache-dir", str(tmp_path / "clean-cache")]) == 0
        return server_state(clean)


# --- lost responses: the retry meets the first attempt's write (point 3) ------------------------


def test_a_delete_whose_response_was_lost_is_deleted(emu, update, small):
    """The retried doDelete answers 404 (AbstractItem.doDoDelete, hudson/model/AbstractItem.java:701-742;
    reference/jenkins-rest.md §2.5): the first attempt deleted it, so the delete succeeded."""
    update("root")
    update("payments")
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("{release}-lint", "{release}-check"))
    emu.faults.faults.append(Fault("lost", rate=1, limit=1, pattern="POST */doDelete"))
    emu.clear_log()
    code, out, row = update("payments")
    assert code == 0, out
    assert row["created"] == 2 and row["deleted"] == 2 and row["failed"] == 0
    assert [r.status for r in posts(emu, "/doDelete")] == [None, 404, 302]  # lost, retried, the other
    assert not [n for n in emu.jobs() if n.endswith("-lint")]


def test_a_create_whose_response_was_lost_is_created_once(emu, update, small, tmp_path):
    """The retried createItem answers 400 "already exists" (ItemGroupMixIn.createTopLevelItem,
    hudson/model/ItemGroupMixIn.java:147-210; reference/jenkins-rest.md §2.2): the item is the first
    attempt's, counted created and not posted again."""
    update("root")
    emu.faults.faults.append(Fault("lost", rate=1, limit=1, pattern="POST /job/payments/createItem"))
    emu.clear_log()
    code, out, row = update("payments")
    assert code == 0, out
    assert (row["created"], row["changed"], row["failed"]) == (6, 0, 0)
    assert [r.status for r in posts(emu, "/createItem")].count(400) == 1
    assert posts(emu, "/config.xml") == []  # no reconfigure of what the lost attempt wrote
    assert server_state(emu) == fault_free(small, tmp_path, "root", "payments")


def test_a_create_view_whose_response_was_lost_succeeds(emu, update, small, tmp_path):
    """createView of an existing view answers 400 'A view already exists with the name "…"'
    (View.create, hudson/model/View.java:1155-1205; reference/jenkins-rest.md §2.8): the view is
    reconfigured with the desired XML and counted created, as the lost attempt made it."""
    emu.faults.faults.append(Fault("lost", rate=1, limit=1, pattern="POST /createView"))
    code, out, row = update("root")
    assert code == 0, out
    assert row["created"] == len(server_state(emu)) and row["failed"] == 0 and row["changed"] == 0
    statuses = [r.status for r in posts(emu, "/createView")]
    assert statuses.count(None) == 1 and statuses.count(400) == 1
    assert server_state(emu) == fault_free(small, tmp_path, "root")


# --- created by someone else after the plan (point 3) -------------------------------------------


def _create_before_apply(monkeypatch, rest, emu, name: str, description: str) -> None:
    """Create job `name` after the plan listed the server and before the first write."""
    real = update_module.apply_plan

    def late(plan, *args, **kwargs):
        folder, _, short = name.rpartition("/")
        xml = f"<project><description>{description}</description><builders/></project>"
        rest.post(f"{emu.url}job/{folder}/createItem?name={short}", data=xml,
                  headers={"Content-Type": "text/xml"}).raise_for_status()
        return real(plan, *args, **kwargs)

    monkeypatch.setattr(update_module, "apply_plan", late)


def test_an_item_another_scope_created_since_the_plan_is_not_overwritten(emu, update, rest, monkeypatch):
    update("root")
    victim = "payments/billing-current-lint"
    _create_before_apply(monkeypatch, rest, emu, victim, "theirs&lt;!-- jjb-envdelivery owner: web --&gt;")
    code, out, row = update("payments")
    assert code == 1
    assert (row["created"], row["changed"], row["failed"]) == (5, 0, 1)
    assert f"failed {victim}: created by someone else since the plan (owner web)" in out
    assert owner(emu, victim) == "web" and "theirs" in emu.job_config(victim)


def test_an_unowned_item_created_since_the_plan_is_not_overwritten(emu, update, rest, monkeypatch):
    update("root")
    victim = "payments/billing-current-lint"
    _create_before_apply(monkeypatch, rest, emu, victim, "made by hand")
    code, out, row = update("payments")
    assert code == 1 and row["failed"] == 1
    assert f"failed {victim}: created by someone else since the plan (owner none" in out
    assert "made by hand" in emu.job_config(victim)


def test_an_item_a_second_run_of_the_scope_created_is_changed(emu, update, rest, monkeypatch, small, tmp_path):
    """A second agent pushing the same scope: the item carries our mark, so it is reconfigured,
    and reported changed, not created."""
    update("root")
    victim = "payments/billing-current-lint"
    _create_before_apply(monkeypatch, rest, emu, victim, "older&lt;!-- jjb-envdelivery owner: payments --&gt;")
    code, out, row = update("payments")
    assert code == 0, out
    assert (row["created"], row["changed"], row["failed"]) == (5, 1, 0)
    monkeypatch.undo()  # the fault-free push below creates nothing behind its back
    assert server_state(emu) == fault_free(small, tmp_path, "root", "payments")


# --- the crumb is retried like every request (point 2) ------------------------------------------


def test_a_503_from_the_crumb_issuer_is_retried(emu, update, small, tmp_path):
    emu.faults.faults.append(Fault("503", rate=1, limit=2, pattern="GET /crumbIssuer/api/json"))
    code, out, row = update("root")
    assert code == 0, out
    assert row["created"] == len(server_state(emu)) and row["failed"] == 0 and "Traceback" not in out
    assert [r.status for r in emu.request_log if r.path == "/crumbIssuer/api/json"] == [503, 503, 200]
    assert server_state(emu) == fault_free(small, tmp_path, "root")


def test_a_stalled_crumb_issuer_times_out_and_is_retried(emu, update, conf):
    conf.write_text(conf.read_text().replace("[jenkins]\n", "[jenkins]\ntimeout=0.5\n"))
    stall = Fault("stall", rate=1, seconds=5, limit=1, pattern="GET /crumbIssuer/api/json")
    emu.faults.faults.append(stall)
    code, out, row = update("root")
    assert code == 0, out
    assert stall.fired == 1 and row["failed"] == 0 and row["created"] == len(server_state(emu))


def test_refused_credentials_say_so_in_one_line(emu, update, conf, tmp_path):
    """A wrong API token: 401 on the crumb GET (BasicHeaderProcessor; reference/jenkins-rest.md §3)."""
    wrong = tmp_path / "wrong.ini"
    wrong.write_text(conf.read_text().replace(f"password={TOKEN}", "password=not-the-token"))
    code, out, row = update("root", conf_path=wrong)
    assert code != 0
    assert f"GET crumbIssuer/api/json: 401 Unauthorized: {HINT}" in out
    assert "Traceback" not in out and emu.jobs() == []
    with pytest.raises(PushError) as raised:
        JenkinsClient(emu.url, USER, "not-the-token", timeout=5, backoff=0).send("GET", "api/json")
    assert raised.value.status == 401 and HINT in str(raised.value)


def test_a_403_on_a_write_carries_the_hint(emu, update):
    update("root")
    emu.faults.faults.append(Fault("403", rate=1, pattern="POST /job/payments/createItem"))
    code, out, row = update("payments")
    assert code == 1 and row["failed"] == 6 and row["created"] == 0
    assert f"POST job/payments/createItem?name=billing-current-lint: 403 Forbidden: {HINT}" in out
    assert [n for n in emu.jobs() if n.startswith("payments/")] == []


def test_the_crumb_is_fetched_once_by_concurrent_workers(emu):
    """The crumb GET is slow, so every worker asks for one while it is under way: one request."""
    emu.faults.faults.append(Fault("latency", rate=1, seconds=0.3, pattern="GET /crumbIssuer/api/json"))
    client = JenkinsClient(emu.url, USER, TOKEN, timeout=10)
    barrier = threading.Barrier(8)
    errors = []

    def work():
        barrier.wait()
        try:
            client.send("GET", "api/json")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r.path for r in emu.request_log].count("/crumbIssuer/api/json") == 1
    assert [r.path for r in emu.request_log].count("/api/json") == 8


# --- a team update on a server without its folder (point 6) -------------------------------------

MISSING = "folder payments does not exist on the server: run the root update first (it creates the project folders)"


def test_a_team_update_without_its_folder_says_so_once_and_sends_nothing(emu, update):
    code, out, row = update("payments")
    assert code == 1
    assert (row["created"], row["failed"]) == (0, 6)
    assert out.count(MISSING) == 1
    assert "failed 6 items (" in out
    assert posts(emu, "/createItem") == [] and emu.jobs() == []


def test_without_a_listing_the_first_404_stops_the_rest(emu, update, monkeypatch):
    """When the client cannot tell from a listing (known_items None), the first createItem 404
    (reference/jenkins-rest.md §2.2: missing parent) decides for the others."""
    real = JenkinsClient.inventory

    def unknown(self):
        items = real(self)
        self.known_items = None
        return items

    monkeypatch.setattr(JenkinsClient, "inventory", unknown)
    code, out, row = update("payments", "--workers", "1")
    assert code == 1 and (row["created"], row["failed"]) == (0, 6)
    assert out.count(MISSING) == 1
    assert [r.status for r in posts(emu, "/createItem")] == [404]


# --- progress names what it counts (point 5) ----------------------------------------------------


def test_progress_of_a_run_with_deletions_says_written(emu, update, small):
    update("root")
    update("payments")
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("{release}-lint", "{release}-check"))
    emu.faults.faults.append(Fault("lost", rate=1, limit=1, pattern="POST */doDelete"))
    code, out, row = update("payments")
    assert code == 0 and row["deleted"] == 2
    assert "[4/4] written" in out and "pushed," not in out


def test_without_csrf_the_crumb_issuer_404_means_no_crumb():
    """CSRF protection off: crumbIssuer is 404 (Jenkins.java:4061-4064; reference/jenkins-rest.md
    §2.9), once a 503 is retried; asked no more, and no request carries a crumb."""
    from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

    with JenkinsEmulator(users={USER: "pw"}, tokens={USER: TOKEN}, csrf=False,
                         faults=[Fault("503", rate=1, limit=1, pattern="GET /crumbIssuer/api/json")]) as plain:
        client = JenkinsClient(plain.url, USER, TOKEN, timeout=5, backoff=0.01)
        client.create_item("x", b"<project/>")
        client.create_item("y", b"<project/>")
        assert client.crumb is False and plain.jobs() == ["x", "y"]
        assert [r.status for r in plain.request_log] == [503, 404, 200, 200]


@pytest.mark.parametrize("marked", [True, False], ids=["by-this-scope", "by-no-updater"])
def test_a_view_someone_created_since_the_plan_is_judged_by_its_owner_mark(emu, update, rest, monkeypatch,
                                                                           small, tmp_path, marked):
    """As for jobs: a view that appeared after the plan is reconfigured (changed) only when it
    carries this scope's owner mark (a second run of the same scope); otherwise it is left as it is
    and the action fails."""
    import xml.etree.ElementTree as ET

    real = update_module.apply_plan

    def late(plan, *args, **kwargs):
        desired = next(a.desired for a in plan.actions if a.name == "pipeline-current")
        tag = ET.fromstring(desired.xml).tag  # the same view class (else config.xml POST is 500)
        mark = "<description>&lt;!-- jjb-envdelivery owner: root --&gt;</description>" if marked else ""
        rest.post(f"{emu.url}createView?name=pipeline-current", data=f"<{tag}>{mark}</{tag}>",
                  headers={"Content-Type": "text/xml"}).raise_for_status()
        return real(plan, *args, **kwargs)

    monkeypatch.setattr(update_module, "apply_plan", late)
    code, out, row = update("root")
    monkeypatch.undo()
    if marked:
        assert code == 0, out
        assert row["changed"] == 1 and row["failed"] == 0 and row["created"] == len(server_state(emu)) - 1
        assert server_state(emu) == fault_free(small, tmp_path, "root")
    else:
        assert code == 1 and row["failed"] == 1, out
        assert "created by someone else since the plan (owner none: no updater owns it)" in out
        assert "jjb-envdelivery owner" not in emu.view_config("pipeline-current")
