"""JJB's pretty-printed XML bytes, written straight from the ElementTree.

JJB's ``XmlJob.output()`` serialises the tree with ``ElementTree.tostring``, parses the text
again with ``minidom.parseString`` and writes it with ``toprettyxml(indent="  ",
encoding="utf-8")``: that round trip is most of what XML output costs. ``pretty_xml`` writes
the same bytes in one pass over the tree, for the trees JJB's components build; any tree
outside that well-understood subset goes through JJB's exact round trip instead (``minidom_xml``),
so it gets JJB's bytes, or JJB's exception.

What the round trip does, and the fast path therefore does too:

* declaration ``<?xml version="1.0" encoding="utf-8"?>`` and a newline;
* attributes in insertion order (ElementTree writes them so, expat reports them so, minidom
  keeps them in a dict); values come back exactly (ElementTree writes ``\\r \\n \\t`` as
  character references);
* an element without children or text is ``<tag/>``; one whose only content is text is
  ``<tag>text</tag>`` on one line; otherwise each child node goes on its own line, indented two
  spaces per level: text (``text`` and each child's ``tail``, empty strings dropped) as
  indent + text + newline, whitespace-only text included;
* line ends inside text are normalised by expat: ``\\r\\n`` and ``\\r`` become ``\\n``;
* escaping is minidom's ``_write_data``, which changed in CPython gh-50002 (3.13, and later
  3.12/3.11 patch releases). Before (``LEGACY``, e.g. 3.11.7): ``& < " >`` in text and in
  attribute values alike, leaving raw newlines and tabs in attributes. After (``GH50002``):
  ``& < >`` in text; ``& < > "`` and ``\\r \\n \\t`` (as ``&#13; &#10; &#9;``) in attributes.
  Which one this Python's minidom does is found out at import with a probe tree; should it do
  neither, every tree takes the round trip.

Outside the subset (round trip): non-string tags (comments, processing instructions, ``None``),
names that are not plain ASCII XML names without ``:`` (namespaces: minidom parses
namespace-aware), ``xmlns`` attributes, non-string text/tail/attribute values, text after the
root element, characters XML 1.0 forbids (expat rejects them; every text and attribute value
is checked, names are ASCII already), and trees too deep to recurse.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from xml.dom import minidom

log = logging.getLogger(__name__)
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
INDENT = "  "

# Plain ASCII XML names without ':'; anything else takes the slow path. Memoised per name.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")
# Characters XML 1.0 does not allow (expat refuses them, as character or as reference); U+FFFE
# and U+FFFF are not characters; lone surrogates cannot be encoded.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_good_tags: set[str] = set()
_good_attrs: set[str] = set()


class _Unsupported(Exception):
    """The tree is outside what the fast path reproduces; use the round trip."""


def minidom_xml(xml: ET.Element) -> bytes:
    """Exactly JJB 6.5.0's ``XmlJob.output()``."""
    out = minidom.parseString(ET.tostring(xml, encoding="UTF-8"))
    return out.toprettyxml(indent="  ", encoding="utf-8")


def pretty_xml(xml: ET.Element) -> bytes:
    """The bytes of ``minidom_xml(xml)``, without the round trip where the tree allows."""
    if _rules is None:
        return minidom_xml(xml)
    try:
        text = _pretty(xml, _rules)
    except (_Unsupported, RecursionError, TypeError) as exc:
        # TypeError: an unhashable tag or name; ElementTree decides what that means.
        log.debug("printed with JJB's minidom round trip (%s: %s)", type(exc).__name__, exc)
        return minidom_xml(xml)
    return text.encode("utf-8")


def _check_tag(tag) -> None:
    if tag.__class__ is not str or _NAME.match(tag) is None:
        raise _Unsupported
    _good_tags.add(tag)


def _check_attr(name) -> None:
    if name.__class__ is not str or _NAME.match(name) is None or name.startswith("xmlns"):
        raise _Unsupported
    _good_attrs.add(name)


