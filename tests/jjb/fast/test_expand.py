"""fast_expand against JJB's own expander: same results (values, types, positions), same errors,
on seeded random templates, and only where JJB formats strings."""

from __future__ import annotations

import random

import pytest
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.expander import Expander, StringsOnlyExpander, YamlObjectsExpander
from jenkins_jobs.loc_loader import LocDict, LocList, LocString
from jenkins_jobs.position import Pos

from jjb_envdelivery.jjb.fast import expand as fast_expand

WORDS = ["name", "branch", "x", "plain text", "a-b", "", "multi\nline", "{{literal}}", "}", "{", "{name}",
         "job-{name}", "{branch|main}", "{missing}", "{obj:x}", "{x}-{name}", "{{ {name} }}", "{0}", "{name!r}"]


def _pos(rng) -> Pos | None:
    return None if rng.random() < 0.2 else Pos(None, "f.yaml", rng.randrange(100), rng.randrange(40))


def _tree(rng, depth: int):
    roll = rng.random()
    if depth <= 0 or roll < 0.45:
        kind = rng.random()
        if kind < 0.75:
            return rng.choice(WORDS)
        if kind < 0.8:
            return LocString(rng.choice(WORDS), _pos(rng))
        return rng.choice([1, 2.5, True, None])
    if roll < 0.75:
        d = LocDict(pos=_pos(rng))
        for _ in range(rng.randrange(4)):
            key = rng.choice(WORDS[:8] + ["{name}-key"])
            d[key] = _tree(rng, depth - 1)
            if rng.random() < 0.8:
                d.key_pos[key] = _pos(rng)
            if rng.random() < 0.8:
                d.value_pos[key] = _pos(rng)
        return d
    items = [_tree(rng, depth - 1) for _ in range(rng.randrange(4))]
    return LocList(items, _pos(rng), [_pos(rng) for _ in items])


def _params(rng) -> dict:
    params = {"name": rng.choice(["svc", "a{b}", "", "x y"]), "x": rng.choice(["1", 1, ["a"], {"k": "v"}])}
    if rng.random() < 0.5:
        params["branch"] = "stable"
    return params


def _describe(value):
    """Value, exact types and every position, for comparison."""
    if isinstance(value, LocDict):
        return ("LocDict", value.pos, [(k, _describe(v)) for k, v in value.items()],
                dict(value.key_pos), dict(value.value_pos))
    if isinstance(value, LocList):
        return ("LocList", value.pos, [_describe(v) for v in value], list(value.value_pos))
    return (type(value).__name__, value)


def _outcome(expander, tree, params):
    try:
        return ("ok", _describe(expander.expand(tree, params)))
    except JenkinsJobsException as exc:
        return ("jjb-error", str(exc))
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return ("exception", type(exc).__name__, str(exc))


class _Element:
    def __init__(self, expander):
        self._expander = expander


class _Roots:
    """What use_fast_strings reads of JJB's Roots."""

    def __init__(self, *expanders):
        self.jobs = {f"e{i}": _Element(e) for i, e in enumerate(expanders)}
        self.job_templates = self.views = self.view_templates = {}
        self.macros = {}


def _fast(expander):
    assert fast_expand.use_fast_strings(_Roots(expander)) == 1
    return expander


@pytest.mark.parametrize("seed", range(40))
def test_random_templates_expand_as_jjb_does(seed):
    rng = random.Random(seed)
    plain, fast = Expander(), _fast(Expander())
    for _ in range(50):
        tree, params = _tree(rng, 4), _params(rng)
        assert _outcome(fast, tree, params) == _outcome(plain, tree, params)


def test_non_string_parameter_names_fail_as_in_jjb():
    params = {"name": "a", 1: "one"}
    for tree in ["plain", LocDict({"k": "plain"}), LocList(["plain"], None, [None])]:
        outcomes = {_outcome(Expander(), tree, params), _outcome(_fast(Expander()), tree, params)}
        assert len(outcomes) == 1
        assert next(iter(outcomes))[0] == "exception"  # format(**params): keywords must be strings


def test_short_position_list_fails_as_in_jjb():
    broken = LocList(["a", "b"], None, [None])
    assert _outcome(_fast(Expander()), broken, {}) == _outcome(Expander(), broken, {})


def test_only_formatting_expanders_change():
    strings_only, objects_only = StringsOnlyExpander(None), YamlObjectsExpander()
    before = dict(objects_only.expanders)
    assert fast_expand.use_fast_strings(_Roots(strings_only, objects_only)) == 1
    assert isinstance(strings_only.expanders[str], fast_expand.PlainPassStrExpander)
    assert objects_only.expanders == before  # YamlObjectsExpander leaves strings alone
    text = "{not-a-param"
    assert objects_only.expand(text, {}) is text


def test_allow_empty_variables_is_kept():
    class Config:
        yamlparser = {"allow_empty_variables": True}

    plain, fast = Expander(Config()), _fast(Expander(Config()))
    assert _outcome(fast, "a-{missing}", {}) == _outcome(plain, "a-{missing}", {}) == ("ok", ("str", "a-"))


def test_remembered_formats_follow_every_value_and_type():
    """The same format met again with other values, types, missing names and defaults: JJB's
    result every time, and only simple formats with immutable values are remembered."""
    for allow_empty in (False, True):
        class Config:
            yamlparser = {"allow_empty_variables": allow_empty}

        plain, fast = Expander(Config()), _fast(Expander(Config()))
        formats = ["{a}", "x-{a}-{b|dflt}", "{{a}}-{a}", "{a|}", "{b|d}{a}", "{a:>4}", "{a.real}", "{{{a}}}",
                   "{a-b}", "{a-b}/{a}", "{a-b|x}", "{ a }", "{0}", "x{0}", "{a!r}", "{a}}", "{{a}"]
        values = ["v", "", 1, True, 0, False, None, 1.0, -0.0, 0.0, ["l"], {"k": 1}, "{a}"]
        for text in formats:
            for a in [*values, _MISSING]:
                for b in ("B", 2, _MISSING):
                    params = {name: value for name, value in (("a", a), ("b", b), ("a-b", b), (" a ", a), ("0", b))
                              if value is not _MISSING}
                    tree = LocDict({"k": text}, None, {}, {"k": Pos(None, "f.yaml", 1, 1)})
                    assert _outcome(fast, tree, params) == _outcome(plain, tree, params), (text, params)
                    assert _outcome(fast, text, params) == _outcome(plain, text, params), (text, params)
        strings = fast.expanders[str]
        assert strings.hits > 100  # met again with equal values: remembered
        assert all(isinstance(v, (str, int, bool, type(None))) for v in strings._results.values())
        assert strings._names["{a:>4}"] is None and strings._names["{a.real}"] is None  # JJB's every time


_MISSING = object()


def test_remembered_formats_are_bounded(monkeypatch):
    monkeypatch.setattr(fast_expand, "MAX_REMEMBERED", 2)
    plain, fast = Expander(), _fast(Expander())
    for n in range(10):
        for value in ("a", "b", "c"):
            text, params = f"{n}-{{x}}-{{y|d}}", {"x": value}
            assert _outcome(fast, text, params) == _outcome(plain, text, params)
    strings = fast.expanders[str]
    assert len(strings._names) <= 2 and len(strings._results) <= 2
