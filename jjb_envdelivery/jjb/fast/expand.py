"""JJB's template expansion with plain strings passed through instead of formatted.

JJB 6.5.0 expands every string of a job, template or macro body through its
``CustomFormatter`` (two regular-expression passes, then ``string.Formatter``'s Python loop),
about a million calls for openstack-project-config. Most of those strings (keys, plain values,
whole scripts) hold no ``{`` or ``}``; for such a string the formatter returns the same text
(``Formatter.parse`` yields it as one literal) and can neither fail nor read a parameter, as
long as the parameters' names are all strings (``format(**params)`` refuses others, so then
JJB's own path runs and fails as JJB does).

- ``PlainPassStrExpander``: JJB's ``StrExpander`` that returns plain strings as they are, and
  remembers what simple formats gave for the same values (JJB formats the same few hundred
  formats, with mostly the same values, tens of thousands of times; see ``_SIMPLE_FORMAT``).
- ``expand_loc_dict`` and ``expand_loc_list``: JJB's ``expand_dict`` and ``expand_list`` for
  ``LocDict`` and ``LocList`` (same result objects, positions and evaluation order), with the
  plain-string check made inline instead of through two calls per string, and nested
  containers expanded directly instead of through ``Expander.expand``.

Every other string, and every other type, goes to JJB's own expanders. JJB builds its
expanders inside its adders (``Expander(config)`` per job, template, view and macro), so
``use_fast_strings`` changes the tables of those instances once the YAML is loaded; JJB's
modules are not changed.
"""

from __future__ import annotations

import re
from functools import partial
from itertools import repeat

from jenkins_jobs.expander import StrExpander
from jenkins_jobs.loc_loader import LocDict, LocList, LocString

__all__ = ["PlainPassStrExpander", "expand_loc_dict", "expand_loc_list", "use_fast_strings"]


class _StringKeys:
    """Whether every parameter name is a string; one job's strings share one params object."""

    last = None

    @classmethod
    def check(cls, params) -> bool:
        if params is cls.last:
            return True
        if all(map(isinstance, params, repeat(str))):
            cls.last = params
            return True
        return False


class PlainPassStrExpander(StrExpander):
    """JJB's StrExpander: plain strings pass through; simple formats are remembered (below)."""

    def __init__(self, allow_empty_variables):
        super().__init__(allow_empty_variables)
        self._names: dict[str, tuple | None] = {}  # format -> the names it reads, or None
        self._results: dict[tuple, object] = {}  # (format, (type, value) per name) -> result
        self.hits = self.misses = 0

    def __call__(self, obj, params, key_pos, value_pos):
        text = str(obj)
        if not (params is _StringKeys.last or _StringKeys.check(params)):
            return super().__call__(obj, params, key_pos, value_pos)
        if "{" not in text and "}" not in text:
            return text
        names = self._names.get(text, _UNSEEN)
        if names is _UNSEEN:
            names = _names_read(text)
            if len(self._names) < MAX_REMEMBERED:
                self._names[text] = names
        if names is None:
            return super().__call__(obj, params, key_pos, value_pos)
        key = [text]
        for name in names:
            value = params.get(name, _UNSEEN)
            kind = type(value)
            if value is not _UNSEEN and kind is not str and kind is not int and kind is not bool and value is not None:
                return super().__call__(obj, params, key_pos, value_pos)
            key.append(kind)
            key.append(value)
        key = tuple(key)
        result = self._results.get(key, _UNSEEN)
        if result is not _UNSEEN:
            self.hits += 1
            return result
        self.misses += 1
        result = super().__call__(obj, params, key_pos, value_pos)  # JJB's error, if any, is not kept
        if len(self._results) < MAX_REMEMBERED:
            self._results[key] = result
        return result


