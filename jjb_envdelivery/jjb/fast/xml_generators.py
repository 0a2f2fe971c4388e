"""JJB's XML generators, without the per-job entry-point load, and items that print once.

JJB 6.5.0's ``XmlGenerator._getXMLForData`` looks the project (or view) type up with
``pkg_resources.iter_entry_points(...)`` and ``ep.load()`` for every job. ``load()`` checks the
distribution's requirements each time (``WorkingSet.resolve``), which is most of what
``jenkins-jobs test`` spends. These subclasses look each type up the same way once per
process and reuse the class; everything else is JJB's own code: the class is instantiated
per job with the registry, ``root_xml`` and the registry's modules' ``gen_xml`` run as in
JJB, and an unknown type is reported by JJB itself.

The lookup is cached for the process, as JJB's ``ModuleRegistry`` caches component entry
points (``ModuleRegistry._entry_points_cache``): distributions installed while a process runs
are not seen by either.

The items are ``rendered.RenderedItem``: an ``XmlJob`` whose ``output()`` bytes are printed once,
as the item is made, by ``pretty.pretty_xml`` (the bytes of JJB's minidom round trip, without it).
"""

from __future__ import annotations

import threading

import pkg_resources
from jenkins_jobs.xml_config import XmlJobGenerator, XmlViewGenerator

from ..rendered import RenderedItem
from .pretty import pretty_xml

__all__ = ["FastXmlJobGenerator", "FastXmlViewGenerator", "type_class"]

_classes: dict[tuple[str, str], type] = {}
_lock = threading.Lock()


def type_class(group: str, kind: str) -> type | None:
    """The class JJB would load for `kind` in `group` (first matching entry point), or None."""
    key = (group, kind)
    cls = _classes.get(key)
    if cls is None:
        with _lock:
            cls = _classes.get(key)
            if cls is None:
                for ep in pkg_resources.iter_entry_points(group=group, name=kind):
                    # As JJB: load() checks the distribution's requirements (once, here).
                    cls = _classes[key] = ep.load()
                    break
    return cls


class _CachedTypeMixin:
    """``XmlGenerator._getXMLForData`` with the type's class looked up once per process."""

    def _getXMLForData(self, data):  # JJB's name
        kind = data.get(self.kind_attribute, self.kind_default)
        cls = type_class(self.entry_point_group, kind) if isinstance(kind, str) else None
        if cls is None:
            # Unknown (or odd) type: JJB's own code raises its own error for it.
            return super()._getXMLForData(data)
        mod = cls(self.registry)
        xml = mod.root_xml(data)
        if "view-type" not in data:  # as JJB: views get no module gen_xml pass
            self._gen_xml(xml, data)
        return RenderedItem(xml, data["name"], pretty_xml, is_view=self.is_view)


class FastXmlJobGenerator(_CachedTypeMixin, XmlJobGenerator):
    is_view = False


class FastXmlViewGenerator(_CachedTypeMixin, XmlViewGenerator):
    is_view = True
