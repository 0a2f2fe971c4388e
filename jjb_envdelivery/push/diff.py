"""Config XML compared by meaning: what Jenkins stores is an XStream re-serialisation of what
was posted (another declaration, indentation, `plugin="name@version"` attributes, empty
default elements), so both sides are normalised before a unified diff."""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET

# Attributes Jenkins adds on its own: which plugin (and version) an element came from.
_JENKINS_ADDED_ATTRIBUTES = {"plugin"}


def normalise(xml: str | bytes) -> list[str]:
    """The XML as indented lines: no declaration, no indentation text, no plugin attributes,
    and no empty elements (no text, no children, no attributes besides `class`)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    root = ET.fromstring(data)
    _prune(root)
    lines: list[str] = []
    _emit(root, 0, lines)
    return lines


def _prune(element: ET.Element) -> None:
    for name in _JENKINS_ADDED_ATTRIBUTES & set(element.attrib):
        del element.attrib[name]
    for child in list(element):
        _prune(child)
        text = (child.text or "").strip()
        if not len(child) and not text and set(child.attrib) <= {"class"}:
            element.remove(child)


def _emit(element: ET.Element, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    attrs = "".join(f' {k}="{v}"' for k, v in element.attrib.items())
    text = element.text if element.text and element.text.strip() else ""
    if not len(element):
        lines.append(f"{pad}<{element.tag}{attrs}>{text}</{element.tag}>" if text else f"{pad}<{element.tag}{attrs}/>")
        return
    lines.append(f"{pad}<{element.tag}{attrs}>" + text)
    for child in element:
        _emit(child, depth + 1, lines)
    lines.append(f"{pad}</{element.tag}>")


def config_diff(current: str | bytes, desired: str | bytes, name: str) -> str:
    """A unified diff from `current` (the server's, or the last applied) to `desired`; '' if
    they mean the same."""
    before, after = normalise(current), normalise(desired)
    if before == after:
        return ""
    return "\n".join(difflib.unified_diff(before, after, f"{name} (current)", f"{name} (desired)", lineterm=""))
