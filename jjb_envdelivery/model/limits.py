"""The bounds on the work one team scope's YAML may ask of the updaters (DESIGN.md, "Trust").

The org file's ``limits`` section overrides the defaults, field by field (``yaml-bytes`` sets
``yaml_bytes``); ``jjb.limits`` enforces them while the scope is loaded and rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    """What one team scope may ask for. The defaults leave room for large real scopes."""

    yaml_bytes: int = 1 << 20             # one YAML or included file, before it is parsed
    yaml_expanded_size: int = 1 << 23     # one document after aliases: nodes plus scalar characters
    nesting_depth: int = 64               # nested mappings/sequences in one document
    include_depth: int = 16               # !include / !j2-yaml: within one another
    jobs: int = 2000                      # jobs one scope generates
    config_bytes: int = 1 << 18           # one job's config.xml
    jinja2_output_bytes: int = 1 << 20    # one !j2 / !include-jinja2 rendering
    jinja2_seconds: float = 10.0          # one !j2 / !include-jinja2 rendering

    @classmethod
    def setting_names(cls) -> dict[str, type]:
        """Each limit as the org file and the command line spell it, with its type."""
        return {f.name.replace("_", "-"): float if f.type == "float" else int for f in fields(cls)}

    def with_settings(self, settings) -> Limits:
        """These limits with `settings` ((org-file name, value) pairs) applied."""
        return replace(self, **{name.replace("-", "_"): value for name, value in settings})


DEFAULT_LIMITS = Limits()