# -- minidom's escaping, before and after CPython gh-50002 ----------------------------------
def _legacy_text(text) -> str:
    if text.__class__ is not str:
        raise _Unsupported
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _legacy_attr(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def _gh50002_text(text) -> str:
    if text.__class__ is not str:
        raise _Unsupported
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _gh50002_attr(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


LEGACY = (_legacy_text, _legacy_attr)
GH50002 = (_gh50002_text, _gh50002_attr)

_indents = [""]  # _indents[depth]: the indentation of that depth

# Escaped short texts and attribute values, per rule set: generated jobs repeat the same
# values ("false", branch names, ...) hundreds of thousands of times. Only checked, escaped
# strings are kept; a text with a character XML forbids is never kept (it takes the round trip).
MEMO_MAX_LENGTH = 200
MEMO_MAX_ENTRIES = 200_000
_escapers: dict[tuple, tuple] = {}  # rule set -> (text escaper, attribute escaper), made once


def _escaper(escape, memo: dict):
    """`escape` for exact strings, checked for characters XML forbids (the round trip then) and
    remembered when short; anything else goes to `escape` itself (which refuses non-strings)."""
    def escaped(text):
        if text.__class__ is str:
            hit = memo.get(text)
            if hit is not None:
                return hit
            if _FORBIDDEN.search(text) is not None:
                raise _Unsupported
            result = escape(text)
            if len(text) <= MEMO_MAX_LENGTH and len(memo) < MEMO_MAX_ENTRIES:
                memo[text] = result
            return result
        return escape(text)
    return escaped


def _pretty(root: ET.Element, rules) -> str:
    if root.tail:
        raise _Unsupported  # ElementTree would write it after the root element
    out = [DECLARATION]
    append = out.append
    good_tags, good_attrs, indents = _good_tags, _good_attrs, _indents
    escapers = _escapers.get(rules)
    if escapers is None:
        escapers = _escapers[rules] = (_escaper(rules[0], {}), _escaper(rules[1], {}))
    text_, attr_ = escapers

    def element(elem: ET.Element, depth: int) -> None:
        tag = elem.tag
        if tag not in good_tags:
            _check_tag(tag)
        indent = indents[depth]
        attributes = elem.items()  # (unlike .attrib, creates no dict on C elements)
        if attributes:
            parts = [indent, "<", tag]
            for name, value in attributes:
                if name not in good_attrs:
                    _check_attr(name)
                if value.__class__ is not str:
                    raise _Unsupported
                parts.append(" " + name + '="' + attr_(value) + '"')
            start = "".join(parts)
        else:
            start = indent + "<" + tag
        text = elem.text
        if len(elem):
            append(start + ">\n")
            depth += 1
            if len(indents) <= depth:
                indents.append(INDENT * depth)
            inner = indents[depth]
            if text:
                append(inner + text_(text) + "\n")
            for child in elem:
                element(child, depth)
                tail = child.tail
                if tail:
                    append(inner + text_(tail) + "\n")
            append(indent + "</" + tag + ">\n")
        elif text:
            append(start + ">" + text_(text) + "</" + tag + ">\n")
        elif text is None or text.__class__ is str:
            append(start + "/>\n")
        else:
            raise _Unsupported  # a falsy non-string: ElementTree decides what it means

    element(root, 0)
    return "".join(out)


def probe_tree() -> ET.Element:
    """A tree on which the escaping rule sets differ, and that exercises the layout rules."""
    root = ET.Element("probe", {"b": 'q"<&>\n\t\r x', "a": ""})
    root.text = ' t"<&>\r\n\r '
    child = ET.SubElement(root, "child")
    child.text = 'x"y'
    child.tail = "\n  "
    ET.SubElement(root, "empty").tail = "tail"
    ET.SubElement(ET.SubElement(root, "nested"), "leaf", {"k": "v"})
    return root


def _detect_rules():
    """The rule set whose output equals this Python's minidom on the probe, or None."""
    expected = minidom_xml(probe_tree())
    for rules in (LEGACY, GH50002):
        if _pretty(probe_tree(), rules).encode("utf-8") == expected:
            return rules
    return None


_rules = _detect_rules()


def active_rules() -> str | None:
    """Which escaping the fast path uses here: "legacy", "gh50002", or None (round trip only)."""
    return {LEGACY: "legacy", GH50002: "gh50002"}.get(_rules)
