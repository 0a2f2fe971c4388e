"""A job's parameter definitions (``hudson.model.ParametersDefinitionProperty``) for the REST
emulator: their ``api/json`` export and the values ``buildWithParameters`` makes of a request.

Sources: jenkinsci/jenkins@8bfbe686 (tag jenkins-2.492.3), ``core/src/main/java/hudson/model/``:

* ``ParametersDefinitionProperty`` is ``@ExportedBean(defaultVisibility = 2)`` and exports
  ``parameterDefinitions`` (``ParametersDefinitionProperty.java:75-113``); a job lists it among
  its properties in ``property`` (``Job.getAllProperties``, ``Job.java:611-614``).
* ``ParameterDefinition`` is ``@ExportedBean(defaultVisibility = 3)`` with ``type`` (the class's
  simple name), ``name``, ``description`` and ``defaultParameterValue``
  (``ParameterDefinition.java:99-148``, ``:277-280``); ``ChoiceParameterDefinition`` adds
  ``choices`` (``ChoiceParameterDefinition.java:128-131``).
* ``ParameterValue`` is ``@ExportedBean(defaultVisibility = 3)`` with ``name``
  (``ParameterValue.java:77-123``); ``StringParameterValue.value`` and ``BooleanParameterValue.value``
  are visibility 4 (``StringParameterValue.java:41-43``, ``BooleanParameterValue.java:37-38``); a
  password's value is not exported (``PasswordParameterValue.java``).
* ``buildWithParameters`` makes one value per definition: the request's, else the default
  (``ParametersDefinitionProperty.java:205-229``, ``SimpleParameterDefinition.createValue``); a
  string is trimmed when ``trim`` is set; a boolean is ``Boolean.valueOf``; a choice outside the
  list is an IllegalArgumentException (500). Parameters the job does not define are dropped.
  ``Queue.Item.getParams`` lists ``getShortDescription()`` per value, ``name=value``, a password
  as ``name=****`` (``Queue.java:2342-2350``, ``PasswordParameterValue.java:82-84``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

PROPERTY_CLASS = "hudson.model.ParametersDefinitionProperty"

# definition class -> the class of its value
VALUE_CLASSES = {
    "hudson.model.StringParameterDefinition": "hudson.model.StringParameterValue",
    "hudson.model.TextParameterDefinition": "hudson.model.TextParameterValue",
    "hudson.model.BooleanParameterDefinition": "hudson.model.BooleanParameterValue",
    "hudson.model.ChoiceParameterDefinition": "hudson.model.StringParameterValue",
    "hudson.model.PasswordParameterDefinition": "hudson.model.PasswordParameterValue",
}


def java_class(tag: str) -> str:
    """The class an XStream element name stands for ("_-" is "$", "__" is "_")."""
    return tag.replace("_-", "$").replace("__", "_")


@dataclass(frozen=True)
class Definition:
    cls: str
    name: str
    description: str | None
    default: str | None  # the stored default (a password's encrypted one), None when absent
    choices: tuple[str, ...] = ()
    trim: bool = False

    @property
    def type(self) -> str:
        return self.cls.rsplit(".", 1)[-1].rsplit("$", 1)[-1]

    def default_value(self) -> str | bool | None:
        """What getDefaultParameterValue holds; None when the class makes none the emulator knows."""
        if self.cls == "hudson.model.BooleanParameterDefinition":
            return (self.default or "").strip() == "true"
        if self.cls == "hudson.model.ChoiceParameterDefinition":
            return self.choices[0] if self.choices else None
        if self.cls in VALUE_CLASSES:
            value = self.default or ""
            return value.strip() if self.trim else value
        return None

    def create_value(self, given: str | None) -> str | bool | None:
        """SimpleParameterDefinition.createValue(StaplerRequest): the request's value or the
        default; ValueError for a choice that is not offered (IllegalArgumentException)."""
        if given is None:
            return self.default_value()
        if self.cls == "hudson.model.BooleanParameterDefinition":
            return given.lower() == "true"
        if self.cls == "hudson.model.ChoiceParameterDefinition" and given not in self.choices:
            raise ValueError(f"Illegal choice for parameter {self.name}: {given}")
        return given.strip() if self.trim else given

    def short_description(self, value: str | bool | None) -> str:
        if self.cls == "hudson.model.PasswordParameterDefinition":
            return f"{self.name}=****"
        shown = str(value).lower() if isinstance(value, bool) else value
        return f"{self.name}={shown}"


def definitions(config_root: ET.Element) -> list[Definition]:
    """The parameter definitions in a job's config (``properties/ParametersDefinitionProperty``)."""
    prop = config_root.find(f"properties/{PROPERTY_CLASS}")
    if prop is None:
        return []
    out = []
    for el in prop.findall("parameterDefinitions/*"):
        choices = el.find("choices")
        out.append(Definition(
            java_class(el.tag), (el.findtext("name") or "").strip(), el.findtext("description"),
            el.findtext("defaultValue"),
            tuple(s.text or "" for s in choices.iter("string")) if choices is not None else (),
            (el.findtext("trim") or "").strip() == "true"))
    return out


def request_values(defs: list[Definition], params: dict[str, str]) -> list[tuple[Definition, Any]]:
    """The values buildWithParameters queues: one per definition (ValueError: a bad choice)."""
    return [(d, d.create_value(params.get(d.name))) for d in defs]


# --- api/json ----------------------------------------------------------------------------------


def exported_properties(config_root: ET.Element, exported: type) -> list[Any]:
    """Job.getAllProperties as exported: each configured job property by its class, the
    ParametersDefinitionProperty with its definitions. `exported` is emulator_api.Exported."""
    properties = config_root.find("properties")
    out = []
    for el in list(properties) if properties is not None else []:
        if not isinstance(el.tag, str):
            continue
        cls = el.get("class") or java_class(el.tag)
        if cls == PROPERTY_CLASS:
            out.append(exported(PROPERTY_CLASS, [
                ("parameterDefinitions", 2, [_definition(d, exported) for d in definitions(config_root)]),
            ]))
        else:
            out.append(exported(cls, []))
    return out


def _definition(d: Definition, exported: type) -> Any:
    props: list[tuple[str, int, Any]] = [
        ("defaultParameterValue", 3, _default_value(d, exported)),
        ("description", 3, d.description),
        ("name", 3, d.name),
        ("type", 3, d.type),
    ]
    if d.cls == "hudson.model.ChoiceParameterDefinition":
        props.append(("choices", 3, list(d.choices)))
    return exported(d.cls, props)


def _default_value(d: Definition, exported: type) -> Any:
    value = d.default_value()
    value_cls = VALUE_CLASSES.get(d.cls)
    if value is None or value_cls is None:
        return None
    props: list[tuple[str, int, Any]] = [("name", 3, d.name)]
    if d.cls != "hudson.model.PasswordParameterDefinition":
        props.append(("value", 4, value))
    return exported(value_cls, props)
