"""`Namespace.contains` decides which server items a project scope may update or delete
(push.plan) and how the graph labels them: segment-wise, as the stage checks the scope's
names (jjb.stage._in_namespace), never a plain string prefix."""

from __future__ import annotations

import pytest

from jjb_envdelivery.model.organisation import Namespace

FOLDER = Namespace("folder", "compute")
PREFIX = Namespace("prefix", "portal-")


@pytest.mark.parametrize("name", ["compute/x", "compute/sub/x", "compute/compute-evil"])
def test_folder_contains_items_below_the_folder(name):
    assert FOLDER.contains(name)


@pytest.mark.parametrize("name", [
    "compute",            # the folder itself is the root scope's, not the project's
    "compute-evil/x",     # another folder that merely starts with the same letters
    "computex",
    "Compute/x",          # names are compared as the stage compares them
    "other/compute/x",
    "/compute/x",
    "compute/../identity/x",  # path steps name no item; Jenkins would not resolve them to one
    "compute/./x",
    "compute//x",
    "compute/",
])
def test_folder_does_not_contain(name):
    assert not FOLDER.contains(name)


@pytest.mark.parametrize("name", ["portal-x", "portal-", "portal-a.b_c"])
def test_prefix_contains_top_level_names_with_the_prefix(name):
    assert PREFIX.contains(name)


@pytest.mark.parametrize("name", [
    "portal-x/y",         # an item inside a folder is not a top-level job of the namespace
    "portal",
    "xportal-x",
    "compute/portal-x",
    "..",
])
def test_prefix_does_not_contain(name):
    assert not PREFIX.contains(name)
