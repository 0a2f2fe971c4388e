"""The scoped update's rules, on the small organisation: requests per change, retries, failures
that a rerun repairs, refusals, ownership and stale items."""

from __future__ import annotations

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.testing.emulator_faults import Fault


@pytest.fixture
def update(conf, small, tmp_path, capsys, summary):
    """Run `jjb-envdelivery update` for a scope; returns (exit code, stdout + stderr, the
    scope's row of the summary table as "1 created, 0 changed, ..." text)."""

    def run(scope: str, *extra: str, org_file: bool = True) -> tuple[int, str, str]:
        source = ["--org-file", str(small / "delivery.yaml")] if org_file else []
        code = main(["update", "--scope", scope, *source, "--conf", str(conf),
                     "--cache-dir", str(tmp_path / "cache"), *extra])
        out = capsys.readouterr()
        text = out.out + out.err
        row = summary(out.out).get(scope, {})
        return code, text, ", ".join(f"{n} {k}" for k, n in row.items())

    return run


def writes(emu):
    return [(r.method, r.path) for r in emu.request_log if r.write]


def test_requests_are_a_constant_few_plus_one_per_change(emu, update):
    assert update("root")[0] == 0
    emu.clear_log()
    code, out, row = update("payments")
    assert code == 0 and "6 created, 0 changed, 0 deleted, 0 unchanged" in row
    # The crumb, the one listing with descriptions, then one POST per new job.
    assert [(r.method, r.path) for r in emu.request_log] == [
        ("GET", "/crumbIssuer/api/json"), ("GET", "/api/json")] + [("POST", "/job/payments/createItem")] * 6
    emu.clear_log()
    code, out, row = update("payments")
    assert "0 created, 0 changed, 0 deleted, 6 unchanged" in row
    assert [(r.method, r.path) for r in emu.request_log] == [("GET", "/crumbIssuer/api/json"), ("GET", "/api/json")]


def test_changed_job_costs_one_request(emu, update, small):
    update("root")
    update("payments")
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("make test", "make check"))
    emu.clear_log()
    code, out, row = update("payments")
    assert "0 created, 2 changed" in row
    assert sorted(writes(emu)) == [("POST", "/job/payments/job/billing-current-lint/config.xml"),
                                   ("POST", "/job/payments/job/billing-upcoming-lint/config.xml")]


def test_transient_failures_are_retried(emu, update):
    update("root")
    emu.faults.faults.append(Fault("503", rate=1.0, pattern="POST /job/payments/createItem", limit=2))
    code, out, row = update("payments")
    assert code == 0 and "6 created" in row
    statuses = [r.status for r in emu.request_log if r.path == "/job/payments/createItem"]
    assert statuses.count(503) == 2 and statuses.count(200) == 6


def test_failed_push_is_not_cached_and_a_rerun_converges(emu, update):
    update("root")
    emu.faults.faults.append(Fault("500", rate=1.0, pattern="POST /job/payments/createItem", limit=1))
    code, out, row = update("payments")
    assert code == 1
    assert "5 created, 0 changed, 0 deleted, 0 unchanged, 0 kept, 0 refused, 1 failed" in row
    assert "failed payments/billing-" in out and "500" in out
    emu.clear_log()
    code, out, row = update("payments")
    assert code == 0 and "1 created, 0 changed, 0 deleted, 5 unchanged" in row
    assert len(writes(emu)) == 1


def test_an_empty_scope_does_not_delete_everything_unless_told(emu, update, small):
    update("root")
    update("web")
    (small / "teams/web/jenkins/jobs.yaml").write_text("[]\n")
    # As the child updater runs it: the root baked namespace and release lines into the command.
    child = ("--namespace", "prefix:web-", "--release", "current=release/1", "--release", "upcoming=main",
             "--root-folder", "delivery", str(small / "teams/web/jenkins"))
    emu.clear_log()
    code, out, row = update("web", *child, org_file=False)
    assert code == 1 and "the scope generated nothing" in out and "--allow-empty" in out
    assert writes(emu) == []
    code, out, row = update("web", "--allow-empty", *child, org_file=False)
    assert code == 0 and "3 deleted" in row
    assert not [name for name in emu.jobs() if name.startswith("web-")]


