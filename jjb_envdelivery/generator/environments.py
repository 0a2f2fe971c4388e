"""Environment jobs: per variant and release line build, verify and gc; per release line a
custom-environment job."""

from __future__ import annotations

from .. import naming
from ..model.organisation import Organisation, Variant
from .common import delivery_job, git_scm, reverse_trigger

TOOL_DIR = ".envdelivery/tool"


def _env_job(org: Organisation, name: str, description: str, steps: list, triggers: list,
             parameters: list | None = None) -> dict:
    extra = {"parameters": parameters} if parameters else {}
    # The org file says which services, tool and provider; the jobs repo holds it.
    return delivery_job(name, description, node=org.environments.agent_label, scm=git_scm(org.jobs_repo),
                        triggers=triggers, builders=steps, **extra)


def _fetch_tool(org: Organisation, release: str) -> dict:
    """Copy the provisioning tool, itself an artifact of the CI/CD pipeline, into the workspace."""
    tool = org.environments.provisioning_tool
    ci_job = naming.service_job_name(org.owner_of(tool.service).namespace, tool.service, release, "ci")
    return {"copyartifact": {"project": ci_job, "filter": tool.artifact, "target": TOOL_DIR,
                             "which-build": "last-successful", "flatten": True}}


def _env_step(org: Organisation, command: str, release: str, **options) -> dict:
    return {"envdelivery-env": {"command": command, "org-file": org.org_file.name, "release": release,
                                **options}}


def variant_jobs(org: Organisation, variant: Variant, release: str) -> list[dict]:
    tool = org.environments.provisioning_tool
    upstream = [naming.package_job_name(org, service, release) for service in variant.services]
    tool_package = naming.package_job_name(org, tool.service, release)
    if tool_package not in upstream:
        upstream.append(tool_package)
    build = naming.env_job_name(org, variant.name, release, "build")
    verify = naming.env_job_name(org, variant.name, release, "verify")
    gc = naming.env_job_name(org, variant.name, release, "gc")
    what = f"the {variant.name} environment of release line {release}"
    return [
        _env_job(
            org, build,
            f"Builds {what} with the provisioning tool and the newest artifacts, validates it and "
            f"saves it as a template. Runs nightly and whenever a contained service is repackaged.",
            [_fetch_tool(org, release), _env_step(org, "build", release, variant=variant.name)],
            [{"timed": variant.schedule}, reverse_trigger(upstream)],
        ),
        _env_job(
            org, verify,
            f"Deploys a fresh environment from the newest template of {what}, validates it and "
            f"promotes the template to verified.",
            [_fetch_tool(org, release), _env_step(org, "verify", release, variant=variant.name)],
            [reverse_trigger([build])],
        ),
        _env_job(
            org, gc,
            f"Deletes old templates of {what}, keeping the newest {variant.retain} verified ones.",
            [_env_step(org, "gc", release, variant=variant.name, keep=variant.retain)],
            # After every verify, whatever its result: a failed template is garbage too.
            [reverse_trigger([verify], result="failure")],
        ),
    ]


CUSTOM_CONFIG_FILE = "env-config.yaml"


def custom_job(org: Organisation, release: str) -> dict:
    return _env_job(
        org,
        naming.custom_env_job_name(org, release),
        f"Provisions a custom environment of release line {release} from the configuration an "
        f"engineer supplies (write one with `jjb-envdelivery env customize`).",
        [
            _fetch_tool(org, release),
            {"shell": f"printf '%s\\n' \"$ENV_CONFIG\" > {CUSTOM_CONFIG_FILE}"},
            _env_step(org, "provision", release, config=CUSTOM_CONFIG_FILE),
        ],
        [],
        parameters=[{"text": {"name": "ENV_CONFIG", "default": "",
                              "description": "The environment configuration (YAML), as written by "
                                             "`jjb-envdelivery env customize` and edited."}}],
    )
