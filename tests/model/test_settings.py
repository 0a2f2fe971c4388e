"""Declared settings: what a value must be, and the same messages with or without an org file."""

from __future__ import annotations

import pytest

from jjb_envdelivery.model.settings import CredentialNeed, Setting, apply_settings, check_value

DECLARED = (
    Setting("region", str, required=True, help="where environments run"),
    Setting("timeout", float, default=60.0),
    Setting("retries", int, default=3),
    Setting("verbose", bool, default=False),
    Setting("tags", list, default=["a"]),
    Setting("mode", str, default="fast", choices=("fast", "safe")),
    Setting("optional", str),
)


@pytest.mark.parametrize("setting, value, expected", [
    (Setting("t", float), 5, (5.0, None)),
    (Setting("t", float), True, (None, "expected a number, got True")),
    (Setting("n", int), 5.0, (None, "expected a whole number, got 5.0")),
    (Setting("n", int), False, (None, "expected a whole number, got False")),
    (Setting("b", bool), 1, (None, "expected true or false, got 1")),
    (Setting("s", str), "  ", (None, "must not be empty")),
    (Setting("s", str), None, (None, "expected a string, got an empty value")),
    (Setting("s", (str, int)), 7, (7, None)),
    (Setting("l", list), {"a": 1}, (None, "expected a list, got a mapping")),
    (Setting("d", dict), {"a": 1}, ({"a": 1}, None)),
    (Setting("m", str, choices=("x", "y")), "z", (None, "'z' is not one of: x, y")),
])
def test_check_value(setting, value, expected):
    assert check_value(setting, value) == expected


def test_defaults_are_filled_in_and_copied():
    values, problems = apply_settings(DECLARED, {"region": "eu-1", "timeout": 5})
    assert problems == []
    assert values == {"region": "eu-1", "timeout": 5.0, "retries": 3, "verbose": False, "tags": ["a"],
                      "mode": "fast"}
    values["tags"].append("b")
    assert apply_settings(DECLARED, {"region": "eu-1"})[0]["tags"] == ["a"]


def test_every_problem_of_plain_settings():
    _, problems = apply_settings(DECLARED, {"regoin": "eu-1", "retries": "3", "password": "hunter2"})
    assert problems[0].startswith("settings.regoin: unknown key 'regoin'; expected one of: region, timeout")
    assert problems[1] == "settings.retries: expected a whole number, got '3'"
    assert problems[2].startswith("settings.password: unknown key 'password'")
    assert "credentials never go in the org file" in problems[2] and "hunter2" not in problems[2]
    assert problems[3] == "settings.region: required key is missing (where environments run)"
    assert len(problems) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"type": set}, "type must be among"),
    ({"required": True, "default": "x"}, "a required setting has no default"),
    ({"type": int, "default": "x"}, "the default 'x' is not a valid value"),
    ({"choices": ("a", "b"), "default": "c"}, "the default 'c' is not a valid value"),
])
def test_a_declaration_mistake_is_caught_when_declared(kwargs, message):
    with pytest.raises(TypeError, match=message):
        Setting("s", **kwargs)


@pytest.mark.parametrize("kind, variables, message", [
    ("password", {"variable": "token-env"}, "credential kind 'password' is not one of"),
    ("username-password-separated", {"username": "user-env"},
     "a username-password-separated credential names the settings for username, password, not username"),
    ("text", {"variable": "a", "password": "b"}, "names the settings for variable, not variable, password"),
])
def test_a_credential_declaration_mistake_is_caught_when_declared(kind, variables, message):
    with pytest.raises(TypeError, match=message):
        CredentialNeed(kind, variables)


def test_a_credential_need_says_what_it_reads():
    need = CredentialNeed("text", {"variable": "token-env"})
    assert need.describe({"token-env": "CLOUD_TOKEN"}) == "a secret text credential (variable in CLOUD_TOKEN)"
