"""Jenkins's name rules, checked with the cases of the plugins' and core's own tests.

copyartifact-plugin @ 937817258df3, src/test/java/hudson/plugins/copyartifact/
CopyArtifactPermissionPropertyTest.java: ``testIsNameMatch`` (lines 138-161) and
``testCanCopyArtifact`` (lines 165-226, with a folder named ``folder``); jenkinsci/jenkins @
ff9430ee1dc6: core's ItemsTest and ListViewTest (cited at each case).
"""

from __future__ import annotations

import pytest

from jjb_envdelivery.jenkins_names import (
    ItemIndex,
    canonical_name,
    check_full_name,
    check_good_name,
    copy_name_match,
    copy_permitted,
    names_after_renaming,
    relative_name_from,
    split_names,
)


@pytest.mark.parametrize("name, pattern, expected", [
    # testIsNameMatch, in its order
    ("project1", "project1", True), ("xproject1", "project1", False), ("roject1", "project1", False),
    ("project1", "*", True), ("project1", "project1*", True), ("project1", "project*", True),
    ("project1", "p*1", True), ("project1", "p*oject*1", True), ("project1", "*project1", True),
    ("xproject1", "project*", False), ("xproject1", "p*1", False), ("proxject1", "p*oject*1", False),
    ("+).][(\\\\", "+).][(\\\\", True),  # regex characters are literals
    ("project1", None, False), (None, "project1", False), (None, None, False),
    # ours: case matters, and '*' crosses folders
    ("Project1", "project1", False), ("/delivery/env-a/b", "/delivery/*", True),
])
def test_is_name_match(name, pattern, expected):
    assert copy_name_match(name, pattern) is expected


@pytest.mark.parametrize("allowed, copier, owner", [
    # testCanCopyArtifact: top level, by full name
    (["copier1", "copier2"], "copier1", "copiee"),
    # same folder: relative and absolute
    (["sameCopier"], "folder/sameCopier", "folder/sameCopiee"),
    (["/folder/sameCopier"], "folder/sameCopier", "folder/sameCopiee"),
    # copier in the parent folder
    (["../parentCopier"], "parentCopier", "folder/parentCopiee"),
    (["/parentCopier"], "parentCopier", "folder/parentCopiee"),
    # copier in a child folder of the owner's folder
    (["folder/childCopier"], "folder/childCopier", "childCopiee"),
    (["/folder/childCopier"], "folder/childCopier", "childCopiee"),
])
def test_can_copy_as_the_plugin_tests_say(allowed, copier, owner):
    assert copy_permitted(allowed, copier, owner)


@pytest.mark.parametrize("allowed, copier, owner", [
    (["copier1", "copier2"], "copier3", "copiee"),  # testCanCopyArtifact's copier3
    # The defect of issue 13: a folder job's grant written as the copier's full name.
    (["identity/auth-service-current-package"], "identity/auth-service-current-package",
     "identity/auth-service-current-ci"),
    (["delivery/*"], "delivery/env-minimal-current-build", "identity/auth-service-current-ci"),
])
def test_full_names_without_slash_do_not_match_from_a_folder(allowed, copier, owner):
    assert not copy_permitted(allowed, copier, owner)


def test_the_fixed_forms_match_from_a_folder_and_from_the_top_level():
    for owner, copier in [("identity/a-ci", "identity/a-package"), ("portal-a-ci", "portal-a-package")]:
        assert copy_permitted(["/" + copier, "/delivery/*"], copier, owner)
        assert copy_permitted(["/delivery/*"], "delivery/env-minimal-current-build", owner)
    assert copy_permitted(["../delivery/*"], "delivery/env-x", "identity/a-ci")


@pytest.mark.parametrize("item, group, expected", [
    ("delivery/env-x", "identity", "../delivery/env-x"),  # jenkins-plugin-semantics.md §3
    ("delivery/env-x", "", "delivery/env-x"),
    ("identity/a", "identity", "a"),
    ("a", "f/g", "../../a"),
    ("f/g/h", "f", "g/h"),
])
def test_relative_name_from(item, group, expected):
    assert relative_name_from(item, group) == expected


