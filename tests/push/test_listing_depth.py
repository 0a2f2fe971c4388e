"""Issue 14: the server listing sees every folder level, however deep.

One listing request names LIST_DEPTH levels of items; a folder at the last level that has
children is listed by a request of its own (``job/…/api/json?tree=jobs[…]``). Before, such a
folder came back without ``jobs``, was taken for a job (every update then refused it: "exists
as a job ... cannot change type") and the items below it were invisible to stale deletion.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace
from xml.sax.saxutils import escape

import pytest

from jjb_envdelivery import ownership
from jjb_envdelivery.jjb.rendered import ItemKind
from jjb_envdelivery.model.organisation import Namespace
from jjb_envdelivery.push import client as client_module
from jjb_envdelivery.push.client import LIST_DEPTH, MAX_LIST_DEPTH, JenkinsClient, PushError
from jjb_envdelivery.push.plan import DELETE, REFUSE, DesiredItem, make_plan
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

USER, TOKEN = "lister", "0123456789abcdef0123456789abcdef"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
SCOPE = "team"


def folder_xml(owner: str | None = None) -> bytes:
    description = escape(ownership.mark(owner)) if owner else ""
    return (f"<{FOLDER_CLASS}><actions/><description>{description}</description><properties/>"
            f"</{FOLDER_CLASS}>").encode()


def job_xml(owner: str | None = None) -> bytes:
    description = escape(ownership.mark(owner)) if owner else ""
    return f"<project><description>{description}</description><disabled>false</disabled></project>".encode()


def chain(emu: JenkinsEmulator, top: str, depth: int, owner: str | None = None) -> str:
    """Folders `top`/l2/…/l<depth-1> with a job at level `depth`; returns the job's full name.
    With an `owner`, everything below `top` is its own; `top`, the namespace folder, is root's."""
    with emu.lock:
        group = emu.state.root.get_item(top) or emu.state.create_item(
            emu.state.root, top, folder_xml("root" if owner else None))
        names = [top]
        for level in range(2, depth):
            group = emu.state.create_item(group, f"l{level}", folder_xml(owner))
            names.append(f"l{level}")
        emu.state.create_item(group, "deep", job_xml(owner))
    return "/".join(names + ["deep"])


def server_kinds(emu: JenkinsEmulator) -> dict[str, ItemKind]:
    with emu.lock:
        return {i.full_name: ItemKind.FOLDER if i.is_folder else ItemKind.JOB for i in emu.state.all_items()}


def listed_kinds(inventory) -> dict[str, ItemKind]:
    return {s.name: s.kind for s in inventory.values() if s.kind != ItemKind.VIEW}


def listing_paths(emu: JenkinsEmulator) -> list[str]:
    return [r.path for r in emu.request_log if r.method == "GET" and r.path.endswith("/api/json")
            and r.query.startswith("tree=jobs[")]


@pytest.fixture
def emu():
    with JenkinsEmulator(users={USER: "pw"}, tokens={USER: TOKEN}) as server:
        yield server


@pytest.fixture
def client(emu) -> JenkinsClient:
    return JenkinsClient(emu.url, USER, TOKEN, attempts=1)


def test_folders_deeper_than_one_listing_are_folders_with_their_children(emu, client):
    job = chain(emu, SCOPE, 12)
    with emu.lock:  # a folder at level 12 holding a job at level 13, beside the deep job
        parent = emu.state.root
        for part in job.split("/")[:-1]:
            parent = parent.get_item(part)
        leaf = emu.state.create_item(parent, "leaf", folder_xml())
        emu.state.create_item(leaf, "deeper", job_xml())
    kinds = listed_kinds(client.inventory())
    assert kinds == server_kinds(emu)
    assert kinds[job.rpartition("/")[0]] == ItemKind.FOLDER  # level 11: listed as a job before
    assert kinds[f"{job.rpartition('/')[0]}/leaf/deeper"] == ItemKind.JOB


def owned_items(emu: JenkinsEmulator, client: JenkinsClient, exclude: str = "") -> list[DesiredItem]:
    """What the scope would render: every item inside its folder, less `exclude`."""
    return [DesiredItem.from_stored_xml(s.name, emu.job_config(s.name).encode(), s.kind)
            for s in client.inventory().values()
            if s.kind != ItemKind.VIEW and s.name.startswith(f"{SCOPE}/") and s.name != exclude]


def test_stale_deletion_sees_a_job_at_depth_12(emu, client):
    job = chain(emu, SCOPE, 12, owner=SCOPE)
    desired = owned_items(emu, client, exclude=job)
    plan = make_plan(SCOPE, Namespace.of_job_prefix(f"{SCOPE}/"), desired, client.inventory(), {})
    assert [(a.kind, a.name) for a in plan.of(DELETE)] == [(DELETE, job)]
    assert plan.refused == []


def test_update_of_a_scope_owning_a_deep_folder_plans_no_refusal(emu, client):
    chain(emu, SCOPE, 14, owner=SCOPE)
    desired = owned_items(emu, client)
    assert len(desired) == 13
    plan = make_plan(SCOPE, Namespace.of_job_prefix(f"{SCOPE}/"), desired, client.inventory(), {})
    assert [a for a in plan.actions if a.kind == REFUSE] == []
    assert plan.of(DELETE) == []


