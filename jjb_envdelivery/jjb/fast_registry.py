"""JJB's ``ModuleRegistry`` with its per-process lookups done once and cheaply.

Costs of JJB 6.5.0's registry that do not depend on the YAML:

- ``_filter_kwargs`` calls ``inspect.getfullargspec`` on every component dispatch (~14% of
  rendering a large corpus). Here each component's parameter names are read once.
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
"""

from __future__ import annotations

import inspect
import operator
import threading
import types

import pkg_resources
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.registry import ModuleRegistry

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
        self._plugin_version = {} if plugins_list is None else self._get_plugins_versions(plugins_list)
        for entrypoint in pkg_resources.iter_entry_points(group="jenkins_jobs.modules"):
            module = self._resolve(entrypoint)(self)
            self.modules.append(module)
            if module.component_type is not None:
                self.modules_by_component_type[module.component_type] = entrypoint
        # JJB sorts after every append; one stable sort gives the same order.
        self.modules.sort(key=operator.attrgetter("sequence"))

    def get_component_list_type(self, entry_point):
        kind = self._component_type_cache.get(entry_point)
        if kind is None:
            kind = self._component_type_cache[entry_point] = self._resolve(entry_point).component_list_type
        return kind

    @staticmethod
    def _filter_kwargs(func, **kwargs):
        names = FastModuleRegistry._parameters.get(func)
        if names is None:
            names = frozenset(inspect.getfullargspec(func).args)
            with FastModuleRegistry._lock:
                FastModuleRegistry._parameters[func] = names
        return {name: value for name, value in kwargs.items() if name in names}

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