def test_split_names_as_items_from_name_list():
    assert split_names(" a, ,b ,, c/d ,") == ["a", "b", "c/d"]
    assert split_names(None) == [] and split_names("") == []


# Items for core's ItemsTest (core/src/test/java/hudson/model/ItemsTest.java @ ff9430ee1dc6): groups
# foo, foo/bar, foo/bar/baz, foo/baz and jobs bar, foo/bar/baz/qux, foo/baz/qux.
ITEMS = ItemIndex([("foo", True), ("foo/bar", True), ("foo/bar/baz", True), ("foo/baz", True), ("bar", False),
                   ("foo/bar/baz/qux", False), ("foo/baz/qux", False)])


@pytest.mark.parametrize("name, context, found", [
    # ItemsTest.getCanonicalName (lines 33-42): the item each relative path names, which
    # Jenkins.getItem (Jenkins.java:3050-3092) finds by its walk, without the fallback
    ("foo", "", "foo"), ("/foo", "", "foo"), ("foo/bar", "", "foo/bar"), ("bar", "foo", "foo/bar"),
    ("/bar", "foo", "bar"), ("../bar", "foo", "bar"), ("./bar", "foo", "foo/bar"),
    ("baz/qux", "foo/bar", "foo/bar/baz/qux"), ("../baz/qux", "foo/bar", "foo/baz/qux"),
    # '..' leaves a job as it leaves a folder (Jenkins.java:3062-3066); names ignore case (:489)
    ("qux/../qux", "foo/baz", "foo/baz/qux"), ("../BAZ/Qux", "foo/bar", "foo/baz/qux"),
])
def test_lookup_walks_from_the_context(name, context, found):
    lookup = ITEMS.lookup(name, context)
    assert lookup.item[0] == found and not lookup.by_fallback


@pytest.mark.parametrize("name, context", [
    # ItemsTest.getCanonicalName's illegal paths (lines 44-51): above the root; Jenkins.getItem
    # falls back to getItemByFullName, which finds no item called '..'
    ("..", ""), ("../..", "foo"), ("foo/../..", ""),
    # a name token after a job: null at once, no fallback (Jenkins.java:3075-3084), though
    # 'foo/bar' would be found by its full name
    ("qux/bar", "foo/baz"),
])
def test_lookup_finds_nothing(name, context):
    assert ITEMS.lookup(name, context).item is None


def test_lookup_falls_back_to_the_full_name_and_says_so():
    # copyartifact's CopyArtifactTest.testMostlyAbsolute (lines 1507-1525): "folder/foo" from
    # other/bar is found "for backward compatibility", by Jenkins.java:3090-3091.
    lookup = ITEMS.lookup("foo/baz/qux", "foo/bar")
    assert (lookup.item, lookup.tried, lookup.by_fallback) == (
        ("foo/baz/qux", False), ("foo/bar/foo/baz/qux", "foo/baz/qux"), True)
    assert ITEMS.resolve("foo/baz/qux", "foo/bar/job") == (("foo/baz/qux", False),
                                                            ("foo/bar/foo/baz/qux", "foo/baz/qux"))


@pytest.mark.parametrize("name, group, recurse, found", [
    # ListView.getItems (core ListView.java:218-258): with recurse, descendants by their name
    # relative to the view's group (ListViewTest.renamesMovesAndDeletes, lines 158-181), without case
    # (ListView.java:88)
    ("foo/bar/baz/qux", "", True, "foo/bar/baz/qux"), ("baz/qux", "foo", True, "foo/baz/qux"),
    ("FOO/BAZ", "", True, "foo/baz"), ("/foo/baz", "", True, None), ("../bar", "foo", True, None),
    ("foo//baz", "", True, None), ("./foo", "", True, None),
    # without it, the group's own items by name
    ("bar", "", False, "bar"), ("Foo", "", False, "foo"), ("foo/baz", "", False, None),
    ("baz", "foo", False, "foo/baz"),
])
def test_list_view_members(name, group, recurse, found):
    item = ITEMS.view_member(name, group, recurse)
    assert (item[0] if item else None) == found


