"""Jenkins's name rules, checked with the cases of the plugins' and core's own tests.

copyartifact-plugin @ 937817258df3, src/test/java/hudson/plugins/copyartifact/
CopyArtifactPermissionPropertyTest.java: ``testIsNameMatch`` (lines 138-161) and
``testCanCopyArtifact`` (lines 165-226, with a folder named ``folder``).
"""

from __future__ import annotations

import pytest

from jjb_envdelivery.jenkins_names import (
    copy_name_match,
    copy_permitted,
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
