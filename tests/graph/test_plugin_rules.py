"""The graph checks know the plugins' rules: job names resolved as each consumer resolves them, and
artifact copies checked against copyartifact's permission property, with the cases of the plugins'
and core's own tests turned into graphs of hand-written config.xml.

Sources, at the commits of shared/reference/jenkins-plugin-semantics.md §0:
- copyartifact-plugin @ 937817258df3: src/main/java/hudson/plugins/copyartifact/{CopyArtifact,
  CopyArtifactPermissionProperty}.java; tests under src/test/java/hudson/plugins/copyartifact/:
  CopyArtifactPermissionPropertyTest.java (PT below), CopyArtifactTest.java (CT),
  DownstreamBuildSelectorTest.java (DT).
- jenkinsci/jenkins @ ff9430ee1dc6: core/src/main/java/jenkins/model/Jenkins.java (getItem),
  hudson/model/ListView.java; tests test/src/test/java/jenkins/triggers/ReverseBuildTriggerTest.java
  (RT), test/src/test/java/hudson/model/ListViewTest.java (LT).
- delivery-pipeline-plugin @ 61d59b556062: src/main/java/se/diabol/jenkins/pipeline/DeliveryPipelineView.java.
"""

from __future__ import annotations

import pytest

from jjb_envdelivery.graph import check, check_or_raise, check_warnings
from jjb_envdelivery.graph.checks import GraphCheckError

from .conftest import FIXTURES, graph_of_rendered, graph_of_xml

GRANTS = "projectNameList (hudson.plugins.copyartifact.CopyArtifactPermissionProperty)"
COPY = "project (hudson.plugins.copyartifact.CopyArtifact)"
DPV = "se.diabol.jenkins.pipeline.DeliveryPipelineView"


def job(*, copies: tuple[str, ...] = (), grants: tuple[str, ...] | None = None, reverse: str = "",
        children: str = "", tag: str = "project") -> str:
    """A freestyle job (or `tag`) that starts on a timer, copies `copies`, grants `grants`
    (None: no CopyArtifactPermissionProperty), triggers on `reverse` and triggers `children`."""
    properties = ""
    if grants is not None:
        entries = "".join(f"<string>{g}</string>" for g in grants)
        properties = (f"<hudson.plugins.copyartifact.CopyArtifactPermissionProperty><projectNameList>{entries}"
                      "</projectNameList></hudson.plugins.copyartifact.CopyArtifactPermissionProperty>")
    steps = "".join(f"<hudson.plugins.copyartifact.CopyArtifact><project>{c}</project>"
                    "</hudson.plugins.copyartifact.CopyArtifact>" for c in copies)
    upstream = (f"<jenkins.triggers.ReverseBuildTrigger><upstreamProjects>{reverse}</upstreamProjects>"
                "</jenkins.triggers.ReverseBuildTrigger>") if reverse else ""
    downstream = f"<hudson.tasks.BuildTrigger><childProjects>{children}</childProjects></hudson.tasks.BuildTrigger>"
    return (f"<{tag}><properties>{properties}</properties><triggers><hudson.triggers.TimerTrigger><spec>@daily</spec>"
            f"</hudson.triggers.TimerTrigger>{upstream}</triggers><builders>{steps}</builders>"
            f"<publishers>{downstream if children else ''}</publishers></{tag}>")


def edges(graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in graph.edges}


# --- copy permission: PT testCanCopyArtifact (lines 165-226), in its order, then the forms that fail

@pytest.mark.parametrize("source, grants, copier", [
    ("copiee", ("copier1", "copier2"), "copier1"),  # PT:168-178, top level
    ("copiee", ("copier1", "copier2"), "copier2"),
    ("folder/sameCopiee", ("sameCopier",), "folder/sameCopier"),  # PT:182-188, same folder
    ("folder/sameCopiee", ("/folder/sameCopier",), "folder/sameCopier"),  # PT:190-194, absolute
    ("folder/parentCopiee", ("../parentCopier",), "parentCopier"),  # PT:197-203, copier in the parent
    ("folder/parentCopiee", ("/parentCopier",), "parentCopier"),  # PT:205-209
    ("childCopiee", ("folder/childCopier",), "folder/childCopier"),  # PT:212-218, copier in a child folder
    ("childCopiee", ("/folder/childCopier",), "folder/childCopier"),  # PT:220-224
    # PT testIsNameMatch (138-161): '*' is any characters, and it crosses folders
    ("folder/src", ("/folder/*",), "folder/dest"),
    ("folder/src", ("*",), "other/deep/dest"),
    ("folder/src", ("../other/*",), "other/deep/dest"),
])
def test_copies_the_plugin_permits(source, grants, copier):
    graph = graph_of_xml({source: job(grants=grants), copier: job(copies=("/" + source,))})
    assert (source, copier, "artifact") in edges(graph)
    assert check(graph) == []