def test_unowned_item_is_refused_until_adopted(emu, update, rest, small):
    update("root")
    hand_made = "<project><description>made by hand</description><builders/></project>"
    rest.post(f"{emu.url}job/payments/createItem?name=billing-current-lint", data=hand_made,
              headers={"Content-Type": "text/xml"}).raise_for_status()
    emu.clear_log()
    code, out, row = update("payments")
    assert code == 1
    assert "job payments/billing-current-lint: exists and no updater owns it; pass --adopt to take it over " \
           f"(defined at {small / 'teams/payments/jenkins/jobs.yaml'}:9)" in out
    assert writes(emu) == []
    code, out, row = update("payments", "--adopt")
    assert code == 0 and "5 created, 1 changed" in row


def test_items_of_other_scopes_are_refused(emu, update, rest):
    update("root")
    theirs = "<project><description>x&lt;!-- jjb-envdelivery owner: web --&gt;</description></project>"
    rest.post(f"{emu.url}job/payments/createItem?name=billing-upcoming-lint", data=theirs,
              headers={"Content-Type": "text/xml"}).raise_for_status()
    code, out, row = update("payments", "--adopt")
    assert code == 1 and "job payments/billing-upcoming-lint: owned by scope 'web'" in out


def test_stale_items_are_deleted_only_with_our_mark(emu, update, small, conf):
    update("root")
    update("payments")
    (small / "teams/payments/jenkins/jobs.yaml").write_text(
        (small / "teams/payments/jenkins/jobs.yaml").read_text().replace("{release}-lint", "{release}-check"))
    emu.clear_log()
    code, out, row = update("payments")
    assert code == 0 and "2 created, 0 changed, 2 deleted" in row
    assert sorted(n for n in emu.jobs() if n.startswith("payments/") and n.endswith(("-lint", "-check"))) == [
        "payments/billing-current-check", "payments/billing-upcoming-check"]


def test_stale_folder_of_a_removed_project_goes_with_its_jobs(emu, update, small):
    """Issue finding 2: the folder used to be kept ("stale, but it holds 6 item(s) other scopes
    own") and the removed team's jobs kept running; the root now retires the scope."""
    update("root")
    update("payments")
    text = (small / "delivery.yaml").read_text()
    start = text.index("  - name: payments")
    end = text.index("  - name: web")
    (small / "delivery.yaml").write_text(text[:start] + text[end:].replace(
        "services: [billing, ui]", "services: [ui]").replace(
        "provisioning-tool: {service: billing", "provisioning-tool: {service: ui"))
    web = small / "teams/web/jenkins/jobs.yaml"
    # The tool's CI jobs must let the environment jobs copy from them (copyartifact's grant).
    grant = "    properties:\n      - copyartifact: {projects: '/delivery/*'}\n"
    web.write_text(web.read_text().replace("name: web-ui-current-ci\n    disabled: false\n",
                                           "name: web-ui-current-ci\n    disabled: false\n" + grant)
                   + "\n- job:\n    name: web-ui-upcoming-ci\n    disabled: false\n" + grant)
    emu.clear_log()
    code, out, row = update("root")
    assert code == 0
    assert "kept folder payments" not in out
    assert ("POST", "/job/payments/doDelete") in writes(emu)  # its 6 jobs go with it
    assert ("POST", "/job/delivery/job/updater-payments/doDelete") in writes(emu)
    assert not any(n == "payments" or n.startswith("payments/") for n in emu.jobs())


def test_deleted_items_leave_the_cache(emu, update, small, tmp_path):
    import json

    update("root")
    update("web")
    cache_file = next((tmp_path / "cache").rglob("web.json"))
    assert "web-ui-current-ci" in json.loads(cache_file.read_text())
    jobs = small / "teams/web/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("name: web-ui-current-ci", "name: web-ui-upcoming-ci"))
    assert update("web")[0] == 0
    assert sorted(json.loads(cache_file.read_text())) == [
        "web-ui-current-package", "web-ui-upcoming-ci", "web-ui-upcoming-package"]


def test_a_stalled_listing_times_out_and_is_retried(emu, conf, update):
    conf.write_text(conf.read_text().replace("[jenkins]\n", "[jenkins]\ntimeout=0.5\n"))
    update("root")
    stall = Fault("stall", rate=1.0, seconds=5, pattern="GET /api/json", limit=1)
    emu.faults.faults.append(stall)
    code, out, row = update("web")
    assert code == 0 and "3 created" in row
    assert stall.fired == 1  # the first listing hung; the client gave up after 0.5 s and asked again
