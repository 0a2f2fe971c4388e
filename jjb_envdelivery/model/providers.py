"""Finding a provider by name among the entry points of group ``jjb_envdelivery.providers``.

The org loader needs a provider's declared settings and credential, not the provider: the class
is loaded, never constructed, so checking an org file needs no credentials and no network. This is plugin
discovery, not a dependency: ``model`` never imports ``environments`` itself.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import EnvDeliveryError
from .settings import CredentialNeed, Setting

PROVIDER_GROUP = "jjb_envdelivery.providers"


class ProviderLookupError(EnvDeliveryError):
    """No usable provider of that name: unknown, failing to import, or not declaring its settings."""


def installed_providers() -> list[str]:
    """Registered names, without importing them (one that fails to import is still listed)."""
    return sorted({ep.name for ep in entry_points(group=PROVIDER_GROUP)})


def provider_class(name: str) -> type:
    """The class registered as `name`; an import failure is an error that names it, not a traceback.

    importlib.metadata rather than stevedore: stevedore caches a group's entry points for the
    whole process and logs a warning for every unknown name, which the CLI would print.
    """
    found = list(entry_points(group=PROVIDER_GROUP, name=name))
    if not found:
        raise ProviderLookupError(f"unknown provider {name!r}; installed providers: "
                                  f"{', '.join(installed_providers()) or 'none'}")
    if len(found) > 1:
        raise ProviderLookupError(f"provider {name!r} is installed more than once "
                                  f"({', '.join(sorted(ep.value for ep in found))}); uninstall all but one")
    try:
        return found[0].load()
    except Exception as exc:  # noqa: BLE001 - a plugin's import can fail in any way; the user needs to know which
        raise ProviderLookupError(f"provider {name!r} ({found[0].value}) cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}") from None


def declared_settings(name: str) -> tuple[Setting, ...]:
    """What the provider `name` accepts in ``environments.provider.settings``."""
    cls = provider_class(name)
    declared = getattr(cls, "SETTINGS", None)
    if not (isinstance(cls, type) and isinstance(declared, tuple) and all(isinstance(s, Setting) for s in declared)):
        raise ProviderLookupError(f"provider {name!r} ({cls!r}) is not a Provider class declaring its "
                                  "SETTINGS (a tuple of Setting)")
    return declared


def declared_credential(name: str) -> CredentialNeed | None:
    """The Jenkins credential the provider `name` reads (``CREDENTIAL``), or None when it reads none."""
    cls = provider_class(name)
    need = getattr(cls, "CREDENTIAL", None)
    if need is not None and not isinstance(need, CredentialNeed):
        raise ProviderLookupError(f"provider {name!r} ({cls!r}) declares CREDENTIAL as {need!r}, not a "
                                  "CredentialNeed (or None)")
    return need


def declared_builds_after(name: str) -> str:
    """The service stage (``package`` or ``deliver``) whose builds the provider's environments
    are built from (``BUILDS_AFTER``): the env build jobs trigger on it."""
    stage = getattr(provider_class(name), "BUILDS_AFTER", "package")
    if stage not in ("package", "deliver"):
        raise ProviderLookupError(f"provider {name!r} declares BUILDS_AFTER {stage!r}; expected 'package' or 'deliver'")
    return stage


def declared_uses_compose(name: str) -> bool:
    """Whether the provider `name` reads a Compose file per variant (``USES_COMPOSE``)."""
    return getattr(provider_class(name), "USES_COMPOSE", False) is True
