"""Finding a provider by name among the stevedore entry points (group ``jjb_envdelivery.providers``)."""

from __future__ import annotations

from importlib.metadata import entry_points

from stevedore import driver
from stevedore.exception import NoMatches

from ..errors import EnvDeliveryError
from ..model.organisation import Organisation
from .provider import PROVIDER_GROUP, Provider


def known_providers() -> list[str]:
    """Registered names, without importing them (one that fails to import is still listed)."""
    return sorted({ep.name for ep in entry_points(group=PROVIDER_GROUP)})


def provider_class(name: str) -> type[Provider]:
    try:
        manager = driver.DriverManager(namespace=PROVIDER_GROUP, name=name, invoke_on_load=False)
    except NoMatches:
        raise EnvDeliveryError(f"unknown environment provider {name!r}; installed providers: "
                               f"{', '.join(known_providers()) or 'none'}") from None
    cls = manager.driver
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise EnvDeliveryError(f"environment provider {name!r} ({cls!r}) is not a Provider subclass")
    return cls


def open_provider(org: Organisation) -> Provider:
    if org.environments is None:
        raise EnvDeliveryError(f"{org.org_file} has no 'environments' section")
    spec = org.environments.provider
    return provider_class(spec.name)(spec.settings, org.org_dir)
