"""Reading a component's fields from config.xml as XStream does (jenkins-plugin-semantics.md §2).

An absent element is null (no constructor or field initialiser runs on load), an empty one is
``""``; booleans are ``true``/``false``. Unknown child elements are "old data" and ignored, as
Jenkins ignores them; fields the runner does not implement are refused by the component.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .errors import RunnerError


def text(el: ET.Element, tag: str) -> str | None:
    """The field's string: None when absent, "" when empty."""
    child = el.find(tag)
    if child is None:
        return None
    return child.text or ""


def flag(el: ET.Element, tag: str, absent: bool = False) -> bool:
    """A boolean field; ``absent`` is what a missing element means for this field."""
    value = text(el, tag)
    if value is None:
        return absent
    return value.strip() == "true"


def integer(el: ET.Element, tag: str, absent: int | None, job: str, where: str) -> int | None:
    value = text(el, tag)
    if value is None or value.strip() == "":
        return absent
    try:
        return int(value.strip())
    except ValueError:
        raise RunnerError(f"{job}: {where}/{tag}: expected an integer, got {value.strip()!r}") \
            from None


def refuse_unless_default(el: ET.Element, job: str, where: str,
                          defaults: dict[str, tuple[str, ...]]) -> None:
    """Refuse fields the runner does not implement unless they hold a value that changes
    nothing (``defaults``: element → accepted texts; "" accepts an empty element)."""
    for tag, accepted in defaults.items():
        value = text(el, tag)
        if value is not None and value.strip() not in accepted:
            raise RunnerError(f"{job}: {where}/{tag} = {value.strip()!r} is not implemented by "
                              f"the job runner (accepted: {', '.join(map(repr, accepted))})")


def expand(value: str, env: dict[str, str]) -> str:
    """``Util.replaceMacro`` (core Util.java:171-220): ``$NAME`` and ``${NAME}`` from ``env``,
    unknown names left as they are, ``$$`` a literal ``$``."""

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "$":
            return "$"
        return env.get(key.strip("{}"), m.group(0))

    return _VARIABLE.sub(one, value)


_VARIABLE = re.compile(r"\$([A-Za-z0-9_]+|\{[A-Za-z0-9_.]+\}|\$)")