# --- renames and moves: core's ItemsTest (core/src/test/java/hudson/model/ItemsTest.java @ ff9430ee1dc6)

@pytest.mark.parametrize("context, path, expected", [
    # ItemsTest.getCanonicalName (lines 33-42), contexts root '', foo and foo/bar
    ("", "foo", "foo"), ("", "/foo", "foo"), ("", "foo/bar", "foo/bar"), ("foo", "bar", "foo/bar"),
    ("foo", "/bar", "bar"), ("foo", "../bar", "bar"), ("foo", "./bar", "foo/bar"),
    ("foo/bar", "baz/qux", "foo/bar/baz/qux"), ("foo/bar", "../baz/qux", "foo/baz/qux"),
    # jenkins-plugin-semantics.md §3: a bare full name from its own folder means a name below it
    ("identity", "identity/auth-service-current-ci", "identity/identity/auth-service-current-ci"),
    ("identity", "/identity/auth-service-current-ci", "identity/auth-service-current-ci"),
])
def test_canonical_name(context, path, expected):
    assert canonical_name(context, path) == expected


@pytest.mark.parametrize("context, path", [("", ".."), ("foo", "../.."), ("", "foo/../..")])
def test_canonical_name_above_the_root(context, path):
    # ItemsTest lines 44-51: IllegalArgumentException "Illegal relative path '..' within context ''"
    with pytest.raises(ValueError, match=r"Illegal relative path '.*' within context"):
        canonical_name(context, path)


@pytest.mark.parametrize("old, new, names, context, expected", [
    # ItemsTest.computeRelativeNamesAfterRenaming (lines 55-79), in its order
    ("ga", "meu", "ga,bu,zo", "", "meu,bu,zo"),
    ("ga", "meu", "ga,bu,zo", "foo/bar", "ga,bu,zo"),
    ("foo/ga", "foo/meu", "ga,bu,zo", "foo", "meu,bu,zo"),
    ("ga", "meu", "/ga,/bu,/zo", "", "/meu,/bu,/zo"),
    ("ga", "meu", "/ga,/bu,/zo", "foo/bar", "/meu,/bu,/zo"),
    ("ga", "meu", "../ga,../bu,../zo", "foo", "../meu,../bu,../zo"),
    ("foo/baz", "foo/qux", "../baz/ga,bu,zo", "foo/bar", "../qux/ga,bu,zo"),
    ("foo", "foo-renamed", "foo,foo_bar", "", "foo-renamed,foo_bar"),
    ("dir", "nue/dir", "../dir/j", "foo", "../nue/dir/j"),
    ("nue/dir", "dir", "../nue/dir/j", "foo", "../dir/j"),
    ("top1/dir", "top2/dir", "../top1/dir/j", "foo", "../top2/dir/j"),
    ("dir", "nue/dir", "dir/j", "", "nue/dir/j"),
    ("nue/dir", "dir", "nue/dir/j", "", "dir/j"),
    ("top1/dir", "top2/dir", "top1/dir/j", "", "top2/dir/j"),
    ("dir", "nue/dir", "/dir/j", "foo", "/nue/dir/j"),
    ("nue/dir", "dir", "/nue/dir/j", "foo", "/dir/j"),
    ("top1/dir", "top2/dir", "/top1/dir/j", "foo", "/top2/dir/j"),
    ("fooq", "foo", "sister", "foo", "sister"),
    ("fooq", "foo", "/fooq/sister", "foo", "/foo/sister"),
    # StringTokenizer skips empty tokens; each name is trimmed and the list joined without spaces
    ("ga", "meu", " ga, ,,bu ", "", "meu,,bu"),
])
def test_names_after_renaming(old, new, names, context, expected):
    assert names_after_renaming(old, new, names, context) == expected


