"""Load and check the org file (delivery.yaml).

Every problem names the file, the line and the field, and all of them are reported at once.
Nothing is returned unless the whole organisation is consistent.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from ..errors import ConfigError
from .organisation import (
    NAME_PATTERN,
    NIGHTLY,
    PREFIX_PATTERN,
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
from .providers import ProviderLookupError, declared_settings
from .settings import read_settings
from .yaml_nodes import NodeReader

ORG_FILE_NAME = "delivery.yaml"

CRON_KEYWORDS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
DEFAULT_RETAIN = 5

TOP_KEYS = {
    "organisation": True,
    "jobs-repo": True,
    "root-folder": False,
    "updater": True,
    "release-lines": True,
    "projects": True,
    "environments": False,
}


def find_org_file(path: Path) -> Path:
    """Accept either the org file itself or the directory that holds delivery.yaml."""
    path = Path(path)
    return path / ORG_FILE_NAME if path.is_dir() else path


def load_organisation(path: Path) -> Organisation:
    org_file = find_org_file(path).resolve()
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
        updater = self.updater(top.get("updater"))
        release_lines = self.release_lines(top.get("release-lines"))
        projects = self.projects(top.get("projects"), root_folder)
        environments = None
        if "environments" in top:
            environments = self.environments(top["environments"], projects, release_lines)
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
        )

    def repo(self, node, field: str) -> GitRepo | None:
        keys = self.r.mapping(node, field, {"url": True, "branch": True, "local-checkout": False})
        if keys is None:
            return None
        url = self.r.scalar(keys.get("url"), f"{field}.url")
        branch = self.r.scalar(keys.get("branch"), f"{field}.branch")
        checkout = None
        if "local-checkout" in keys:
            value = self.r.scalar(keys["local-checkout"], f"{field}.local-checkout")
            if value is not None:
                checkout = (self.org_dir / value).resolve()
        if url is None or branch is None:
            return None
        return GitRepo(url=url, branch=branch, local_checkout=checkout)

    def updater(self, node) -> Updater | None:
        keys = self.r.mapping(node, "updater", {"label": True, "credential-id": True, "poll": False})
        if keys is None:
            return None
        label = self.r.scalar(keys.get("label"), "updater.label")
        credential = self.name(keys.get("credential-id"), "updater.credential-id")
        poll = self.cron(keys.get("poll"), "updater.poll") if "poll" in keys else "H/5 * * * *"
        if None in (label, credential, poll):
            return None
        return Updater(label=label, credential_id=credential, poll=poll)

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
                "namespace": False, "services": True}
        projects, service_owner, namespaces = [], {}, []
        if root_folder:
            namespaces.append((Namespace("folder", root_folder), "root-folder", None))
        for where, name, values in self.named_list(node, "projects", keys):
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
            if None not in (description, repo, jobs_path, namespace):
                projects.append(Project(name=name, description=description, repo=repo, jobs_path=jobs_path,
                                        namespace=namespace, services=tuple(services)))
        return projects

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

    def environments(self, node, projects: list[Project], release_lines: list[ReleaseLine]) -> Environments | None:
        keys = self.r.mapping(node, "environments",
                              {"agent-label": False, "provider": True, "provisioning-tool": True,
                               "variants": True})
        if keys is None:
            return None
        label = self.r.scalar(keys.get("agent-label"), "environments.agent-label", default="envdelivery")
        services = {s for p in projects for s in p.services}
        provider = self.provider(keys.get("provider"))
        tool = self.tool(keys.get("provisioning-tool"), services)
        variants = self.variants(keys.get("variants"), services, projects, release_lines)
        if None in (label, provider, tool):
            return None
        return Environments(agent_label=label, provider=provider, provisioning_tool=tool, variants=tuple(variants))

    def provider(self, node) -> ProviderConfig | None:
        """The provider is looked up by name (not constructed) so that its settings are checked
        here, with every other problem of the file, rather than when an environment job runs."""
        keys = self.r.mapping(node, "environments.provider", {"name": True, "settings": False})
        if keys is None:
            return None
        name = self.name(keys.get("name"), "environments.provider.name")
        if name is None:
            return None
        try:
            declared = declared_settings(name)
        except ProviderLookupError as exc:
            self.r.problem(keys["name"], "environments.provider.name", str(exc))
            return None
        settings = read_settings(self.r, keys.get("settings"), declared, "environments.provider.settings",
                                 parent=node)
        return ProviderConfig(name=name, settings=settings) if settings is not None else None

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

    def variants(self, node, services: set[str], projects, release_lines) -> list[Variant]:
        keys = {"name": True, "description": False, "services": True, "schedule": False, "retain": False,
                "validate": False, "release-lines": False}
        line_names = [line.name for line in release_lines]
        all_services = tuple(s for p in projects for s in p.services)
        variants = []
        for where, name, values in self.named_list(node, "environments.variants", keys):
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
            if None not in (description, chosen, schedule, retain):
                variants.append(Variant(name=name, description=description, services=chosen, schedule=schedule,
                                        retain=retain, validate=tuple(validate), release_lines=lines))
        return variants

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