@pytest.mark.parametrize("source, grants, copier, relative", [
    ("copiee", ("copier1", "copier2"), "copier3", "copier3"),  # PT:179
    # issue 13 defect 1: a folder job's grant written as the copier's bare full name
    ("folder/sameCopiee", ("folder/sameCopier",), "folder/sameCopier", "sameCopier"),
    ("team/app-ci", ("delivery/*",), "delivery/env-small-build", "../delivery/env-small-build"),
    # isNameMatch compares with String.equals: case matters (CopyArtifactPermissionProperty.java:122-124)
    ("folder/sameCopiee", ("/Folder/sameCopier", "SAMECOPIER"), "folder/sameCopier", "sameCopier"),
    # a relative grant is relative to the source's folder, not to the root
    ("folder/parentCopiee", ("parentCopier",), "parentCopier", "../parentCopier"),
    # XStream reads the list as written: no trimming (CopyArtifactPermissionProperty.java:62; only the
    # form's constructor trims, :83-93)
    ("copiee", (" copier1",), "copier1", "copier1"),
    # the wildcard must match the whole name
    ("folder/src", ("/folder/d*t",), "folder/dest2", "dest2"),
])
def test_copies_the_plugin_refuses(source, grants, copier, relative):
    graph = graph_of_xml({source: job(grants=grants), copier: job(copies=("/" + source,))})
    [problem] = check(graph)
    assert (problem.check, problem.level, problem.jobs, problem.field) == (
        "copy-permission", "error", (source, copier), GRANTS)
    entries = ", ".join(repr(g) for g in grants)
    assert f"no entry of CopyArtifactPermissionProperty.projectNameList ({entries}) matches {relative!r}" in (
        problem.message)
    assert problem.message.endswith(f"Fix: add {'/' + copier!r} (or {relative!r}) to the list")


def test_refused_copy_message_names_jobs_field_rule_and_fix():
    graph = graph_of_xml({
        "payments/billing-ci": job(grants=("payments/billing-package", "delivery/*")),
        "payments/billing-package": job(copies=("billing-ci",)),
    })
    assert [str(p) for p in check(graph)] == [
        f"payments/billing-ci: {GRANTS}: does not permit payments/billing-package to copy its artifacts "
        "(payments/billing-package's CopyArtifact project 'billing-ci'): no entry of "
        "CopyArtifactPermissionProperty.projectNameList ('payments/billing-package', 'delivery/*') matches "
        "'billing-package' (the copier's name relative to folder 'payments') or '/payments/billing-package' "
        "(whole names, case-sensitive, '*' any characters: CopyArtifactPermissionProperty.java:99-133); "
        "'payments/billing-package' matches its full name without the leading '/', which copyartifact never "
        "compares. On a secured Jenkins whose builds run as SYSTEM (no QueueItemAuthenticator), copyartifact in "
        "its production mode then allows the copy only if 'authenticated' may READ payments/billing-ci, else "
        "payments/billing-package fails with 'Unable to find project for artifact copy: billing-ci' "
        "(CopyArtifact.java:456-491, 580-617). Fix: add '/payments/billing-package' (or 'billing-package') to "
        "the list"]


def test_copy_from_a_job_without_the_property():
    # canCopyArtifact is false without the property (CopyArtifactPermissionProperty.java:142-148), so
    # as SYSTEM only READ for "authenticated" lets the copy through (CopyArtifact.java:599-612).
    graph = graph_of_xml({"folder/src": job(), "other/dest": job(copies=("../folder/src",))})
    assert [str(p) for p in check(graph)] == [
        f"folder/src: {GRANTS}: missing: nothing permits other/dest to copy its artifacts (other/dest's "
        "CopyArtifact project '../folder/src'): folder/src has no CopyArtifactPermissionProperty. On a secured "
        "Jenkins whose builds run as SYSTEM (no QueueItemAuthenticator), copyartifact in its production mode then "
        "allows the copy only if 'authenticated' may READ folder/src, else other/dest fails with 'Unable to find "
        "project for artifact copy: ../folder/src' (CopyArtifact.java:456-491, 580-617). Fix: give folder/src the "
        "property (JJB: properties: [copyartifact: {projects: ...}]) listing '/other/dest' (or '../other/dest', "
        "the copier's name relative to folder 'folder')"]


