"""JJB's YAML loader on libyaml's parser, for trusted YAML, with JJB's own loader behind it.

Most of JJB 6.5.0's loading time is PyYAML's pure-Python scanner, parser and composer
(``jenkins_jobs.loader.Loader`` derives from ``yaml.Loader``). ``CLocLoader`` is that same
Loader class (JJB's constructors, tags, positions and includes) with PyYAML's libyaml-backed
``CParser`` in front, which builds the same nodes in C.

libyaml's marks carry no text, from which JJB's error messages print source snippets; the
positions ``CLocLoader`` records carry the text as ``yaml.Reader``'s marks do, so errors found
later (expanding, generating) print the same snippets. Errors while loading are left to JJB's
own loader: ``load_roots`` loads with ``CLocLoader`` first and, on any error at all, loads
everything again with JJB's ``load_files``; its result, or its error, is what the caller gets. JJB's
``retain_anchors`` option (anchors shared between files, kept by JJB's composer override) and
a PyYAML built without libyaml also go straight to JJB's loader, and so does every file that
includes YAML (see ``_load_with``). Team YAML is never loaded here (``confined`` is the only
loader for it).
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Sequence

import yaml
from jenkins_jobs.expander import YamlObjectsExpander
from jenkins_jobs.loader import Loader, enum_expanded_paths, is_stdin, load_files
from jenkins_jobs.position import Pos
from jenkins_jobs.roots import Roots

from ..top_level import add_top_level

__all__ = ["CLocLoader", "load_roots"]

log = logging.getLogger(__name__)

try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml
    _CParser = None


class _NamedText(io.StringIO):
    """Text for libyaml with the name JJB gives a stream (libyaml takes marks' name from it)."""

    def __init__(self, text: str, name):
        super().__init__(text)
        self.name = name


if _CParser is not None:

    class CLocLoader(_CParser, Loader):
        """``jenkins_jobs.loader.Loader`` parsing text with libyaml (see the module's docstring);
        file objects (JJB's stdin) are left to JJB's Loader."""

        def __init__(self, stream: str, jjb_config, source_path=None, source_dir=None):
            # yaml.Reader names a text stream "<unicode string>"; JJB then names it by its path.
            name = source_path or "<unicode string>"
            # yaml.Reader's marks point into the whole text (plus its "\0"), for snippets.
            self._buffer = stream + "\0"
            _CParser.__init__(self, _NamedText(stream, name))
            yaml.constructor.Constructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            # What JJB's Loader and LocLoader set up besides the parser.
            self.name = name
            self._line_ofs = 0
            self._column_ofs = 0
            self.jjb_config = jjb_config
            self.source_path = source_path
            self.source_dir = source_dir
            # Never true here (load_roots); libyaml keeps its anchors to itself, per document.
            self._retain_anchors = jjb_config.yamlparser["retain_anchors"]

        @classmethod
        def empty(cls, jjb_config):
            return cls("", jjb_config)

        def pos_from_node(self, node):
            # libyaml's marks have no buffer; JJB's error messages print snippets from it.
            mark = node.start_mark
            full = yaml.Mark(mark.name, mark.index, mark.line, mark.column, self._buffer, mark.index)
            return Pos(full, mark.name, mark.line, mark.column)

        def _with_stream(self, stream, source_path, source_dir):
            # JJB's Loader makes a plain Loader here (each file, include and !j2-yaml: text).
            return CLocLoader(stream, self.jjb_config, source_path, source_dir)

else:  # PyYAML without libyaml
    CLocLoader = None


def load_roots(config, paths: Sequence[Path]) -> Roots:
    """The YAML in `paths` loaded into JJB's ``Roots``: as JJB's ``load_files`` would, faster."""
    if CLocLoader is not None and not config.yamlparser["retain_anchors"]:
        roots = Roots(config)
        try:
            _load_with(CLocLoader.empty(config), config, roots, paths)
            return roots
        except Exception as exc:  # noqa: BLE001 - JJB's own loader below gives JJB's error, or succeeds
            log.debug("libyaml loading failed (%s: %s): loading again with JJB's own loader",
                      type(exc).__name__, exc)
    roots = Roots(config)
    load_files(config, roots, list(paths))
    return roots


# Tags that load YAML through the includer's loader (YamlInclude, J2Yaml), and YAML's tag
# directive (which could name them otherwise).
_LOADS_YAML = re.compile(r"!include(?![-\w])|!j2-yaml|%TAG")


def _load_with(loader, config, roots, paths) -> None:
    """JJB's load_files with `loader` for the top-level files that load no other YAML.

    A file that includes YAML (``!include:``, ``!j2-yaml:``) lends its anchors to what it
    includes (JJB's Loader passes its anchor table on); libyaml keeps anchors to itself, so
    such files, and everything they include, are loaded by JJB's own Loader.
    """
    expander = YamlObjectsExpander(config)
    jjb_loader = Loader.empty(config)
    for path in enum_expanded_paths(list(paths)):
        if is_stdin(path):
            data = jjb_loader.load_fp(path)
        else:
            text = path.read_text()  # what Loader.load_path reads, read once here
            chosen = jjb_loader if _LOADS_YAML.search(text) else loader
            data = chosen.load(text, source_path=path, source_dir=path.parent)
        if data is not None:
            add_top_level(config, roots, expander, data)
