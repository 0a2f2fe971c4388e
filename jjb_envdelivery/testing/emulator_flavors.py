"""``api/json``, ``api/xml`` and ``api/python``: one exported bean, three ways to write it.

``emulator_api`` prunes a bean into a tree (dicts in Stapler's property order, ``_class`` first;
lists; strings, numbers, booleans, None); this module writes that tree as Stapler does.

Sources: jenkinsci/stapler@135bbbc8 ``core/src/main/java/org/kohsuke/stapler/export/`` (Jenkins
2.492.3 ships stapler 1928.v9115fe47607f, which has the same writers):

* ``Flavor.java:35-65``: content types ``application/json;charset=UTF-8``,
  ``text/x-python;charset=UTF-8``, ``application/xml;charset=UTF-8``.
* ``JSONDataWriter.java:108-159``: compact; a string escapes ISO controls (U+0000-U+001F,
  U+007F-U+009F, so also tab, CR and LF) and surrogates as lower-case ``\\uXXXX``, then ``"`` and
  ``\\``; ``null``.
* ``PythonDataWriter.java:38-59``: the JSON form with ``None``, ``True``, ``False``.
* ``XMLDataWriter.java:55-178``: no XML declaration; the root element is the bean class's simple
  name, decapitalised (``java.beans.Introspector.decapitalize``); a nested object or value is an
  element named after its property; an array repeats the element under the singular name
  (``ies`` -> ``y``, else a trailing ``s`` dropped); a null is left out; ``_class`` is an
  attribute in single quotes; text escapes only ``< > &`` (``Stapler.escape``,
  ``Stapler.java:1285-1307``). A map (compact form) is an object with one element per key
  (``Property.java:248-285``).

``api/xml`` with ``xpath``, ``wrapper`` or ``exclude`` (core ``hudson/model/Api.java:104-215`` at
jenkins-2.492.3) re-reads that XML with dom4j and writes the result with dom4j's ``XMLWriter``:
one element (no declaration), ``<wrapper>`` around all matches, or the whole document with its
declaration after ``exclude``. No match without a wrapper is 404 ``XPath X didn’t match``; several
are 500 ``XPath "X" matched N nodes. …``; a text or attribute result is 403 ``primitive XPath result
sets forbidden; implement jenkins.security.SecureRequester``; a wrapper name that is not
``^[a-zA-Z_][\\w-\\.]*$`` is 400 (``Messages.properties:80-83``). The emulator evaluates the XPath
subset of ``xml.etree.ElementTree`` (paths from the root or ``//``, with ``[n]``, ``[tag]``,
``[tag='v']``, ``[@a]``, ``[@a='v']`` predicates), optionally ending in ``/text()`` or
``/@name``; other expressions (functions, unions, axes) it answers 500, as Jenkins answers an
XPath it cannot compile.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

CONTENT_TYPES = {
    # Stapler sets "application/json;charset=UTF-8"; Jetty's MimeTypes cache canonicalises that known
    # type to lower case, the other two it leaves as set (unconfirmed on the wire)
    "json": "application/json;charset=utf-8",
    "python": "text/x-python;charset=UTF-8",
    "xml": "application/xml;charset=UTF-8",
}


# --- JSON and Python -----------------------------------------------------------------------------


_JSON_SPECIAL = re.compile('[\x00-\x1f\x7f-\x9f"\\\\\ud800-\udfff\U00010000-\U0010ffff]')


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code > 0xFFFF:  # Java sees a surrogate pair, each half escaped
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    if ch in '"\\':
        return "\\" + ch
    return f"\\u{code:04x}"  # an ISO control or a lone surrogate


def jenkins_string(text: str) -> str:
    """A string literal as JSONDataWriter.value writes it."""
    return '"' + _JSON_SPECIAL.sub(_json_escape, text) + '"'


def _literal(value: Any, python: bool) -> str:
    if value is None:
        return "None" if python else "null"
    if isinstance(value, bool):
        return ("True" if value else "False") if python else ("true" if value else "false")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return jenkins_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_literal(v, python) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f'"{k}":{_literal(v, python)}' for k, v in value.items()) + "}"
    raise TypeError(f"cannot export {type(value).__name__}")


def to_json(tree: dict[str, Any]) -> str:
    return _literal(tree, python=False)


def to_python(tree: dict[str, Any]) -> str:
    return _literal(tree, python=True)


# --- XML -----------------------------------------------------------------------------------------


def decapitalize(name: str) -> str:
    """java.beans.Introspector.decapitalize: "FooBar" -> "fooBar", "URL" stays."""
    if not name or (len(name) > 1 and name[0].isupper() and name[1].isupper()):
        return name
    return name[0].lower() + name[1:]


def root_name(cls: str) -> str:
    """The root element of a bean of Java class `cls` (XMLDataWriter.java:55-60)."""
    return decapitalize(cls.rsplit(".", 1)[-1].rsplit("$", 1)[-1])


def _name_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_:"


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_:.-"


def xml_name(name: str) -> str:
    """XMLDataWriter.makeXmlName: a property or map key made an element name."""
    if not name:
        name = "_"
    if not _name_start(name[0]):
        name = name[1:] if len(name) > 1 and _name_start(name[1]) else "_" + name
    return name[0] + "".join(ch for ch in name[1:] if _name_char(ch))


def singular(name: str) -> str:
    """XMLDataWriter.toSingular."""
    return re.sub(r"s$", "", re.sub(r"ies$", "y", name, count=1), count=1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write(name: str, value: Any, in_array: bool, out: list[str]) -> None:
    if value is None:
        return  # "use absence to indicate null"
    if isinstance(value, list):
        for v in value:
            _write(name, v, True, out)
        return
    element = singular(xml_name(name)) if in_array else xml_name(name)
    if isinstance(value, dict):
        cls = value.get("_class")
        out.append(f"<{element}" + (f" _class='{cls}'>" if cls is not None else ">"))
        for key, child in value.items():
            if key != "_class":
                _write(key, child, False, out)
        out.append(f"</{element}>")
        return
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    out.append(f"<{element}>{_escape(text)}</{element}>")


def to_xml(tree: dict[str, Any], cls: str) -> str:
    out: list[str] = []
    _write(root_name(cls), tree, False, out)
    return "".join(out)


# --- api/xml's xpath, wrapper, exclude (hudson/model/Api.java:104-215) --------------------------


@dataclass
class Answer:
    status: int
    body: str
    content_type: str | None


class UnsupportedXPath(ValueError):
    """An XPath beyond the emulator's subset."""