def test_copy_permission_fails_updates():
    graph = graph_of_xml({"src": job(grants=()), "dest": job(copies=("src",))})
    with pytest.raises(GraphCheckError) as caught:
        check_or_raise(graph)
    assert [p.check for p in caught.value.problems] == ["copy-permission"]
    assert "CopyArtifactPermissionProperty.projectNameList (none) matches 'dest'" in str(caught.value)


def test_one_problem_per_copier_and_source():
    graph = graph_of_xml({"src": job(grants=("x",)), "dest": job(copies=("src", "/src")), "x": job()})
    assert [p.jobs for p in check(graph)] == [("src", "dest")]


def test_dynamic_and_unresolved_copies_are_not_permission_problems():
    graph = graph_of_xml({"src": job(grants=()), "dest": job(copies=("$SOURCE", "gone"))})
    assert [p.check for p in check(graph)] == ["dangling"]


# --- the example before issue 13: rendered at commit adcb380 (tests/graph/fixtures/tiny-org-before-13)

def test_the_folder_teams_grants_before_issue_13_are_refused():
    graph = graph_of_rendered(FIXTURES / "tiny-org-before-13")
    problems = check(graph)
    assert [(p.check, p.jobs) for p in problems] == [
        ("copy-permission", ("payments/billing-current-ci", "delivery/env-custom-current")),
        ("copy-permission", ("payments/billing-current-ci", "delivery/env-small-current-build")),
        ("copy-permission", ("payments/billing-current-ci", "delivery/env-small-current-verify")),
        ("copy-permission", ("payments/billing-current-ci", "payments/billing-current-package")),
        ("copy-permission", ("payments/billing-current-package", "payments/billing-current-deliver")),
    ]
    # The prefix team's grants ('web-ui-current-package', 'delivery/*' from the top level) matched.
    assert not [p for p in problems if any(j.startswith("web-") for j in p.jobs)]
    assert [str(w) for w in check_warnings(graph) if w.check == "copy-grant"] == [
        f"payments/billing-current-ci: {GRANTS}: entry 'payments/billing-current-package' matches no job of any "
        "scope: copyartifact compares it with a copier's name relative to folder 'payments' and with '/' + its "
        "full name (CopyArtifactPermissionProperty.java:99-133), so it grants nothing; did you mean "
        "'/payments/billing-current-package'?",
        f"payments/billing-current-ci: {GRANTS}: entry 'delivery/*' matches no job of any scope: copyartifact "
        "compares it with a copier's name relative to folder 'payments' and with '/' + its full name "
        "(CopyArtifactPermissionProperty.java:99-133), so it grants nothing; did you mean '/delivery/*'?",
        f"payments/billing-current-package: {GRANTS}: entry 'payments/billing-current-deliver' matches no job of "
        "any scope: copyartifact compares it with a copier's name relative to folder 'payments' and with '/' + "
        "its full name (CopyArtifactPermissionProperty.java:99-133), so it grants nothing; did you mean "
        "'/payments/billing-current-deliver'?",
    ]


# --- grants to nothing (warnings)

def test_grants_that_match_no_job_are_warnings():
    graph = graph_of_xml({
        "folder/src": job(grants=("/folder/dest", "folder/dest", "ghost*", "../other/*")),
        "folder/dest": job(copies=("src",)),
        "other/x": job(),
    })
    assert check(graph) == []
    warnings = check_warnings(graph)
    assert [(w.check, w.level, w.jobs, w.field) for w in warnings] == [
        ("copy-grant", "warning", ("folder/src",), GRANTS)] * 2
    assert [w.message.split(": ", 2)[2] for w in warnings] == [
        "entry 'folder/dest' matches no job of any scope: copyartifact compares it with a copier's name relative "
        "to folder 'folder' and with '/' + its full name (CopyArtifactPermissionProperty.java:99-133), so it "
        "grants nothing; did you mean '/folder/dest'?",
        "entry 'ghost*' matches no job of any scope: copyartifact compares it with a copier's name relative to "
        "folder 'folder' and with '/' + its full name (CopyArtifactPermissionProperty.java:99-133), so it grants "
        "nothing",
    ]


def test_grants_into_a_project_not_rendered_here_are_not_judged():
    # The tiny org's project web (namespace prefix web-) is left out of the render.
    graph = graph_of_xml({"src": job(grants=("/web-later-ci", "web-*", "/nowhere"))}, unrendered=("web",))
    assert [w.message.split(": ", 2)[2].split(" matches")[0] for w in check_warnings(graph)] == ["entry '/nowhere'"]


# --- names resolved as Jenkins.getItem resolves them (Jenkins.java:3050-3092)

