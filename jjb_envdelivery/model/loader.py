"""Load and check the org file (delivery.yaml).

Every problem names the file, the line and the field, and all of them are reported at once.
Nothing is returned unless the whole organisation is consistent.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from ..errors import ConfigError, check_utf8
from .limits import Limits
from .organisation import (
    CI_FREESTYLE,
    CI_KINDS,
    DEFAULT_BUILD_TIMEOUT,
    DEFAULT_DRIFT_CHECK,
    MIN_BUILD_TIMEOUT,
    NAME_PATTERN,
    NIGHTLY,
    PREFIX_PATTERN,
    ROOT_SCOPE,
    CredentialBinding,
    Environments,
    GitRepo,
    Namespace,
    Organisation,
    Project,
    ProviderConfig,
    ProvisioningTool,
    ReleaseLine,
    Updater,
    Variant,
)
from .policy import CLASS_NAME_PATTERN, CONTROLLER_LABELS, Allowances, ClassException, UnknownClasses
from .providers import (
    ProviderLookupError,
    declared_builds_after,
    declared_credential,
    declared_settings,
    declared_uses_compose,
)
from .settings import ENV_VARIABLE_PATTERN, CredentialNeed, read_settings
from .yaml_nodes import NodeReader

ORG_FILE_NAME = "delivery.yaml"

CRON_KEYWORDS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
DEFAULT_RETAIN = 5
# How every mark an updater writes in a description starts (ownership.py, a layer above this one).
MARK_START = "<!-- jjb-envdelivery"

TOP_KEYS = {
    "organisation": True,
    "jobs-repo": True,
    "root-folder": False,
    "updater": True,
    "release-lines": True,
    "projects": True,
    "environments": False,
    "build-timeout": False,
    "policy": False,
    "limits": False,
}


def find_org_file(path: Path) -> Path:
    """Accept either the org file itself or the directory that holds delivery.yaml."""
    path = Path(path)
    return path / ORG_FILE_NAME if path.is_dir() else path


def load_organisation(path: Path) -> Organisation:
    org_file = find_org_file(path).resolve()
    check_utf8(org_file, "the org file")
    reader = NodeReader(org_file)
    root = reader.compose()
    org = None
    if root is not None:
        org = _Parser(reader).organisation(root)
    elif not reader.problems:
        reader.problem(None, "", "the file is empty; expected the organisation's settings")
    if reader.problems:
        raise ConfigError(reader.problems)
    return org


class _Parser:
    def __init__(self, reader: NodeReader):
        self.r = reader
        self.org_dir = reader.path.parent
        self.variant_nodes: dict[str, tuple] = {}  # variant name -> (field, key nodes), for later checks
        self.provider_name: str | None = None  # the environments' provider, once found
        self.updater_settings: Updater | None = None

    def name(self, node, field: str, pattern=NAME_PATTERN, what="letters, digits, '.', '_' and '-'"):
        value = self.r.scalar(node, field)
        if value is not None and not pattern.match(value):
            self.r.problem(node, field, f"{value!r} is not a valid name: use {what}, starting with a letter or digit")
            return None
        return value

    def organisation(self, root) -> Organisation | None:
        top = self.r.mapping(root, "", TOP_KEYS)
        if top is None:
            return None
        name = self.name(top.get("organisation"), "organisation")
        jobs_repo = self.repo(top.get("jobs-repo"), "jobs-repo")
        root_folder = self.name(top.get("root-folder"), "root-folder") if "root-folder" in top else "delivery"
        # A wrong org-wide timeout is reported once; the sections below then assume the default.
        build_timeout = self.build_timeout(top, "build-timeout", DEFAULT_BUILD_TIMEOUT)
        inherited_timeout = build_timeout or DEFAULT_BUILD_TIMEOUT
        updater = self.updater(top.get("updater"), inherited_timeout)
        self.updater_settings = updater  # what no project's `allow` may grant
        release_lines = self.release_lines(top.get("release-lines"))
        projects = self.projects(top.get("projects"), root_folder)
        unknown_classes = self.unknown_classes(top.get("policy")) if "policy" in top else UnknownClasses.REFUSE
        limits = self.limits(top["limits"]) if "limits" in top else ()
        environments = None
        if "environments" in top:
            environments = self.environments(top["environments"], projects, release_lines, inherited_timeout)
        if self.r.problems:
            return None
        return Organisation(
            name=name,
            org_file=self.r.path,
            jobs_repo=jobs_repo,
            root_folder=root_folder,
            updater=updater,
            release_lines=tuple(release_lines),
            projects=tuple(projects),
            environments=environments,
            build_timeout=build_timeout,
            unknown_classes=unknown_classes,
            limits=limits,
        )

    def unknown_classes(self, node) -> str | None:
        keys = self.r.mapping(node, "policy", {"unknown-classes": False})
        if keys is None or "unknown-classes" not in keys:
            return UnknownClasses.REFUSE
        value = self.r.scalar(keys["unknown-classes"], "policy.unknown-classes")
        if value is not None and value not in UnknownClasses.CHOICES:
            self.r.problem(keys["unknown-classes"], "policy.unknown-classes",
                           f"{value!r}: expected one of {', '.join(UnknownClasses.CHOICES)}")
            return None
        return value

    def limits(self, node) -> tuple[tuple[str, int | float], ...]:
        names = Limits.setting_names()
        keys = self.r.mapping(node, "limits", {name: False for name in names})
        settings = []
        for name, value_node in (keys or {}).items():
            kind = names[name]
            value = self.r.scalar(value_node, f"limits.{name}", (int, float) if kind is float else int)
            if value is not None and value <= 0:
                self.r.problem(value_node, f"limits.{name}", f"{value!r}: expected a number above 0")
            elif value is not None:
                settings.append((name, value))
        return tuple(settings)

    def allowances(self, node, where: str) -> Allowances:
        """A project's ``allow``: agent labels, credential IDs, upstream jobs, class exceptions."""
        keys = self.r.mapping(node, where, {"agent-labels": False, "credentials": False, "upstreams": False,
                                            "classes": False})
        if keys is None:
            return Allowances()
        labels = self.unique_names(keys.get("agent-labels"), f"{where}.agent-labels",
                                   "a single label (letters, digits, '.', '_' and '-'), not an expression")
        for label, label_node in labels:
            if label in CONTROLLER_LABELS:
                self.r.problem(label_node, f"{where}.agent-labels",
                               f"{label!r} is the controller's own label: no team may run builds there")
            elif self.updater_settings and label == self.updater_settings.label:
                self.r.problem(label_node, f"{where}.agent-labels",
                               f"{label!r} is the updater's label (updater.label): builds there can read the "
                               "updater's token, so no team may run on it")
        credentials = self.unique_names(keys.get("credentials"), f"{where}.credentials", "a credential ID")
        for credential, credential_node in credentials:
            if self.updater_settings and credential == self.updater_settings.credential_id:
                self.r.problem(credential_node, f"{where}.credentials",
                               f"{credential!r} is the updater's credential (updater.credential-id), which can "
                               "rewrite every job: no team may bind it")
        upstreams = []
        for name, name_node in self.r.string_list(keys["upstreams"], f"{where}.upstreams") or [] \
                if "upstreams" in keys else []:
            parts = name.split("/")
            if name.startswith("/") or any(p in ("", ".", "..") or "$" in p for p in parts):
                self.r.problem(name_node, f"{where}.upstreams", f"{name!r}: expected a job's full name "
                               "(folder/job, no leading '/', no '..', no '$')")
            else:
                upstreams.append(name)
        classes = []
        for index, item in enumerate(self.r.sequence(keys["classes"], f"{where}.classes") or []
                                     if "classes" in keys else []):
            field = f"{where}.classes[{index}]"
            values = self.r.mapping(item, field, {"class": True, "reason": True})
            if values is None:
                continue
            name = self.r.scalar(values.get("class"), f"{field}.class")
            reason = self.r.scalar(values.get("reason"), f"{field}.reason")
            if name is not None and not CLASS_NAME_PATTERN.match(name):
                self.r.problem(values["class"], f"{field}.class",
                               f"{name!r}: expected a Java class name, e.g. hudson.plugins.groovy.SystemGroovy")
            elif name is not None and reason is not None:
                classes.append(ClassException(name, reason))
        return Allowances(agent_labels=tuple(n for n, _ in labels), credentials=tuple(n for n, _ in credentials),
                          upstreams=tuple(upstreams), classes=tuple(classes))

    def unique_names(self, node, field: str, what: str) -> list[tuple[str, object]]:
        if node is None:
            return []
        names, seen = [], set()
        for value, value_node in self.r.string_list(node, field) or []:
            if not NAME_PATTERN.match(value):
                self.r.problem(value_node, field, f"{value!r}: expected {what}")
            elif value in seen:
                self.r.problem(value_node, field, f"{value!r} is listed twice")
            else:
                seen.add(value)
                names.append((value, value_node))
        return names

    def repo(self, node, field: str) -> GitRepo | None:
        keys = self.r.mapping(node, field, {"url": True, "branch": True, "local-checkout": False,
                                            "credential-id": False})
        if keys is None:
            return None
        url = self.r.scalar(keys.get("url"), f"{field}.url")
        branch = self.r.scalar(keys.get("branch"), f"{field}.branch")
        checkout = None
        if "local-checkout" in keys:
            value = self.r.scalar(keys["local-checkout"], f"{field}.local-checkout")
            if value is not None:
                checkout = (self.org_dir / value).resolve()
        # A wrong ID is recorded as a problem, but the repository still counts (no follow-on
        # problems about its project's services).
        credential = self.name(keys["credential-id"], f"{field}.credential-id") if "credential-id" in keys else None
        if url is None or branch is None:
            return None
        return GitRepo(url=url, branch=branch, local_checkout=checkout, credential_id=credential)

    def build_timeout(self, keys: dict, field: str, default: int) -> int | None:
        """The `build-timeout` of a section: whole minutes, at least MIN_BUILD_TIMEOUT; `default`
        (the enclosing section's) when left out."""
        if "build-timeout" not in keys:
            return default
        node = keys["build-timeout"]
        minutes = self.r.scalar(node, field, int)
        if minutes is not None and minutes < MIN_BUILD_TIMEOUT:
            self.r.problem(node, field, f"{minutes} minutes is too short: expected at least {MIN_BUILD_TIMEOUT} "
                           f"(the build-timeout plugin raises any shorter timeout to {MIN_BUILD_TIMEOUT} minutes)")
            return None
        return minutes

    def updater(self, node, default_timeout: int) -> Updater | None:
        keys = self.r.mapping(node, "updater", {"label": True, "credential-id": True, "poll": False,
                                                "build-timeout": False, "drift-check": False})
        if keys is None:
            return None
        label = self.r.scalar(keys.get("label"), "updater.label")
        credential = self.name(keys.get("credential-id"), "updater.credential-id")
        poll = self.cron(keys.get("poll"), "updater.poll") if "poll" in keys else "H/5 * * * *"
        timeout = self.build_timeout(keys, "updater.build-timeout", default_timeout)
        drift = (self.cron(keys.get("drift-check"), "updater.drift-check") if "drift-check" in keys
                 else DEFAULT_DRIFT_CHECK)
        if None in (label, credential, poll, timeout, drift):
            return None
        return Updater(label=label, credential_id=credential, poll=poll, build_timeout=timeout, drift_check=drift)

    def cron(self, node, field: str) -> str | None:
        value = self.r.scalar(node, field)
        if value is None:
            return None
        if value == "nightly":
            return NIGHTLY
        fields = value.split()
        if len(fields) == 1 and fields[0] in CRON_KEYWORDS or len(fields) == 5:
            return value
        self.r.problem(node, field, f"{value!r} is not a schedule: expected 'nightly', five cron fields "
                       f"(e.g. 'H 2 * * *') or one of {', '.join(sorted(CRON_KEYWORDS))}")
        return None

    def named_list(self, node, field: str, keys: dict[str, bool]):
        """Items of a list of mappings with a unique `name`: yields (index, name, key nodes)."""
        items = self.r.sequence(node, field)
        if items is None:
            return
        if not items:
            self.r.problem(node, field, "must list at least one entry")
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            where = f"{field}[{index}]"
            values = self.r.mapping(item, where, keys)
            if values is None:
                continue
            name = self.name(values.get("name"), f"{where}.name")
            if name is None:
                continue
            if name.lower() in seen:
                self.r.problem(values["name"], f"{where}.name",
                               f"duplicate name {name!r} (also at {field}[{seen[name.lower()]}]; "
                               "Jenkins compares names without case)")
                continue
            seen[name.lower()] = index
            yield where, name, values

    def release_lines(self, node) -> list[ReleaseLine]:
        lines = []
        for where, name, values in self.named_list(node, "release-lines", {"name": True, "branch": True}):
            branch = self.r.scalar(values.get("branch"), f"{where}.branch")
            if branch is not None:
                lines.append(ReleaseLine(name=name, branch=branch))
        return lines

    def projects(self, node, root_folder: str | None) -> list[Project]:
        keys = {"name": True, "description": False, "repo": True, "jobs-path": True,
                "namespace": False, "services": True, "allow": False, "renamed-from": False, "ci": False}
        projects, service_owner, namespaces, former = [], {}, [], {}
        if root_folder:
            namespaces.append((Namespace("folder", root_folder), "root-folder", None))
        for where, name, values in self.named_list(node, "projects", keys):
            if name.lower() == ROOT_SCOPE:
                self.r.problem(values["name"], f"{where}.name",
                               f"{name!r} is the root scope's name (its owner marks are the root updater's); "
                               "pick another project name")
                continue
            description = self.r.scalar(values.get("description"), f"{where}.description", default="")
            repo = self.repo(values.get("repo"), f"{where}.repo")
            jobs_path = self.jobs_path(values.get("jobs-path"), f"{where}.jobs-path")
            namespace = self.namespace(values.get("namespace"), f"{where}.namespace", name)
            services = []
            for service, service_node in self.r.string_list(values.get("services"), f"{where}.services") or []:
                field = f"{where}.services"
                if not NAME_PATTERN.match(service):
                    self.r.problem(service_node, field, f"{service!r} is not a valid service name")
                elif service.lower() in service_owner:
                    owner = service_owner[service.lower()]
                    self.r.problem(service_node, field, f"service {service!r} is already owned by project {owner!r}")
                else:
                    service_owner[service.lower()] = name
                    services.append(service)
            if "services" in values and not services and isinstance(values["services"], yaml.SequenceNode) \
                    and not values["services"].value:
                self.r.problem(values["services"], f"{where}.services", "a project must own at least one service")
            if namespace is not None:
                self.check_namespace_clash(namespace, f"{where}.namespace", values.get("namespace") or values["name"],
                                           namespaces)
                namespaces.append((namespace, f"{where}.namespace", name))
            if description is not None and MARK_START in description:
                self.r.problem(values["description"], f"{where}.description",
                               "holds an ownership mark ('<!-- jjb-envdelivery ...'); only the updater writes one")
                description = None
            renamed_from = None
            if "renamed-from" in values:
                renamed_from = self.name(values["renamed-from"], f"{where}.renamed-from")
                if renamed_from is not None and renamed_from.lower() == ROOT_SCOPE:
                    self.r.problem(values["renamed-from"], f"{where}.renamed-from",
                                   "'root' is the root scope's name: no project was ever called that")
                    renamed_from = None
                elif renamed_from is not None and renamed_from.lower() in former:
                    self.r.problem(values["renamed-from"], f"{where}.renamed-from",
                                   f"{renamed_from!r} is already the former name of project "
                                   f"{former[renamed_from.lower()][3]!r}: one project takes over a former scope")
                    renamed_from = None
                elif renamed_from is not None:
                    former[renamed_from.lower()] = (renamed_from, values["renamed-from"], f"{where}.renamed-from",
                                                    name)
            ci = self.r.scalar(values.get("ci"), f"{where}.ci", default=CI_FREESTYLE)
            if ci is not None and ci not in CI_KINDS:
                self.r.problem(values["ci"], f"{where}.ci", f"{ci!r}: expected one of {', '.join(CI_KINDS)} (the "
                               "kind of CI job the team's services use: envdelivery-service or "
                               "envdelivery-pipeline-service)")
                ci = None
            if None not in (description, repo, jobs_path, namespace, ci):
                allow = self.allowances(values["allow"], f"{where}.allow") if "allow" in values else Allowances()
                projects.append(Project(name=name, description=description, repo=repo, jobs_path=jobs_path,
                                        namespace=namespace, services=tuple(services), allow=allow,
                                        renamed_from=renamed_from, ci=ci))
        self.check_renames(node, former)
        return projects

    def check_renames(self, node, former: dict) -> None:
        """A former name is no current project's (compared without case, as Jenkins does) and
        is claimed by one project only."""
        current = {values_name.lower() for _, values_name, _ in self.named_list_names(node)}
        for key, (old, old_node, field, name) in former.items():
            if key in current:
                who = "the project itself" if key == name.lower() else "a project of this file"
                self.r.problem(old_node, field, f"{old!r} is the name of {who}: renamed-from names the project's "
                               "former name, which no project has any more")

    def named_list_names(self, node):
        """(index, name, node) of each project entry with a usable name, without reporting problems
        (named_list reported them already)."""
        items = node.value if isinstance(node, yaml.SequenceNode) else []
        for index, item in enumerate(items):
            if not isinstance(item, yaml.MappingNode):
                continue
            for key, value in item.value:
                if getattr(key, "value", None) == "name" and isinstance(value, yaml.ScalarNode):
                    yield index, value.value, value

    def jobs_path(self, node, field: str) -> str | None:
        value = self.r.scalar(node, field)
        if value is None:
            return None
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            self.r.problem(node, field, f"{value!r} must be a path inside the project's repository "
                           "(relative, without '..')")
            return None
        return str(path)

    def namespace(self, node, field: str, project: str | None) -> Namespace | None:
        if node is None:
            return Namespace("folder", project) if project else None
        if isinstance(node, yaml.ScalarNode):
            value = self.name(node, field)
            return Namespace("folder", value) if value else None
        keys = self.r.mapping(node, field, {"folder": False, "prefix": False})
        if keys is None:
            return None
        if len(keys) != 1:
            self.r.problem(node, field, "give exactly one of 'folder' or 'prefix'")
            return None
        kind, value_node = next(iter(keys.items()))
        if kind == "folder":
            value = self.name(value_node, f"{field}.folder")
        else:
            value = self.name(value_node, f"{field}.prefix", PREFIX_PATTERN,
                              "letters, digits, '.', '_' and '-', ending with '-', '_' or '.'")
        return Namespace(kind, value) if value else None

    def check_namespace_clash(self, namespace: Namespace, field: str, node, taken) -> None:
        """Two scopes must never be able to name the same Jenkins item (names are case-insensitive)."""
        mine = namespace.job_prefix.lower()
        for other, other_field, owner in taken:
            theirs = other.job_prefix.lower()
            who = f"project {owner!r}" if owner else "the root folder"
            clash = (mine == theirs
                     or namespace.kind == "prefix" and (theirs.startswith(mine) or mine.startswith(theirs))
                     or other.kind == "prefix" and mine.startswith(theirs))
            if clash:
                self.r.problem(node, field, f"namespace {namespace} clashes with namespace {other} "
                               f"of {who} ({other_field}): their job names would overlap")
                return

    def environments(self, node, projects: list[Project], release_lines: list[ReleaseLine],
                     default_timeout: int) -> Environments | None:
        keys = self.r.mapping(node, "environments",
                              {"agent-label": False, "provider": True, "provisioning-tool": True,
                               "variants": True, "build-timeout": False})
        if keys is None:
            return None
        label = self.r.scalar(keys.get("agent-label"), "environments.agent-label", default="envdelivery")
        timeout = self.build_timeout(keys, "environments.build-timeout", default_timeout)
        services = {s for p in projects for s in p.services}
        provider = self.provider(keys.get("provider"))
        tool = self.tool(keys.get("provisioning-tool"), services)
        variants = self.variants(keys.get("variants"), services, projects, release_lines,
                                 timeout or DEFAULT_BUILD_TIMEOUT)
        if self.provider_name is not None:  # known even when its settings have problems
            self.check_compose(keys.get("variants"), self.provider_name, variants)
        if None in (label, provider, tool, timeout):
            return None
        return Environments(agent_label=label, provider=provider, provisioning_tool=tool, variants=tuple(variants),
                            build_timeout=timeout, builds_after=declared_builds_after(provider.name))

    def provider(self, node) -> ProviderConfig | None:
        """The provider is looked up by name (not constructed) so that its settings and the
        credential it reads are checked here, with every other problem of the file, rather than
        when an environment job runs."""
        keys = self.r.mapping(node, "environments.provider", {"name": True, "settings": False,
                                                              "credential-id": False})
        if keys is None:
            return None
        name = self.name(keys.get("name"), "environments.provider.name")
        credential_id = None
        if "credential-id" in keys:
            credential_id = self.name(keys["credential-id"], "environments.provider.credential-id")
        if name is None:
            return None
        try:
            declared = declared_settings(name)
            need = declared_credential(name)
        except ProviderLookupError as exc:
            self.r.problem(keys["name"], "environments.provider.name", str(exc))
            return None
        self.provider_name = name
        settings = read_settings(self.r, keys.get("settings"), declared, "environments.provider.settings",
                                 parent=node)
        if settings is None or "credential-id" in keys and credential_id is None:
            return None
        before = len(self.r.problems)
        credential = self.provider_credential(name, need, credential_id, settings, node, keys)
        if len(self.r.problems) > before:
            return None
        return ProviderConfig(name=name, settings=settings, credential=credential)

    def provider_credential(self, name: str, need: CredentialNeed | None, credential_id: str | None,
                            settings: dict, node, keys: dict) -> CredentialBinding | None:
        """The binding of the credential the provider reads, to the variables its settings name."""
        field = "environments.provider.credential-id"
        if need is None:
            if credential_id is not None:
                self.r.problem(keys["credential-id"], field,
                               f"the {name} provider reads no credential, so the environment jobs bind none: "
                               "remove credential-id")
            return None
        if credential_id is None:
            self.r.problem(node, field, f"required key is missing: the {name} provider reads "
                           f"{need.describe(settings)}; give the ID of the Jenkins credential that holds it "
                           "(never the secret itself)")
            return None
        variables = []
        for slot, setting in need.variables.items():
            variable = settings.get(setting)
            if variable is None:
                self.r.problem(self.setting_node(keys, setting, node), f"environments.provider.settings.{setting}",
                               f"required with credential-id: the environment variable the credential's {slot} "
                               "is bound to")
                return None
            if not ENV_VARIABLE_PATTERN.match(str(variable)):
                self.r.problem(self.setting_node(keys, setting, node), f"environments.provider.settings.{setting}",
                               f"{variable!r} is not an environment variable name (letters, digits and '_', "
                               "not starting with a digit)")
                return None
            if any(variable == bound for _, bound in variables):
                self.r.problem(self.setting_node(keys, setting, node), f"environments.provider.settings.{setting}",
                               f"{variable!r} is already bound to the credential's {variables[0][0]}: "
                               "each part needs its own variable")
                return None
            variables.append((slot, variable))
        return CredentialBinding(kind=need.kind, credential_id=credential_id, variables=tuple(variables))

    @staticmethod
    def setting_node(keys: dict, setting: str, default):
        """The value node of one provider setting (its line), or `default` when it is left out."""
        mapping = keys.get("settings")
        for key, value in getattr(mapping, "value", []) or []:
            if getattr(key, "value", None) == setting:
                return value
        return default

    def tool(self, node, services: set[str]) -> ProvisioningTool | None:
        field = "environments.provisioning-tool"
        keys = self.r.mapping(node, field, {"service": True, "artifact": True, "command": True})
        if keys is None:
            return None
        service = self.r.scalar(keys.get("service"), f"{field}.service")
        if service is not None and service not in services:
            self.r.problem(keys["service"], f"{field}.service",
                           f"unknown service {service!r}: the provisioning tool must be a service of a project")
            service = None
        artifact = self.r.scalar(keys.get("artifact"), f"{field}.artifact")
        command = self.r.scalar(keys.get("command"), f"{field}.command")
        if None in (service, artifact, command):
            return None
        return ProvisioningTool(service=service, artifact=artifact, command=command)

    def variants(self, node, services: set[str], projects, release_lines, default_timeout: int) -> list[Variant]:
        keys = {"name": True, "description": False, "services": True, "schedule": False, "retain": False,
                "validate": False, "release-lines": False, "build-timeout": False, "compose": False}
        line_names = [line.name for line in release_lines]
        all_services = tuple(s for p in projects for s in p.services)
        variants = []
        for where, name, values in self.named_list(node, "environments.variants", keys):
            self.variant_nodes[name] = (where, values)
            description = self.r.scalar(values.get("description"), f"{where}.description", default="")
            chosen = None
            if "services" in values:
                chosen = self.variant_services(values["services"], f"{where}.services", services, all_services)
            schedule = self.cron(values["schedule"], f"{where}.schedule") if "schedule" in values else NIGHTLY
            retain = self.r.scalar(values.get("retain"), f"{where}.retain", int, default=DEFAULT_RETAIN)
            if retain is not None and retain < 1:
                self.r.problem(values["retain"], f"{where}.retain", "must keep at least 1 template")
                retain = None
            validate = [v for v, _ in self.r.string_list(values["validate"], f"{where}.validate") or []] \
                if "validate" in values else []
            lines = tuple(line_names)
            if "release-lines" in values:
                lines = []
                for line, line_node in self.r.string_list(values["release-lines"], f"{where}.release-lines") or []:
                    if line not in line_names:
                        self.r.problem(line_node, f"{where}.release-lines",
                                       f"unknown release line {line!r}; known are: {', '.join(line_names)}")
                    else:
                        lines.append(line)
                lines = tuple(lines)
            timeout = self.build_timeout(values, f"{where}.build-timeout", default_timeout)
            compose = self.compose_file(values["compose"], f"{where}.compose") if "compose" in values else None
            if None not in (description, chosen, schedule, retain, timeout) and compose is not False:
                variants.append(Variant(name=name, description=description, services=chosen, schedule=schedule,
                                        retain=retain, validate=tuple(validate), release_lines=lines,
                                        build_timeout=timeout, compose=compose))
        return variants

    def compose_file(self, node, field: str) -> Path | bool:
        """The variant's Compose file, relative to the org file and inside its directory; False
        when it is not usable (the problem is recorded). Its content is read by the provider
        when an environment is built (``environments.containers.compose``), with its own file:line."""
        value = self.r.scalar(node, field)
        if value is None:
            return False
        path = (self.org_dir / value).resolve()
        if Path(value).is_absolute() or not path.is_relative_to(self.org_dir.resolve()):
            self.r.problem(node, field, f"{value!r} must be a path inside the org file's directory")
            return False
        if not path.is_file():
            self.r.problem(node, field, f"no such file {value!r} (relative to {self.org_dir})")
            return False
        return path

    def check_compose(self, node, provider: str, variants: list[Variant]) -> None:
        """A provider that reads Compose files needs one per variant; the others refuse the key."""
        uses = declared_uses_compose(provider)  # found already: it loaded with its settings
        named = {v.name: v for v in variants}
        for name, (where, values) in self.variant_nodes.items():
            variant = named.get(name)
            if variant is None:
                continue
            if uses and variant.compose is None:
                self.r.problem(values.get("name", node), f"{where}.compose",
                               f"required key is missing: the {provider} provider builds each variant from a "
                               "Compose file (services, networks, volumes)")
            elif not uses and "compose" in values:
                self.r.problem(values["compose"], f"{where}.compose",
                               f"the {provider} provider reads no Compose file; remove compose (the container "
                               "provider reads it)")

    def variant_services(self, node, field, services, all_services) -> tuple[str, ...] | None:
        if isinstance(node, yaml.ScalarNode) and node.value == "all":
            return all_services
        chosen = []
        for service, service_node in self.r.string_list(node, field) or []:
            if service not in services:
                self.r.problem(service_node, field,
                               f"unknown service {service!r}: no project owns it (or write 'all')")
                return None
            if service in chosen:
                self.r.problem(service_node, field, f"service {service!r} is listed twice")
                return None
            chosen.append(service)
        if not chosen:
            if isinstance(node, yaml.SequenceNode):
                self.r.problem(node, field, "a variant must contain at least one service (or write 'all')")
            return None
        return tuple(chosen)