_WRAPPER = re.compile(r"^[a-zA-Z_][\w\-.]*$")
NO_MATCH = "XPath {0} didn’t match"
MULTIPLE = ('XPath "{0}" matched {1} nodes. Create XPath that only matches one, or use the "wrapper" '
            "query parameter to wrap them all under a root element.")
WRAPPER_INVALID = ("The wrapper parameter can only contain alphanumeric characters or dash/dot/underscore. "
                   "The first character has to be a letter or underscore.")
PRIMITIVE = "primitive XPath result sets forbidden; implement jenkins.security.SecureRequester"


def _select(document: ET.Element, xpath: str) -> list[Any]:
    """Evaluate `xpath` against a document node holding the root element: elements, or strings for
    a final ``text()`` / ``@name`` step."""
    expr = xpath.strip()
    tail: str | None = None
    match = re.fullmatch(r"(.*?)/(text\(\)|@[\w.:-]+)", expr)
    if match:
        expr, tail = match.group(1) or "/", match.group(2)
    if expr.startswith("//"):
        path = "." + expr
    elif expr.startswith("/"):
        path = "." + expr if expr != "/" else "."
    else:
        path = "./" + expr
    if re.search(r"[|()]|::|\$", path.replace("last()", "")):
        raise UnsupportedXPath(xpath)
    try:
        nodes = document.findall(path) if path != "." else [document]
    except (SyntaxError, KeyError, TypeError) as exc:
        raise UnsupportedXPath(xpath) from exc
    if tail is None:
        return nodes
    if tail == "text()":
        return [n.text for n in nodes if n.text]  # each node's text child
    attribute = tail[1:]
    return [n.get(attribute) for n in nodes if n.get(attribute) is not None]


def _dom4j(element: ET.Element) -> str:
    """dom4j XMLWriter's default format: no indentation, double quotes, ``<a/>`` when empty."""
    def attr(v: str) -> str:
        return (v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
                .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))

    out: list[str] = []

    def write(el: ET.Element) -> None:
        attrs = "".join(f' {k}="{attr(v)}"' for k, v in el.attrib.items())
        if not len(el) and not el.text:
            out.append(f"<{el.tag}{attrs}/>")
        else:
            out.append(f"<{el.tag}{attrs}>{_escape(el.text or '')}")
            for child in el:
                write(child)
                out.append(_escape(child.tail or ""))
            out.append(f"</{el.tag}>")

    write(element)
    return "".join(out)


def xml_answer(xml: str, params: dict[str, str], excludes: list[str]) -> Answer:
    """Api.doXml after the bean was written: `params` the query's xpath/wrapper."""
    xpath, wrapper = params.get("xpath"), params.get("wrapper")
    document = ET.Element("document")
    document.append(ET.fromstring(xml))
    for exclude in excludes:
        for node in _select(document, exclude):
            if isinstance(node, ET.Element):
                for parent in document.iter():
                    if node in list(parent):
                        parent.remove(node)
                        break
    if xpath is None:
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(_dom4j(c) for c in document)
        return Answer(200, body, CONTENT_TYPES["xml"])
    found = _select(document, xpath)
    if wrapper is not None:
        if not _WRAPPER.match(wrapper):
            return Answer(400, WRAPPER_INVALID, None)
        root = ET.Element(wrapper)
        for node in found:
            if isinstance(node, ET.Element):
                root.append(node)
            else:
                root.text = (root.text or "") + node
        return Answer(200, _dom4j(root), CONTENT_TYPES["xml"])
    if not found:
        return Answer(404, NO_MATCH.format(xpath), None)
    if len(found) > 1:
        return Answer(500, MULTIPLE.format(xpath, len(found)), None)
    if not isinstance(found[0], ET.Element):
        return Answer(403, PRIMITIVE, "text/html;charset=utf-8")
    return Answer(200, _dom4j(found[0]), CONTENT_TYPES["xml"])