@pytest.mark.parametrize("source, copier, written, fallback", [
    ("folder/foo", "test0", "folder/foo", False),  # CT testRelative, 1477-1490
    ("folder/foo", "test0", "/folder/foo", False),  # CT testAbsolute, 1492-1505
    # CT testMostlyAbsolute, 1507-1525: "folder/foo" from other/bar, "for backward compatibility"
    ("folder/foo", "other/bar", "folder/foo", True),
    ("foo", "folder/bar", "/foo", False),  # CT testAbsoluteFromFolder, 1527-1541
    ("foo", "folder/bar", "../foo", False),  # CT testRelativeFromFolder, 1543-1557
    ("folder/src", "folder/dest", "src", False),  # CT testSameFolder, 1559-1579
    ("folder1/upstream", "folder2/downstream", "../folder1/upstream", False),  # DT:455-456
    ("folder2/downstream", "folder1/folder3/copier", "../../folder2/downstream", False),  # DT:489-490
    # Item maps ignore case (Jenkins.java:489 CASE_INSENSITIVE_ORDER; folders AbstractFolder.java:198)
    ("folder/foo", "test0", "FOLDER/Foo", False),
    ("folder/src", "folder/dest", "./SRC", False),
])
def test_copy_names_resolve_from_the_copiers_folder(source, copier, written, fallback):
    graph = graph_of_xml({source: job(grants=("*",)), copier: job(copies=(written,))})
    assert (source, copier, "artifact") in edges(graph)
    assert check(graph) == []
    warnings = check_warnings(graph)
    assert [w.check for w in warnings] == (["fallback-name"] if fallback else [])


def test_a_name_found_only_by_the_fallback_is_a_warning_with_both_fixed_forms():
    graph = graph_of_xml({"folder/foo": job(grants=("*",)), "other/bar": job(copies=("folder/foo",))})
    check_or_raise(graph)  # a warning does not fail an update
    assert [str(w) for w in check_warnings(graph)] == [
        f"other/bar: {COPY}: 'folder/foo' finds folder/foo only through Jenkins's fallback to the full name: "
        "relative to folder 'other' it means 'other/folder/foo', which does not exist (Jenkins.getItem, "
        "Jenkins.java:3050-3092). It works, but a rename or move in the UI does not rewrite it "
        "(Items.computeRelativeNamesAfterRenaming reads it as that relative name, Items.java:285-349), and once "
        "'other/folder/foo' exists it is found instead. Write '../folder/foo' or '/folder/foo'"]


def test_the_relative_walk_wins_over_the_full_name():
    # Jenkins.java:3057-3088 walks from the context first: "folder/foo" from other/bar is
    # other/folder/foo when that exists, and the fallback is never asked.
    graph = graph_of_xml({"folder/foo": job(grants=("*",)), "other/folder/foo": job(grants=("*",)),
                          "other/bar": job(copies=("folder/foo",))})
    assert ("other/folder/foo", "other/bar", "artifact") in edges(graph)
    assert ("folder/foo", "other/bar", "artifact") not in edges(graph)
    assert check_warnings(graph) == []


def test_a_job_holds_no_items_and_the_walk_does_not_fall_back():
    # Jenkins.java:3075-3084: a name token after a job returns null at once, with no fallback.
    graph = graph_of_xml({"folder/foo": job(grants=("*",)), "folder/bar": job(copies=("foo/x",)),
                          "foo/x": job()})
    assert [p.check for p in check(graph)] == ["dangling"]


def test_trigger_names_resolve_from_the_declaring_jobs_folder():
    graph = graph_of_xml({
        # RT configRoundtrip (67-84): downstream triggers on "upstream" and itself triggers wayDownstream
        "upstream": job(), "downstream": job(reverse="upstream", children="wayDownstream"), "wayDownstream": job(),
        # DT:436-452: folder1/upstream's BuildTrigger names ../folder2/downstream
        "folder1/upstream": job(children="../folder2/downstream"), "folder2/downstream": job(),
        # ReverseBuildTrigger: Items.fromNameList(downstream.getParent(), ...) (ReverseBuildTrigger.java:173)
        "folder2/after": job(reverse="downstream, ../Folder1/UPSTREAM, /upstream"),
    })
    assert edges(graph) == {
        ("upstream", "downstream", "trigger"), ("downstream", "wayDownstream", "trigger"),
        ("folder1/upstream", "folder2/downstream", "trigger"), ("folder2/downstream", "folder2/after", "trigger"),
        ("folder1/upstream", "folder2/after", "trigger"), ("upstream", "folder2/after", "trigger"),
    }
    assert check(graph) == [] and check_warnings(graph) == []


# --- views: owned by the root, where push writes them