# A format whose every brace belongs to a simple field or to a doubled brace. A simple field is
# {name} or {name|default} (name: word characters; default: no braces), which JJB's
# CustomFormatter reads itself, or {other name} (any characters but braces and ! : . [ ] |,
# such as "zuul-url"), which its regular expressions leave to string.Formatter as a plain
# keyword field. For such a format JJB reads no parameter but those names, and what it returns
# follows from whether each is there and its value: the value itself for a format that is one
# field, otherwise the text with the fields filled in (or their defaults). So, for values of
# immutable types that format the same whenever they are equal and of the same type (str, int,
# bool, None; not float: 0.0 == -0.0), the result can be remembered and handed out again.
_SIMPLE_FORMAT = re.compile(r"(?:[^{}]|\{\{|\}\}|\{\w+(?:\|[^{}]*)?\}|\{[^{}!:.\[\]|]+\})*")
# The names a simple format may read (more than it does read is harmless: only a longer key).
_FIELD_NAME = re.compile(r"\{(\w+)(?:\|[^{}]*)?\}|\{([^{}!:.\[\]|]+)\}")
_UNSEEN = object()
MAX_REMEMBERED = 200_000  # formats, and results, per expander: a bound on the memory they take


def _names_read(text: str) -> tuple | None:
    if _SIMPLE_FORMAT.fullmatch(text) is None:
        return None
    return tuple(sorted({word or other for word, other in _FIELD_NAME.findall(text)}))


def expand_loc_dict(expander, obj, params, key_pos, value_pos):
    """``jenkins_jobs.expander.expand_dict`` for a LocDict."""
    expand = expander.expand
    plain = params is _StringKeys.last or _StringKeys.check(params)
    key_positions, value_positions = obj.key_pos, obj.value_pos
    result = LocDict(pos=obj.pos)
    result_key_pos, result_value_pos = result.key_pos, result.value_pos
    for key, value in obj.items():
        if plain and type(key) is str and "{" not in key and "}" not in key:
            new_key = key
        else:
            new_key = expand(key, params, None)
        kp, vp = key_positions.get(key), value_positions.get(key)
        kind = type(value)
        if plain and kind is str and "{" not in value and "}" not in value:
            new_value = value
        elif kind is LocDict:  # what expand() calls for it (use_fast_strings installs both)
            new_value = expand_loc_dict(expander, value, params, kp, vp)
        elif kind is LocList:
            new_value = expand_loc_list(expander, value, params, kp, vp)
        else:
            new_value = expand(value, params, kp, vp)
        # LocDict.set_item
        if type(new_value) is LocString:
            dict.__setitem__(result, new_key, str(new_value))
            result_value_pos[new_key] = new_value.pos
        else:
            dict.__setitem__(result, new_key, new_value)
        if kp:
            result_key_pos[new_key] = kp
        if vp:
            result_value_pos[new_key] = vp
    return result


def expand_loc_list(expander, obj, params, key_pos, value_pos):
    """``jenkins_jobs.expander.expand_list`` for a LocList."""
    expand = expander.expand
    plain = params is _StringKeys.last or _StringKeys.check(params)
    positions = obj.value_pos
    items = []
    for index, item in enumerate(obj):
        position = positions[index]  # as JJB: an IndexError on a short position list
        kind = type(item)
        if plain and kind is str and "{" not in item and "}" not in item:
            items.append(item)
        elif kind is LocDict:
            items.append(expand_loc_dict(expander, item, params, None, position))
        elif kind is LocList:
            items.append(expand_loc_list(expander, item, params, None, position))
        else:
            items.append(expand(item, params, None, position))
    return LocList(items, obj.pos, positions[:len(obj)])


def use_fast_strings(roots) -> int:
    """Give every formatting expander of the loaded `roots` the plain-string pass; returns how
    many expanders were changed."""
    fast: dict[bool, PlainPassStrExpander] = {}
    seen: set[int] = set()
    changed = 0
    groups = [roots.jobs, roots.job_templates, roots.views, roots.view_templates, *roots.macros.values()]
    for group in groups:
        for element in group.values():
            for attribute in ("_expander", "_str_expander"):
                expander = getattr(element, attribute, None)
                if expander is None or id(expander) in seen:
                    continue
                seen.add(id(expander))
                table = expander.expanders
                # Only expanders that format strings with JJB's own StrExpander (not, say,
                # YamlObjectsExpander, which leaves strings alone).
                current = table.get(str)
                if type(current) is not StrExpander or type(table.get(LocString)) is not StrExpander:
                    continue
                allow_empty = current._formatter.allow_empty
                if allow_empty not in fast:
                    fast[allow_empty] = PlainPassStrExpander(allow_empty)
                table[str] = table[LocString] = fast[allow_empty]
                table[LocDict] = partial(expand_loc_dict, expander)
                table[LocList] = partial(expand_loc_list, expander)
                changed += 1
    return changed