def test_a_bare_full_name_in_a_folder_is_not_rewritten_and_an_absolute_one_is():
    # What the templates wrote before (jenkins-plugin-semantics.md §14.8) and what they write now,
    # for a job in folder identity whose upstream identity/auth-ci is renamed, or its folder moved.
    assert names_after_renaming("identity/auth-ci", "identity/login-ci", "identity/auth-ci", "identity") == \
        "identity/auth-ci"
    assert names_after_renaming("identity/auth-ci", "identity/login-ci", "/identity/auth-ci", "identity") == \
        "/identity/login-ci"
    # A move of the folder: the listener runs after it, so the job's folder is teams/identity.
    assert names_after_renaming("identity", "teams/identity", "/identity/auth-ci", "teams/identity") == \
        "/teams/identity/auth-ci"
    assert names_after_renaming("identity", "teams/identity", "identity/auth-ci", "teams/identity") == \
        "identity/auth-ci"  # which nothing is called any more: the trigger is silently dropped


# Jenkins.checkGoodName (core Jenkins.java:4268-4293) in its order, messages from
# hudson/model/Messages.properties:131-143,408; the trim after it is ItemGroupMixIn.java:167-168.
@pytest.mark.parametrize("name, message", [
    (None, "No name is specified"), ("", "No name is specified"),
    (".", "“.” is not an allowed name"), (" .. ", "“..” is not an allowed name"),
    ("a\x00b", "No control code is allowed: a\\u0;b"),
    ("a\x85", "No control code is allowed: a\\u133;"),  # isISOControl reaches U+009F
    # one pass over the characters: whichever of control code and unsafe character comes first
    ("a?\x01", "‘?’ is an unsafe character"), ("a\x01?", "No control code is allowed: a\\u1;?"),
    ("a/b", "‘/’ is an unsafe character"), ("50%", "‘%’ is an unsafe character"),
    # Security2424Test.java:39-54: "job." and "job.   "
    ("job.", "A name cannot end with ‘.’"), ("job.   ", "A name cannot end with ‘.’"),
])
def test_check_good_name_refuses_as_jenkins_does(name, message):
    with pytest.raises(ValueError) as caught:
        check_good_name(name)
    assert str(caught.value) == message


@pytest.mark.parametrize("name, stored", [
    ("ok-name", "ok-name"), ("  padded  ", "padded"), ("a b (c) {d} ~'\"", "a b (c) {d} ~'\""),
    ("naïve", "naïve"),
    ("a\u00a0", "a\u00a0"),  # String.trim stops at U+0020: a no-break space stays (Python's strip would drop it)
])
def test_check_good_name_returns_the_name_jenkins_stores(name, stored):
    assert check_good_name(name) == stored


@pytest.mark.parametrize("full_name, message", [
    ("compute/../identity/job", "segment '..': “..” is not an allowed name"),
    ("compute/./job", "segment '.': “.” is not an allowed name"),
    ("/compute/job", "empty path segment"), ("compute/job/", "empty path segment"),
    ("compute//job", "empty path segment"),
    ("compute/ job", "segment ' job' starts or ends with whitespace, which Jenkins trims off (it would be 'job')"),
    ("compute /job", "it would be 'compute'"),
    ("compute/job.", "segment 'job.': A name cannot end with ‘.’"),
    ("compute/a\tb", "segment 'a\\tb': No control code is allowed: a\\u9;b"),  # the name's repr: one line
])
def test_check_full_name_refuses_each_bad_segment(full_name, message):
    with pytest.raises(ValueError) as caught:
        check_full_name(full_name)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_check_full_name_accepts_folders_and_top_level_names():
    check_full_name("compute/vm-scheduler-current-ci")
    check_full_name("portal-web-ui-current-ci")
    check_full_name("a/b/c d")
