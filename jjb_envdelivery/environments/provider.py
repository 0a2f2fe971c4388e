"""The provider interface: what every environment provider (local, skytap, command, yours) implements.

A provider owns two things: environments (provisioned with the provisioning tool, or deployed
from a template) and the catalog of templates with their metadata. The catalog belongs to the
provider because each keeps it where its templates live: SQLite beside the local snapshots,
the template description in Skytap, the organisation's own tool for ``command``.

Providers are found through the entry point group ``jjb_envdelivery.providers``;
an organisation adds its own by installing a package that registers a ``Provider`` subclass::

    [options.entry_points]
    jjb_envdelivery.providers =
        mycloud = mycloud_envdelivery:MyCloudProvider

declaring its settings (``jjb_envdelivery.model.settings.Setting``), so that loading the org
file checks them (file and line, no credentials or network needed) and the constructor gets
them checked, with defaults, and the Jenkins credential it reads, if any
(``jjb_envdelivery.model.settings.CredentialNeed``: a credentials-binding kind and, for each
variable of that kind, the setting that names the environment variable)::

    class MyCloudProvider(Provider):
        name = "mycloud"
        SETTINGS = (Setting("region", str, required=True, help="where environments run"),
                    Setting("token-env", str, default="MYCLOUD_TOKEN", help="variable holding the API token"))
        CREDENTIAL = CredentialNeed("text", {"variable": "token-env"})

and naming it in the org file::

    environments:
      provider:
        name: mycloud
        credential-id: mycloud-api     # the Jenkins credential (here a secret text) with the token
        settings: {region: eu-1}

Credentials never go in the org file: a setting names the environment variable that holds one,
and ``credential-id`` names the Jenkins credential that every environment job binds to exactly
those variables. The org file must name one for a provider that declares ``CREDENTIAL`` and
must not for one that declares none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EnvDeliveryError
from ..model.settings import CredentialNeed, Setting, apply_settings
from .catalog import DELETING, Template, TemplateMeta


class ProviderError(EnvDeliveryError):
    """A provider operation failed (the message says which and why, never with credentials)."""


class NotFound(ProviderError):
    """A template or environment that does not exist."""


class TemplateGone(ProviderError):
    """A deploy lost the race with gc: the template was deleted, or is being deleted, and the
    environment made from it was torn down again."""


@dataclass(frozen=True)
class EnvSpec:
    """What to provision: an environment configuration (see ``envconfig``) and the tool to do it."""

    variant: str  # the variant it derives from ("custom" if none)
    release: str
    config: dict  # the environment configuration: hosts, networks, services
    tool_command: str  # with {config}, {artifacts}, {target} placeholders
    artifacts_dir: Path  # the provisioning tool's artifacts (.envdelivery/tool)
    purpose: str  # build | custom
    # The variant's Compose file (variants[].compose), for providers that read one (container).
    compose: Path | None = None


@dataclass
class Environment:
    id: str
    variant: str
    release: str
    purpose: str  # build | verify | deploy | custom
    template_id: str | None
    state: str  # provisioning | running
    created_at: str
    access: dict = field(default_factory=dict)  # how to reach it: {"path": ...} or {"url": ...}
    # Service -> version, as the provisioning tool reported it (empty when it reported nothing).
    versions: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"id": self.id, "variant": self.variant, "release": self.release, "purpose": self.purpose,
                "template": self.template_id, "state": self.state, "created_at": self.created_at,
                "access": self.access}


class Provider(ABC):
    """Base class of every provider. ``settings`` is ``environments.provider.settings`` of the org
    file, checked against ``SETTINGS`` with defaults filled in; relative paths in it are relative
    to ``org_dir``.

    Ephemeral environments (build and verify) belong to the process that made them: a provider
    that can tell reclaims them, and half-saved templates, in ``recover()`` once that process is gone.
    """

    name = "?"
    SETTINGS: tuple[Setting, ...] = ()
    # Whether each variant must name a Compose file (variants[].compose) describing its environment;
    # a provider that reads none refuses the key, so it is never silently ignored.
    USES_COMPOSE = False
    # The service stage whose builds a variant's environment is built from, so the env build jobs
    # trigger on it: "package" (the provisioning tool installs packages) or "deliver" (the
    # environment pulls what deliver jobs pushed, as the container provider does).
    BUILDS_AFTER = "package"
    # The Jenkins credential the provider reads from environment variables; None: it reads none.
    CREDENTIAL: CredentialNeed | None = None

    def __init__(self, settings: dict, org_dir: Path):
        # Checked again: a provider may be constructed without an org file (tests, scripts).
        self.settings, problems = apply_settings(self.SETTINGS, dict(settings or {}))
        if problems:
            raise ProviderError(f"{self.name} provider: " + "; ".join(problems))
        self.org_dir = Path(org_dir)

    # -- environments -------------------------------------------------------------------------
    @abstractmethod
    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        """Create an environment by running the provisioning tool; on failure nothing is left."""

    @abstractmethod
    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        """Run a (validation) shell command against the environment; returns its exit status."""

    @abstractmethod
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        """Snapshot the environment as a new template with status ``built``, atomically: either the
        template is registered complete, or it is not registered at all."""

    @abstractmethod
    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        """A fresh, running environment from the template.

        Deploy and gc must not race (``delete_unused_template``): a deploy first registers its
        environment as using the template, so that ``list_environments`` shows it, and only then
        reads the template's data; after registering it calls ``check_deployable`` and, when the
        template is gone or being deleted, removes what it made and raises ``TemplateGone``. The
        environment is reported running only once its copy of the template is complete."""

    @abstractmethod
    def destroy(self, env_id: str) -> None:
        """Tear an environment down; an environment that does not exist is a ``NotFound``."""

    def keep_environment(self, env: Environment) -> None:  # noqa: B027 - optional hook, no-op by default
        """Hand an ephemeral environment over to its user: it outlives this process."""

    @abstractmethod
    def list_environments(self) -> list[Environment]:
        """Environments this provider made and that still exist."""

    def get_environment(self, env_id: str) -> Environment:
        for env in self.list_environments():
            if env.id == env_id:
                return env
        raise NotFound(f"no environment {env_id!r} (env list shows the existing ones)")

    def describe(self, env: Environment) -> str:
        """How to reach the environment, for a human."""
        return "\n".join(f"  {key}: {value}" for key, value in env.access.items())

    # -- the template catalog -----------------------------------------------------------------
    @abstractmethod
    def list_templates(self) -> list[Template]:
        """Every registered template, any status, those being deleted (``deleting``) included; never
        a half-saved one."""

    def get_template(self, template_id: str) -> Template:
        for template in self.list_templates():
            if template.id == template_id:
                return template
        raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")

    @abstractmethod
    def set_status(self, template_id: str, status: str) -> Template:
        """Record a new status (``built`` -> ``verified`` or ``failed``)."""

    @abstractmethod
    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        """Pin (golden: gc never deletes it) or unpin."""

    @abstractmethod
    def delete_template(self, template_id: str) -> None:
        """Remove the template and its snapshot (a template marked deleting included)."""

    def begin_delete(self, template_id: str) -> Template:
        """Mark the template ``deleting`` under this process's lease (``process.new_lease``), keeping
        its status before; from now on ``check_deployable`` refuses it. Returns it as it was."""
        raise ProviderError(f"the {self.name} provider cannot delete templates safely (no begin_delete)")

    def cancel_delete(self, template: Template) -> None:
        """Undo ``begin_delete``: the template gets back the status it had."""
        raise ProviderError(f"the {self.name} provider cannot delete templates safely (no cancel_delete)")

    def delete_unused_template(self, template_id: str) -> list[str]:
        """Delete the template unless an environment uses it; returns the ids of the environments
        using it, and then deletes nothing.

        Safe against a concurrent deploy: gc marks the template first and lists environments
        second; deploy registers its environment first and checks the mark second. Whatever the
        interleaving, one of them sees the other: gc keeps the template, or deploy backs out, or
        (when each sees the other) both, which loses nothing. A provider that can do both steps in
        one transaction (``local``), or whose store refuses a marked template atomically with the
        registration (``command``), overrides this or ``check_deployable``."""
        before = self.begin_delete(template_id)
        try:
            users = sorted(env.id for env in self.list_environments() if env.template_id == template_id)
        except BaseException:
            self.cancel_delete(before)
            raise
        if users:
            self.cancel_delete(before)
            return users
        self.delete_template(template_id)
        return []

    def check_deployable(self, template_id: str) -> None:
        """Raise ``TemplateGone`` when the template no longer exists or is being deleted (the second
        step of a deploy, after its environment is registered)."""
        try:
            template = self.get_template(template_id)
        except NotFound:
            raise TemplateGone(f"template {template_id} was deleted while being deployed") from None
        if template.status == DELETING:
            raise TemplateGone(f"template {template_id} is being deleted (env gc); deploy another one")

    def export_compose(self, template: Template) -> dict:
        """The template as a Compose file (``env export``): the document to write as YAML, for
        ``docker compose`` or ``podman-compose`` to run outside the provider. Only a provider whose
        templates are container images can; the others refuse."""
        raise ProviderError(f"the {self.name} provider's templates are not container images; "
                            "env export needs the container provider")

    # -- housekeeping -------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Clean what crashed or killed runs left behind; returns what was cleaned, for the log."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""
