"""The template lifecycle, the same over every provider: build, verify (promote), deploy,
destroy, gc, pin, and provisioning an engineer's own configuration.

Each step that makes an environment tears it down again whatever happens, and a build or
verify that fails leaves no template marked usable: a failed build registers nothing (the
provider's save is atomic), a failed verify marks the template ``failed``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from ..errors import EnvDeliveryError
from ..model.organisation import Organisation, Variant
from . import catalog, envconfig
from .catalog import BUILT, FAILED, VERIFIED, GcPlan, Template, TemplateMeta
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError, TemplateGone
from .tool import tool_on_path

Say = Callable[[str], None]


def _print(text: str) -> None:
    print(text, flush=True)


def build_info_from_env(environ=None) -> dict:
    """The Jenkins build that runs this command, from the variables Jenkins sets."""
    environ = os.environ if environ is None else environ
    keys = {"url": "BUILD_URL", "job": "JOB_NAME", "number": "BUILD_NUMBER"}
    return {k: environ[v] for k, v in keys.items() if environ.get(v)}


def find_variant(org: Organisation, name: str, release: str) -> Variant:
    envs = org.environments
    if envs is None:
        raise EnvDeliveryError(f"{org.org_file} has no 'environments' section")
    variant = next((v for v in envs.variants if v.name == name), None)
    if variant is None:
        known = ", ".join(v.name for v in envs.variants)
        raise EnvDeliveryError(f"unknown variant {name!r}; {org.org_file.name} defines: {known}")
    if release not in variant.release_lines:
        raise EnvDeliveryError(f"variant {name!r} is not built for release line {release!r}; "
                               f"its release lines are: {', '.join(variant.release_lines)}")
    return variant


def tool_artifacts(org: Organisation, artifacts_dir: Path) -> dict:
    """The provisioning tool's artifact (copied, flattened, by the job's copyartifact step) and its
    version, read from the part of the file name the artifact glob's ``*`` matches.

    Exactly one file may match: the environment jobs empty the directory before the copy, so a
    second file means a stale or doubled artifact, and the tool could run either one."""
    tool = org.environments.provisioning_tool
    pattern = PurePosixPath(tool.artifact).name
    files = sorted(p for p in Path(artifacts_dir).glob("*") if p.is_file() and fnmatch(p.name, pattern))
    if not files:
        raise EnvDeliveryError(f"no provisioning tool artifact matching {pattern!r} in {artifacts_dir} "
                               f"(the job's copyartifact step puts the {tool.service} CI artifact there)")
    if len(files) > 1:
        raise EnvDeliveryError(f"{len(files)} provisioning tool artifacts match {tool.artifact!r} in {artifacts_dir}: "
                               f"{', '.join(p.name for p in files)}; expected exactly one (empty the directory "
                               "before copying the tool)")
    artifact = files[0]
    match = re.match("^" + "(.+?)".join(re.escape(part) for part in pattern.split("*")) + "$", artifact.name)
    version = match.group(1) if match and match.groups() else artifact.name
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    return {tool.service: {"file": artifact.name, "version": version, "sha256": digest}}


def _validate(provider: Provider, env: Environment, commands, say: Say) -> None:
    for command in commands:
        status = provider.run(env, command)
        if status != 0:
            raise EnvDeliveryError(f"validation failed in {env.id}: {command!r} exited with status {status}")
        say(f"validated: {command}")


def _teardown(provider: Provider, env: Environment, say: Say, failing: bool) -> BaseException | None:
    """Destroy an ephemeral environment; returns the error instead of raising while another one is
    already propagating, so the first failure is the one reported."""
    try:
        provider.destroy(env.id)
        say(f"tore down {env.id}")
        return None
    except Exception as exc:  # noqa: BLE001 - any provider failure, reported below
        error = ProviderError(f"could not tear down environment {env.id}: {exc}")
        if failing:
            say(f"warning: {error}")
            return None
        return error


def build(org: Organisation, provider: Provider, variant_name: str, release: str, artifacts_dir: Path,
          build_info: dict, say: Say = _print) -> Template:
    variant = find_variant(org, variant_name, release)
    artifacts = tool_artifacts(org, artifacts_dir)
    spec = EnvSpec(variant=variant.name, release=release,
                   config=envconfig.variant_config(org, variant, release),
                   tool_command=org.environments.provisioning_tool.command, artifacts_dir=Path(artifacts_dir),
                   purpose="build", compose=variant.compose)
    tool = org.environments.provisioning_tool.service
    say(f"building {variant.name}/{release} with the {provider.name} provider ({tool} {artifacts[tool]['version']})")
    with tool_on_path(tool, artifacts_dir, artifacts[tool]["file"]):
        env = provider.provision(spec, ephemeral=True)
        say(f"provisioned {env.id}")
        template = None
        try:
            _validate(provider, env, variant.validate, say)
            versions = {service: {"version": v} for service, v in env.versions.items()}
            meta = TemplateMeta(variant=variant.name, release=release, artifacts={**versions, **artifacts},
                                build=build_info)
            template = provider.save_template(env, meta)
        except BaseException:
            _teardown(provider, env, say, failing=True)
            raise
    error = _teardown(provider, env, say, failing=False)
    if error is not None:
        provider.set_status(template.id, FAILED)
        raise error
    say(f"template {template.label} saved")
    return template


def select_for_verify(provider: Provider, template_id: str | None, variant: str | None,
                      release: str | None) -> Template:
    if template_id:
        return provider.get_template(template_id)
    if not (variant and release):
        raise EnvDeliveryError("--latest needs --variant and --release")
    template = catalog.newest(provider.list_templates(), variant, release, BUILT)
    if template is None:
        raise EnvDeliveryError(f"no built template of {variant}/{release} is waiting for verification")
    return template


def _tool_in(org: Organisation, artifacts_dir: Path | None) -> dict:
    """The tool's artifact in `artifacts_dir` ({} when there is none): verify and provision can
    run without it, when the validations need no tool or the agent has one installed."""
    tool = org.environments.provisioning_tool
    if artifacts_dir is None or not Path(artifacts_dir).is_dir() or not any(
            fnmatch(p.name, PurePosixPath(tool.artifact).name) for p in Path(artifacts_dir).iterdir()):
        return {}
    return tool_artifacts(org, artifacts_dir)[tool.service]


def verify(org: Organisation, provider: Provider, template: Template, say: Say = _print,
           artifacts_dir: Path | None = None) -> Template:
    """`artifacts_dir` holds the provisioning tool the validations run (the one the template was built with)."""
    variant = find_variant(org, template.variant, template.release)
    tool = org.environments.provisioning_tool.service
    artifact = _tool_in(org, artifacts_dir)
    built_with = template.artifacts.get(tool, {})
    if artifact and built_with.get("sha256") and artifact["sha256"] != built_with["sha256"]:
        say(f"warning: verifying with {tool} {artifact['version']} ({artifact['file']}), but {template.label} "
            f"was built with {tool} {built_with.get('version')} ({built_with.get('file')})")
    say(f"verifying {template.label}")
    try:
        env = provider.deploy(template, "verify", ephemeral=True)
    except TemplateGone:
        raise  # gc won the race: there is no template left to mark
    except BaseException:
        provider.set_status(template.id, FAILED)
        raise
    try:
        with tool_on_path(tool, artifacts_dir or Path("."), artifact.get("file")):
            _validate(provider, env, variant.validate, say)
    except BaseException:
        _teardown(provider, env, say, failing=True)
        provider.set_status(template.id, FAILED)
        say(f"template {template.id} marked failed")
        raise
    error = _teardown(provider, env, say, failing=False)
    if error is not None:
        provider.set_status(template.id, FAILED)
        raise error
    promoted = provider.set_status(template.id, VERIFIED)
    say(f"template {promoted.label}: promoted")
    return promoted


def select_for_deploy(provider: Provider, variant: str | None, release: str | None, version: int | None,
                      template_id: str | None) -> Template:
    if template_id:
        template = provider.get_template(template_id)
    else:
        if not (variant and release):
            raise EnvDeliveryError("give --template, or --variant and --release")
        line = catalog.of_line(provider.list_templates(), variant, release)
        if version is not None:
            template = next((t for t in line if t.version == version), None)
            if template is None:
                known = ", ".join(f"v{t.version} ({t.status})" for t in line) or "none"
                raise EnvDeliveryError(f"no template {variant}/{release} v{version} (never built, or deleted "
                                       f"by gc); existing: {known}")
        else:
            template = next((t for t in line if t.status == VERIFIED), None)
            if template is None:
                raise EnvDeliveryError(f"no verified template of {variant}/{release} yet "
                                       "(env list shows what exists)")
    if template.status == FAILED:
        raise EnvDeliveryError(f"template {template.label} failed verification; pick another")
    if template.status not in (BUILT, VERIFIED):
        raise EnvDeliveryError(f"template {template.label} cannot be deployed (it is {template.status})")
    return template


def deploy(provider: Provider, template: Template, say: Say = _print) -> Environment:
    if template.status != VERIFIED:
        say(f"warning: template {template.id} is not verified yet")
    env = provider.deploy(template, "deploy", ephemeral=False)
    say(f"environment {env.id} is running, from template {template.label}")
    say(provider.describe(env))
    say(f"  destroy it with: jjb-envdelivery env destroy {env.id}")
    return env


def gc(org: Organisation, provider: Provider, variant: str, release: str, keep: int,
       say: Say = _print) -> GcPlan:
    find_variant(org, variant, release)
    if keep < 1:
        raise EnvDeliveryError("--keep must be at least 1")
    in_use: dict[str, list[str]] = {}
    for env in provider.list_environments():
        if env.template_id:
            in_use.setdefault(env.template_id, []).append(env.id)
    plan = catalog.plan_gc(provider.list_templates(), in_use, variant, release, keep)
    planned, plan.delete = plan.delete, []
    for template, why in planned:
        # The plan read the environments once; the provider re-checks under its lease, so a deploy
        # that started since keeps its template (provider.delete_unused_template).
        try:
            users = provider.delete_unused_template(template.id)
        except NotFound:
            say(f"already gone: {template.label}")
            continue
        if users:
            plan.keep.append((template, f"in use by {', '.join(users)} (deployed while gc ran)"))
            continue
        plan.delete.append((template, why))
        say(f"deleted {template.label}: {why}")
    for template, why in plan.keep:
        say(f"kept {template.label}: {why}")
    say(f"gc {variant}/{release}: {len(plan.delete)} deleted, {len(plan.keep)} kept")
    return plan


def provision(org: Organisation, provider: Provider, config: dict, artifacts_dir: Path,
              say: Say = _print) -> Environment:
    """An engineer's configuration (``envconfig``): provisioned, validated, left running."""
    # The variant it was derived from gives the Compose file (container provider), when it has one.
    variant = next((v for v in org.environments.variants if v.name == config["variant"]), None)
    spec = EnvSpec(variant=config["variant"], release=config["release"], config=config,
                   tool_command=org.environments.provisioning_tool.command, artifacts_dir=Path(artifacts_dir),
                   purpose="custom", compose=variant.compose if variant else None)
    tool = org.environments.provisioning_tool.service
    with tool_on_path(tool, artifacts_dir, _tool_in(org, artifacts_dir).get("file")):
        # Owned by this process until validated, so a kill leaves nothing behind.
        env = provider.provision(spec, ephemeral=True)
        try:
            _validate(provider, env, config.get("validate", []), say)
        except BaseException:
            _teardown(provider, env, say, failing=True)
            raise
    provider.keep_environment(env)
    say(f"environment {env.id} is running ({config['name']}, release line {config['release']})")
    say(provider.describe(env))
    say(f"  destroy it with: jjb-envdelivery env destroy {env.id}")
    return env

