"""The fast printer writes exactly what JJB's minidom round trip writes: seeded random trees.

Two properties: on trees made only of what the fast path claims to handle, the fast path itself
(not its fallback) must equal ``minidom_xml``; on trees with anything at all in them (comments,
namespaces, forbidden characters, non-string values...), ``pretty_xml`` must give the same bytes
or raise the same exception as the round trip.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import pytest

from jjb_envdelivery.jjb.fast import pretty

SEEDS = range(40)
TREES_PER_SEED = 60

GOOD_TAGS = ["project", "a", "b.c", "hudson.tasks.Shell", "_x", "x-y", "A1", "org.jenkinsci.plugins.X_Y",
             "xmlfoo", "description"]
GOOD_ATTRS = ["plugin", "class", "k", "x.y", "_1", "a-b", "reference"]
TEXTS = ["", " ", "  ", "\n", "\n  \n", "\t", "plain", 'say "hi"', "<&>", "a & b", "x > y", "'single'",
         "a\r\nb", "\r", "a\rb\r\n\r", "x\ty", "ünïcödé ☃ 𝄞", "]]>", "--", "&amp;", "&#10;", "\x7f\x85\u2028",
         "#!/bin/bash\nset -e\necho \"$HOME\" > out\n", "{braces} ${var}", "%s %d", "\\n", " lead", "trail "]
BAD_TAGS = ["xmlns", "a:b", "{urn:x}a", "1a", "a b", "é", "a$b", "", "-a", ".a"]
BAD_ATTRS = ["xmlns", "xmlns:p", "a:b", "xml:lang", "{urn:x}k", "1k", "é"]
BAD_TEXTS = ["\x00", "a\x01b", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff x"]
BAD_VALUES = [1, 0, True, False, 1.5]


def random_text(rng: random.Random, bad: bool) -> str | None:
    roll = rng.random()
    if roll < 0.35:
        return None
    if bad and roll > 0.97:
        return rng.choice(BAD_TEXTS + BAD_VALUES)
    pieces = rng.randint(1, 3)
    return "".join(rng.choice(TEXTS) for _ in range(pieces))


def random_tree(rng: random.Random, bad: bool, depth: int = 0) -> ET.Element:
    tag = rng.choice(BAD_TAGS) if bad and rng.random() < 0.01 else rng.choice(GOOD_TAGS)
    attrib = {}
    for _ in range(rng.choice([0, 0, 0, 1, 2, 3])):
        name = rng.choice(BAD_ATTRS) if bad and rng.random() < 0.03 else rng.choice(GOOD_ATTRS)
        value = random_text(rng, bad)
        attrib[name] = "" if value is None else value
    elem = ET.Element(tag, attrib)
    elem.text = random_text(rng, bad)
    if depth < 5:
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 4])):
            if bad and rng.random() < 0.02:
                child = ET.Comment(rng.choice(["c", "a--b", " x "]))
            elif bad and rng.random() < 0.02:
                child = ET.ProcessingInstruction("pi", rng.choice(["data", ""]))
            else:
                child = random_tree(rng, bad, depth + 1)
            child.tail = random_text(rng, bad)
            elem.append(child)
    return elem


def outcome(func, tree):
    try:
        return func(tree)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return (type(exc), str(exc))


def test_this_python_has_a_fast_path():
    # CPython 3.11.7 (the venv) predates gh-50002; a newer patch release would say "gh50002".
    assert pretty.active_rules() in ("legacy", "gh50002")


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_path_equals_minidom_on_clean_trees(seed):
    rng = random.Random(seed)
    for _ in range(TREES_PER_SEED):
        tree = random_tree(rng, bad=False)
        fast = pretty._pretty(tree, pretty._rules).encode("utf-8")  # the fast path itself, no fallback
        assert fast == pretty.minidom_xml(tree), ET.tostring(tree)


@pytest.mark.parametrize("seed", SEEDS)
def test_pretty_xml_equals_minidom_on_any_tree(seed):
    rng = random.Random(1000 + seed)
    for _ in range(TREES_PER_SEED):
        tree = random_tree(rng, bad=True)
        assert outcome(pretty.pretty_xml, tree) == outcome(pretty.minidom_xml, tree), ET.tostring(tree)


@pytest.mark.parametrize("text", BAD_TEXTS + ["ok"])
@pytest.mark.parametrize("where", ["text", "tail", "attribute"])
def test_forbidden_characters_fail_as_jjb_does(text, where):
    root = ET.Element("project")
    child = ET.SubElement(root, "description")
    if where == "text":
        child.text = text
    elif where == "tail":
        child.tail = text
    else:
        child.set("k", text)
    assert outcome(pretty.pretty_xml, root) == outcome(pretty.minidom_xml, root)


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("where", ["text", "tail", "attribute", "root-text"])
def test_non_string_values_behave_as_in_jjb(value, where):
    root = ET.Element("project")
    child = ET.SubElement(root, "x")
    if where == "text":
        child.text = value
    elif where == "tail":
        child.tail = value
    elif where == "attribute":
        child.set("k", value)
    else:
        root.remove(child)
        root.text = value
    assert outcome(pretty.pretty_xml, root) == outcome(pretty.minidom_xml, root)


def test_root_tail_and_namespaces_take_the_round_trip():
    root = ET.Element("project")
    root.tail = "\n"
    assert pretty.pretty_xml(root) == pretty.minidom_xml(root)
    ns = ET.Element("{urn:example}project", {"{urn:example}k": "v"})
    assert pretty.pretty_xml(ns) == pretty.minidom_xml(ns)


def test_deep_trees_fail_or_print_as_jjb_does():
    root = elem = ET.Element("project")
    for _ in range(3000):
        elem = ET.SubElement(elem, "d")
    assert outcome(pretty.pretty_xml, root)[0] is outcome(pretty.minidom_xml, root)[0]


def test_probe_covers_what_the_rule_sets_disagree_on():
    probe = pretty.probe_tree()
    legacy = pretty._pretty(probe, pretty.LEGACY)
    gh50002 = pretty._pretty(probe, pretty.GH50002)
    assert legacy != gh50002
    assert pretty._pretty(probe, pretty._rules).encode("utf-8") == pretty.minidom_xml(probe)
