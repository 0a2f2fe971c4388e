"""JJB's ``ModuleRegistry`` with its per-process lookups done once and cheaply.

Costs of JJB 6.5.0's registry that do not depend on the YAML:

- ``dispatch`` filters its keyword arguments with ``_filter_kwargs``, which calls
  ``inspect.getfullargspec`` on every component dispatch (~14% of rendering a large corpus).
  Here each component's parameter names are read once (``_argument_names``).
- ``_load_eps`` builds each component group's table (the module's functions whose docstring
  starts ``yaml: NAME``, then the ``jenkins_jobs.<group>`` entry points, such as this package's
  builders) with ``EntryPoint.load()``, which re-checks the distribution's requirements for
  every one of several hundred components: about 0.6 s at the start of every process. Here the
  requirements of each distribution are checked once (``EntryPoint.require``, which raises as
  ``load()`` would) and each entry point is then resolved without the repeat check. The same
  goes for the module entry points that ``__init__`` loads for every registry, and for
  ``get_component_list_type``.

The tables are the ones JJB builds (same names, same objects, same duplicate error; a test
compares them) and go into JJB's own class-level cache, as JJB's method would put them.

Costs that grow with the jobs, in dispatching a component (``dispatch``) and expanding a macro
(``Macro.dispatch_elements``), about 100,000 macro calls for openstack-project-config:

- JJB's ``dispatch`` copies the whole job dict into a dict it never reads (``paramdict``)
  for every component of a macro called with arguments;
- ``dispatch_elements`` merges the macro's defaults (a merge with the global defaults, redone
  on every call), its parameters and the job dict into a new positioned ``LocDict``, copying
  the position tables of all three, although nothing reads those positions: the merged
  parameters only feed formatting and templates, which see a plain mapping.

``dispatch`` and ``_dispatch_macro`` here do what JJB's do, in the same order with the same
errors and contexts, without that waste: the defaults and parameters of each macro are merged
once per registry, and the job's values are laid over them in a plain dict.
"""

from __future__ import annotations

import inspect
import operator
import threading
import types

import pkg_resources
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.registry import ModuleRegistry, logger
from jenkins_jobs.yaml_objects import BaseYamlObject

__all__ = ["FastModuleRegistry"]


