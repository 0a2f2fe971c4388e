"""Environment jobs: per variant and release line build, verify and gc; per release line a
custom-environment job.

The provisioning tool is an artifact of the CI/CD pipeline. Each job that runs it empties
``.envdelivery/tool`` first (the workspace outlives builds, and the ``env`` commands refuse two
tool files), then copies exactly one: the build job takes the last stable build of the tool's CI
job and archives what it used; verify takes that archive from the build that triggered it, so a
template is verified with the tool it was built with; the custom job takes the last stable CI
build. gc runs no tool.
"""

from __future__ import annotations

from .. import naming
from ..model.organisation import Organisation, Variant
from .common import delivery_job, git_scm, reverse_trigger

TOOL_DIR = ".envdelivery/tool"


def _env_job(org: Organisation, name: str, description: str, steps: list, triggers: list, build_timeout: int,
             parameters: list | None = None, **extra) -> dict:
    if parameters:
        extra["parameters"] = parameters
    # The provider's credential, bound to exactly the variables the provider reads.
    credential = org.environments.provider.credential
    wrappers = ({"credentials-binding": [credential.jjb()]},) if credential else ()
    # The org file says which services, tool and provider; the jobs repo holds it.
    return delivery_job(name, description, node=org.environments.agent_label, scm=git_scm(org.jobs_repo),
                        triggers=triggers, builders=steps, build_timeout=build_timeout, wrappers=wrappers, **extra)


def _clean_tool() -> dict:
    """Nothing of an earlier build's tool may stay in the workspace."""
    return {"shell": f"rm -rf {TOOL_DIR}"}


def _tool_from_ci(org: Organisation, release: str) -> dict:
    """The last stable build of the tool's CI job: an UNSTABLE one (failing tests) is not taken."""
    tool = org.environments.provisioning_tool
    ci_job = naming.service_job_name(org.owner_of(tool.service).namespace, tool.service, release, "ci")
    return {"envdelivery-copy": {"project": naming.absolute(ci_job), "filter": tool.artifact, "target": TOOL_DIR,
                                 "flatten": True, "which-build": "last-successful", "stable": True}}


def _tool_from_build(build: str) -> dict:
    """The tool the build job that triggered this one archived; the newest such build when
    several triggers folded into one queued build (the newest template is the one verified),
    and its last successful build when started by hand."""
    return {"envdelivery-copy": {"project": naming.absolute(build), "filter": f"{TOOL_DIR}/**", "target": TOOL_DIR,
                                 "flatten": True, "which-build": "upstream-build", "upstream-filter": "newest",
                                 "fallback-to-last-successful": True}}


def _env_step(org: Organisation, command: str, release: str, **options) -> dict:
    return {"envdelivery-env": {"command": command, "org-file": org.org_file.name, "release": release,
                                **options}}


def variant_jobs(org: Organisation, variant: Variant, release: str) -> list[dict]:
    tool = org.environments.provisioning_tool
    # The stage the environments are built from (the provider's BUILDS_AFTER), and the tool's package.
    stage = org.environments.builds_after
    upstream = [naming.service_job_name(org.owner_of(service).namespace, service, release, stage)
                for service in variant.services]
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
            f"saves it as a template. Runs nightly and whenever a contained service is "
            f"{'repackaged' if stage == 'package' else 'delivered'}.",
            [_clean_tool(), _tool_from_ci(org, release), _env_step(org, "build", release, variant=variant.name)],
            [{"timed": variant.schedule}, reverse_trigger(upstream)],
            variant.build_timeout,
            # The tool this build used, for its verify job (absolute: copyartifact matches "/" +
            # the copier's full name or its name relative to this job's folder).
            publishers=[{"archive": {"artifacts": f"{TOOL_DIR}/**", "fingerprint": True, "only-if-success": True}}],
            properties=({"copyartifact": {"projects": naming.absolute(verify)}},),
        ),
        _env_job(
            org, verify,
            f"Deploys a fresh environment from the newest template of {what}, validates it and "
            f"promotes the template to verified.",
            [_clean_tool(), _tool_from_build(build), _env_step(org, "verify", release, variant=variant.name)],
            [reverse_trigger([build])],
            variant.build_timeout,
        ),
        _env_job(
            org, gc,
            f"Deletes old templates of {what}, keeping the newest {variant.retain} verified ones.",
            [_env_step(org, "gc", release, variant=variant.name, keep=variant.retain)],
            # After every verify, whatever its result: a failed template is garbage too.
            [reverse_trigger([verify], result="failure")],
            variant.build_timeout,
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
            _clean_tool(),
            _tool_from_ci(org, release),
            {"shell": f"printf '%s\\n' \"$ENV_CONFIG\" > {CUSTOM_CONFIG_FILE}"},
            _env_step(org, "provision", release, config=CUSTOM_CONFIG_FILE),
        ],
        [],
        org.environments.build_timeout,
        parameters=[{"text": {"name": "ENV_CONFIG", "default": "",
                              "description": "The environment configuration (YAML), as written by "
                                             "`jjb-envdelivery env customize` and edited."}}],
    )
