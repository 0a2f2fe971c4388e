"""An item's ``config.xml`` as Jenkins keeps it on disk, and what ``GET config.xml`` answers.

Jenkins 2.492.3 (the version the emulator reports, ``DEFAULT_VERSION``) answers ``GET
…/config.xml`` with the stored file as it is on disk (jenkinsci/jenkins@8bfbe686, tag
jenkins-2.492.3, ``core/src/main/java/hudson/model/AbstractItem.java:881-897``,
``writeConfigDotXml``: ``IOUtils.copy(configFile.getFile(), os)`` for a user with Configure).
From 2.568 it answers an XStream re-serialisation of the object in memory instead
(``Items.XSTREAM2.toXMLUTF8(this, os)``; SECURITY-3744, commit 037c2c30cd, first in
jenkins-2.568; ``AbstractItem.java:888-897`` at ff9430ee).

What is on disk depends on who wrote the file last:

* ``createItem`` with XML and ``POST config.xml`` copy the posted document through
  ``XMLUtils.safeTransform`` (``ItemGroupMixIn.java:294``; ``AbstractItem.java:913-918``), a JDK
  identity transform (``jenkins/util/xml/XMLUtils.java:58-100``, ``:244-252``) and nothing saves it
  again. What that transform writes was checked by running the same SAX identity transform on
  OpenJDK 17 and 25: ``<?xml version="1.0" encoding="UTF-8"?>`` with no line break after it;
  white space before and after the root element dropped; comments, processing instructions and
  CDATA sections kept (an empty CDATA section vanishes); ``<a></a>`` written ``<a/>``; attributes in
  double quotes, one space apart, in document order; in text ``& < >`` escaped, a CR written
  ``&#13;``, DEL and C1 controls and characters beyond the BMP as decimal references; in attribute
  values ``& < > "``, tab, LF and CR escaped, beyond-BMP characters as decimal references.
  Anything else comes back as posted, so JJB's (minidom's) output comes back unchanged after the
  declaration except ``&quot;`` in text, which comes back as ``"``.
* ``createItem?mode=copy`` copies the source's file byte for byte (``ItemGroupMixIn.java:262-263``).
* Everything Jenkins changes itself goes through ``save()`` = ``XmlFile.write``: an XStream
  serialisation after ``<?xml version='1.1' encoding='UTF-8'?>`` and a line break
  (``hudson/XmlFile.java:203-212``): enable/disable, ``submitDescription``, a form-created item,
  a credential added to a folder's store. The emulator's XStream stand-in is
  ``emulator_state.serialise``.
"""

from __future__ import annotations

import io
import re
import xml.sax
import xml.sax.handler
from typing import Any

TRANSFORM_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'  # XMLUtils.safeTransform
XMLFILE_DECLARATION = "<?xml version='1.1' encoding='UTF-8'?>\n"  # XmlFile.write (save())
XSTREAM_DECLARATION = '<?xml version="1.1" encoding="UTF-8"?>\n'  # XStream2.toXMLUTF8
FIRST_XSTREAM_GET = (2, 568)  # SECURITY-3744: GET config.xml re-serialises from this version on


def serves_stored_file(version: str) -> bool:
    """Whether Jenkins `version` answers ``GET config.xml`` with the file on disk (before 2.568)."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    return numbers < FIRST_XSTREAM_GET if len(numbers) == 2 else False


def _escaped(ch: str, attribute: bool) -> str:
    code = ord(ch)
    if code > 0xFFFF:
        return f"&#{code};"
    if attribute:
        return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
                "\r": "&#13;"}.get(ch, ch)
    if ch == "\r" or 0x7F <= code <= 0x9F:
        return f"&#{code};"
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(ch, ch)


_TEXT_SPECIAL = re.compile("[&<>\r\x7f-\x9f\U00010000-\U0010ffff]")
_ATTR_SPECIAL = re.compile('[&<>"\t\n\r\U00010000-\U0010ffff]')


def _text(text: str) -> str:
    return _TEXT_SPECIAL.sub(lambda m: _escaped(m.group(), False), text)


def _attr(text: str) -> str:
    return _ATTR_SPECIAL.sub(lambda m: _escaped(m.group(), True), text)


class _IdentityWriter(xml.sax.handler.ContentHandler, xml.sax.handler.LexicalHandler):
    """SAX events written back the way the JDK's identity transformer (xalan ToXMLStream) does."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self.start_open = False  # "<name attrs" written, ">" or "/>" still to come
        self.in_cdata = False
        self.cdata_empty = False

    def _close_start(self) -> None:
        if self.start_open:
            self.out.append(">")
            self.start_open = False

    def startElement(self, name: str, attrs: Any) -> None:
        self._close_start()
        self.out.append("<" + name + "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items()))
        self.start_open = True

    def endElement(self, name: str) -> None:
        if self.start_open:
            self.out.append("/>")
            self.start_open = False
        else:
            self.out.append(f"</{name}>")

    def characters(self, content: str) -> None:
        if not content:
            return
        if self.in_cdata:
            if self.cdata_empty:
                self._close_start()
                self.out.append("<![CDATA[")
                self.cdata_empty = False
            self.out.append(content)
            return
        self._close_start()
        self.out.append(_text(content))

    ignorableWhitespace = characters

    def processingInstruction(self, target: str, data: str) -> None:
        self._close_start()
        self.out.append(f"<?{target} {data}?>" if data else f"<?{target}?>")

    def comment(self, content: str) -> None:
        self._close_start()
        self.out.append(f"<!--{content}-->")

    def startCDATA(self) -> None:
        self.in_cdata, self.cdata_empty = True, True

    def endCDATA(self) -> None:
        if not self.cdata_empty:
            self.out.append("]]>")
        self.in_cdata = False


def identity_transform(body: bytes) -> str:
    """The text ``XMLUtils.safeTransform`` writes for a posted document, declaration included.
    ValueError when the document is malformed (Jenkins: "Failed to persist config.xml", 500)."""
    writer = _IdentityWriter()
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    parser.setContentHandler(writer)
    parser.setProperty(xml.sax.handler.property_lexical_handler, writer)
    source = xml.sax.xmlreader.InputSource()
    source.setByteStream(io.BytesIO(body))
    try:
        parser.parse(source)
    except xml.sax.SAXException as exc:
        raise ValueError(str(exc)) from exc
    return TRANSFORM_DECLARATION + "".join(writer.out)


def split_declaration(text: str) -> tuple[str, str]:
    """(the XML declaration with what follows it up to the next markup, the rest)."""
    match = re.match(r"<\?xml[^>]*\?>\s*", text)
    return (match.group(), text[match.end():]) if match else ("", text)