class FastModuleRegistry(ModuleRegistry):
    _parameters: dict = {}
    _lock = threading.Lock()
    _checked_distributions: set = set()

    def __init__(self, jjb_config, plugins_list=None):
        # JJB's __init__, with its module entry points resolved as in _load_eps below (JJB's
        # loads each with load(), which re-checks the requirements, ~0.2 s per registry).
        self.modules = []
        self.modules_by_component_type = {}
        self.handlers = {}
        self.jjb_config = jjb_config
        self.masked_warned = {}
        self._macros = {}
        self._merged_macro_params: dict[int, tuple] = {}  # id(macro) -> (macro, params)
        self._component_kinds: dict[str, tuple] = {}  # component type -> (entry point, list type)
        self._plugin_version = {} if plugins_list is None else self._get_plugins_versions(plugins_list)
        for entrypoint in pkg_resources.iter_entry_points(group="jenkins_jobs.modules"):
            module = self._resolve(entrypoint)(self)
            self.modules.append(module)
            if module.component_type is not None:
                self.modules_by_component_type[module.component_type] = entrypoint
        # JJB sorts after every append; one stable sort gives the same order.
        self.modules.sort(key=operator.attrgetter("sequence"))

    def dispatch(self, component_type, xml_parent, component, template_data={}, job_data=None,  # noqa: B006 - JJB's
                 component_pos=None):
        """JJB's ``ModuleRegistry.dispatch`` (see the module docstring)."""
        kind = self._component_kinds.get(component_type)
        if kind is None:
            if component_type not in self.modules_by_component_type:
                raise JenkinsJobsException("Unknown component type: " "'{0}'.".format(component_type))
            entry_point = self.modules_by_component_type[component_type]
            kind = self._component_kinds[component_type] = (entry_point, self.get_component_list_type(entry_point))
        entry_point, component_list_type = kind
        if isinstance(component, dict):
            name, component_data = next(iter(component.items()))
        else:
            name = component
            component_data = {}
        eps = self._entry_points_cache.get(component_list_type)
        if eps is None:
            eps = self._load_eps(component_list_type, component_type, entry_point, name)
        macros = self._macros.get(component_type)
        macro = macros.get(name) if macros else None
        if macro:
            try:
                self._dispatch_macro(component_data, component_type, eps, job_data, macro, name, xml_parent)
            except JenkinsJobsException as x:
                if component_pos is not None:
                    raise x.with_context(f"While expanding {component_type} macro call {name!r}",  # noqa: B904 - as JJB
                                         pos=component_pos)
                raise
        elif name in eps:
            try:
                func = eps[name]
                if "job_data" in self._argument_names(func):  # JJB: _filter_kwargs(func, job_data=...)
                    func(self, xml_parent, component_data, job_data=job_data)
                else:
                    func(self, xml_parent, component_data)
            except JenkinsJobsException as x:
                raise x.with_context(f"In {component_type} {name!r}", pos=component.pos)  # noqa: B904 - as JJB
        else:
            raise JenkinsJobsException(
                "Unknown entry point or macro '{0}' for component type: '{1}'.".format(name, component_type)
            )

    def _dispatch_macro(self, component_data, component_type, eps, job_data, macro, name, xml_parent):
        """JJB's ``_dispatch_macro`` and ``Macro.dispatch_elements`` (see the module docstring)."""
        if name in eps and name not in self.masked_warned:
            self.masked_warned[name] = True
            logger.warning(
                "You have a macro ('%s') defined for '%s' component type that is masking an inbuilt definition"
                % (name, component_type)
            )
        if component_data is None:
            component_data = {}
        full_params = {**self._macro_params(macro), **component_data, **(job_data or {})}
        element_list = macro.elements
        if isinstance(element_list, BaseYamlObject):
            # As JJB: a !j2-yaml: right below the macro body, without expanding the tags inside.
            element_list = element_list.expand(macro._str_expander, full_params)
        for element in element_list:
            try:
                expanded_element = macro._expander.expand(element, full_params)
            except JenkinsJobsException as x:
                raise x.with_context(f"While expanding {macro}", pos=macro.pos)  # noqa: B904 - as JJB
            self.dispatch(macro._type_name, xml_parent, expanded_element, component_data, job_data=job_data)

    def _macro_params(self, macro) -> dict:
        """The macro's defaults (merged with the global ones) and its parameters, merged once."""
        entry = self._merged_macro_params.get(id(macro))
        if entry is None or entry[0] is not macro:
            # _pick_defaults raises JJB's error for missing defaults (again on every call, as JJB).
            merged = {**macro._pick_defaults(macro.defaults_name).params, **macro.params}
            entry = self._merged_macro_params[id(macro)] = (macro, merged)
        return entry[1]

    def get_component_list_type(self, entry_point):
        kind = self._component_type_cache.get(entry_point)
        if kind is None:
            kind = self._component_type_cache[entry_point] = self._resolve(entry_point).component_list_type
        return kind

    @staticmethod
    def _argument_names(func) -> frozenset:
        """``getargspec(func).args`` as JJB's ``_filter_kwargs`` reads it, once per function."""
        names = FastModuleRegistry._parameters.get(func)
        if names is None:
            names = frozenset(inspect.getfullargspec(func).args)
            with FastModuleRegistry._lock:
                FastModuleRegistry._parameters[func] = names
        return names

    def _load_eps(self, component_list_type, component_type, entry_point, name):
        module = self._resolve(pkg_resources.EntryPoint("__all__", entry_point.module_name, dist=entry_point.dist))
        entry_points = [
            pkg_resources.EntryPoint(component, entry_point.module_name, attrs=(func.__name__,),
                                     dist=entry_point.dist)
            for component, func in _documented_components(module)
        ]
        entry_points += pkg_resources.iter_entry_points(group=f"jenkins_jobs.{component_list_type}")
        table = {}
        for ep in entry_points:
            if ep.name in table:
                # JJB's message, word for word (it names the component being dispatched).
                raise JenkinsJobsException(
                    f"Duplicate entry point found for component type: '{component_type}', "
                    f"'{component_type}',name: '{name}'"
                )
            table[ep.name] = self._resolve(ep)
        self._entry_points_cache[component_list_type] = table
        return table

    @classmethod
    def _resolve(cls, ep: pkg_resources.EntryPoint):
        """``ep.load()``: the requirement check once per distribution, then the import."""
        key = (ep.dist, ep.extras)
        if ep.dist is None or key not in cls._checked_distributions:
            ep.require()  # without a distribution this raises, as load() does
            with cls._lock:
                cls._checked_distributions.add(key)
        return ep.resolve()


def _documented_components(module):
    """(name, function) for the module's functions whose docstring starts ``yaml: NAME``, in the
    order JJB walks them (``dir()``)."""
    for attribute in dir(module):
        func = module.__dict__.get(attribute)
        if not isinstance(func, types.FunctionType):
            continue
        first_line = func.__doc__.split("\n")[0] if isinstance(func.__doc__, str) else ""
        if not first_line.startswith("yaml:"):
            continue
        words = first_line.split(" ")
        if len(words) < 2:
            continue
        yield words[1], func