@pytest.mark.parametrize("depth", [LIST_DEPTH + 1, LIST_DEPTH + 2, 2 * LIST_DEPTH, 2 * LIST_DEPTH + 1, 35])
def test_listing_requests_grow_with_depth(emu, client, depth):
    job = chain(emu, SCOPE, depth)
    emu.clear_log()
    kinds = listed_kinds(client.inventory())
    assert kinds == server_kinds(emu) and kinds[job] == ItemKind.JOB
    paths = listing_paths(emu)
    assert len(paths) == math.ceil(depth / LIST_DEPTH)
    # each further request lists the subtree of the folder at the previous request's last level
    parts = job.split("/")
    assert paths[1:] == ["/" + "".join(f"job/{p}/" for p in parts[:n * LIST_DEPTH]) + "api/json"
                         for n in range(1, len(paths))]


def test_listing_requests_do_not_grow_with_shallow_or_empty_folders(emu, client):
    """Thirty teams with folders two levels deep, an empty folder at the last listed level and
    one deep chain: two requests, not one per folder."""
    with emu.lock:
        root = emu.state.root
        for n in range(30):
            top = emu.state.create_item(root, f"team{n}", folder_xml())
            sub = emu.state.create_item(top, "sub", folder_xml())
            emu.state.create_item(sub, "job", job_xml())
            emu.state.create_item(top, "empty", folder_xml())
    chain(emu, "edge", LIST_DEPTH)
    with emu.lock:  # an empty folder exactly at the last listed level needs no request either
        parent = emu.state.root
        for part in ["edge"] + [f"l{level}" for level in range(2, LIST_DEPTH - 1)]:
            parent = parent.get_item(part)
        emu.state.create_item(parent, "empty-at-last-level", folder_xml())
    deep = chain(emu, "deep", LIST_DEPTH + 2)
    emu.clear_log()
    kinds = listed_kinds(client.inventory())
    assert kinds == server_kinds(emu)
    # one request for the root, one for the only folder with children past the last level
    assert listing_paths(emu) == ["/api/json", "/" + "".join(f"job/{p}/" for p in deep.split("/")[:LIST_DEPTH])
                                  + "api/json"]


def test_nesting_past_the_cap_is_a_one_line_error(emu, client):
    job = chain(emu, SCOPE, MAX_LIST_DEPTH)
    assert listed_kinds(client.inventory())[job] == ItemKind.JOB
    with emu.lock:  # one level more: a folder at level MAX_LIST_DEPTH with a child
        parent = emu.state.root
        for part in job.split("/")[:-1]:
            parent = parent.get_item(part)
        emu.state.create_item(emu.state.create_item(parent, "last", folder_xml()), "too-deep", job_xml())
    with pytest.raises(PushError) as raised:
        client.inventory()
    message = str(raised.value)
    assert "\n" not in message and f"more than {MAX_LIST_DEPTH} folder levels" in message
    assert message.startswith(f"listing {SCOPE}/l2/l3/…(") and message.split(":")[0].endswith("/l99/last")


def test_item_groups_are_folders_by_class_or_by_their_jobs_list(monkeypatch):
    """Organisation folders and multibranch projects are ItemGroups whose children Jenkins makes
    (indexing, scans): to an updater they are jobs it pushes whole, and their children are not
    listed. Any other entry with a ``jobs`` list is a folder, whose unnamed children are listed
    further; a Folder whose entry lacks ``jobs`` is still a folder (by ``_class``)."""
    org = "jenkins.branch.OrganizationFolder"
    multibranch = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    pipeline = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    answers = {
        "api/json": {"_class": "hudson.model.Hudson", "jobs": [
            {"_class": org, "name": "org", "description": None, "jobs": [{"_class": multibranch}]},
            {"_class": FOLDER_CLASS, "name": "bare", "description": "d"},
            {"_class": pipeline, "name": "solo", "description": None}]},
        "job/org/api/json": {"_class": org, "jobs": [
            {"_class": multibranch, "name": "repo", "description": None, "jobs": [
                {"_class": pipeline, "name": "main", "description": None}]}]},
        "job/bare/api/json": {"_class": FOLDER_CLASS, "jobs": []},
    }
    asked = []

    def send(self, method, path, *args, **kwargs):
        asked.append(path.partition("?")[0])
        return SimpleNamespace(text=json.dumps(answers[asked[-1]]))

    monkeypatch.setattr(client_module.JenkinsClient, "send", send)
    inventory = JenkinsClient("http://jenkins.invalid/", None, None).inventory()
    assert listed_kinds(inventory) == {"org": ItemKind.JOB, "bare": ItemKind.FOLDER, "solo": ItemKind.JOB}
    assert inventory["org"].cls == org and inventory["solo"].cls == pipeline
    assert asked == ["api/json", "job/bare/api/json"]
    # An ItemGroup of a class nobody told the client about is still a folder by its jobs list.
    answers["api/json"]["jobs"].append({"_class": "com.example.Group", "name": "other", "jobs": [
        {"_class": pipeline, "name": "x", "description": None}]})
    asked.clear()
    inventory = JenkinsClient("http://jenkins.invalid/", None, None).inventory()
    assert inventory["other"].kind == ItemKind.FOLDER and inventory["other/x"].kind == ItemKind.JOB