def pipeline_view(*components: tuple[str, str, str]) -> str:
    specs = "".join(f"<{DPV}_-ComponentSpec><name>{name}</name><firstJob>{first}</firstJob><lastJob>{last}</lastJob>"
                    f"</{DPV}_-ComponentSpec>" for name, first, last in components)
    return f"<{DPV}><name>v</name><componentSpecs>{specs}</componentSpecs></{DPV}>"


def list_view(names: tuple[str, ...], recurse: bool) -> str:
    entries = "".join(f"<string>{n}</string>" for n in names)
    return ("<hudson.model.ListView><name>v</name><jobNames>"
            '<comparator class="hudson.util.CaseInsensitiveComparator"/>'
            f"{entries}</jobNames><recurse>{str(recurse).lower()}</recurse></hudson.model.ListView>")


def test_a_dangling_first_job_breaks_the_whole_pipeline_view_a_warning():
    graph = graph_of_xml(
        {"folder/foo-ci": job(), "folder/foo-deliver": job(), "flow": job(tag="flow-definition")},
        views={"pipeline": pipeline_view(("foo", "folder/foo-ci", "FOLDER/foo-deliver"), ("bar", "folder/bar-ci", ""),
                                         ("baz", "folder/foo-ci", "folder/gone"), ("dir", "folder", ""),
                                         ("flow", "flow", ""))})
    first = f"firstJob of component 'bar' ({DPV})"
    # The plugin shows an error for the whole view, yet nothing else breaks: a warning, so that a team
    # leaving out a release line the org file names does not stop the root updater.
    assert check(graph) == []
    assert [str(w) for w in check_warnings(graph) if "firstJob" in str(w)] == [
        f"pipeline: {first}: names 'folder/bar-ci', which is no job of any scope (looked up 'folder/bar-ci'); the "
        "delivery-pipeline plugin then shows no pipeline at all in this view, only 'Could not find project: "
        "folder/bar-ci' (DeliveryPipelineView.java:535-542, 570-572)",
        f"pipeline: firstJob of component 'dir' ({DPV}): names 'folder', which is the folder 'folder', not a job; "
        "the delivery-pipeline plugin then shows no pipeline at all in this view, only 'Could not find project: "
        "folder' (DeliveryPipelineView.java:535-542, 570-572)",
        f"pipeline: firstJob of component 'flow' ({DPV}): names 'flow', which is the Pipeline job 'flow': the "
        "plugin looks it up as an AbstractProject (ProjectUtil.java:126-128) and finds nothing (for a project "
        "whose services use envdelivery-pipeline-service, set `ci: pipeline` in the org file: its services' "
        "components then start at the package job); the "
        "delivery-pipeline plugin then shows no pipeline at all in this view, only 'Could not find project: "
        "flow' (DeliveryPipelineView.java:535-542, 570-572)",
    ]
    # A lastJob that finds nothing only lengthens the pipeline shown: a warning.
    assert [(str(w), w.level) for w in check_warnings(graph) if "lastJob" in str(w)] == [(
        f"pipeline: lastJob of component 'baz' ({DPV}): names 'folder/gone', which is no job of any scope (looked "
        "up 'folder/gone'); the pipeline then runs on to its end (an unresolved lastJob is null, "
        "DeliveryPipelineView.java:536)", "warning")]


@pytest.mark.parametrize("names, recurse, missing", [
    # LT renamesMovesAndDeletes (158-181): with recurse, names relative to the view's group, compared
    # without case (jobNames is a TreeSet with CASE_INSENSITIVE_ORDER, ListView.java:88)
    (("top/p1", "top/sub/p2", "TOP/P1"), True, []),
    (("/top/p1", "p1", "../top/p1", "top//p1"), True, ["../top/p1", "/top/p1", "p1", "top//p1"]),
    # without recurse only the group's own items, by name (ListView.java:241-251); a folder is an item
    (("top", "top/p1"), False, ["top/p1"]),
])
def test_list_view_job_names(names, recurse, missing):
    graph = graph_of_xml({"top/p1": job(), "top/sub/p2": job()}, views={"v": list_view(names, recurse)})
    assert check(graph) == []  # a list view without a job shows one fewer: a warning
    problems = check_warnings(graph)
    assert [p.message.split("names ")[1].split(",")[0] for p in problems] == [repr(m) for m in missing]
    assert all(p.jobs == ("v",) and p.field == "jobNames (hudson.model.ListView)" and p.check == "dangling"
               for p in problems)
    if missing and not recurse:
        assert problems[0].message.endswith("without recurse it looks up only its own group's items by name "
                                            "(ListView.java:241-251); set recurse")
