"""Finding a provider by name among the entry points of group ``jjb_envdelivery.providers``.

The lookup itself is the model's (``model.providers``), which the org loader uses to check
settings: a provider that loaded with the org file is the one constructed here.
"""

from __future__ import annotations

from ..errors import EnvDeliveryError
from ..model import providers
from ..model.organisation import Organisation
from .provider import Provider


def known_providers() -> list[str]:
    """Registered names, without importing them (one that fails to import is still listed)."""
    return providers.installed_providers()


def provider_class(name: str) -> type[Provider]:
    cls = providers.provider_class(name)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise EnvDeliveryError(f"environment provider {name!r} ({cls!r}) is not a Provider subclass")
    return cls


def open_provider(org: Organisation) -> Provider:
    if org.environments is None:
        raise EnvDeliveryError(f"{org.org_file} has no 'environments' section")
    spec = org.environments.provider
    return provider_class(spec.name)(spec.settings, org.org_dir)
