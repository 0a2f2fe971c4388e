"""``jjb-envdelivery env ...``: the environment template lifecycle (what the generated environment
jobs run, and what engineers run to get an environment)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

from ..environments import envconfig, lifecycle
from ..environments.catalog import of_line
from ..environments.registry import open_provider
from ..errors import EnvDeliveryError
from ..model.loader import load_organisation
from ..naming import custom_env_job_name
from ..orchestration.custom_env import run_custom_job

TOOL_DIR = ".envdelivery/tool"


def add_parser(commands) -> None:
    env = commands.add_parser(
        "env",
        help="build, verify, deploy and garbage-collect environment templates",
        description="The environment template lifecycle over the organisation's provider "
        "(environments.provider in the org file): build saves a validated environment as a template, "
        "verify deploys it afresh and promotes it, deploy gives an engineer an environment, gc deletes "
        "old templates.",
    )
    sub = env.add_subparsers(dest="env_command", metavar="ENV_COMMAND", required=True)

    p = _command(sub, "build", "provision, validate and save a new template", run_build)
    _line(p, required=True)
    _artifacts(p)

    p = _command(sub, "verify", "deploy a template afresh, validate it and promote it", run_verify)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--template", help="the template to verify")
    which.add_argument("--latest", action="store_true",
                       help="the newest built template of --variant and --release")
    _line(p, required=False)
    _artifacts(p)

    p = _command(sub, "deploy", "a running environment from a template (newest verified by default)", run_deploy)
    _line(p, required=False)
    p.add_argument("--version", type=int, help="the template version of the variant and release line")
    p.add_argument("--template", help="a template id instead of --variant/--release")

    p = _command(sub, "destroy", "tear an environment down", run_destroy)
    p.add_argument("environment", help="the environment id (env list shows them)")

    p = _command(sub, "customize", "write a variant's configuration for an engineer to edit", run_customize)
    p.add_argument("--from", dest="variant", required=True, help="the variant to start from")
    p.add_argument("--release", required=True, help="the release line")
    p.add_argument("-o", "--output", type=Path, required=True, help="the configuration file to write")

    p = _command(sub, "provision", "provision an environment from a configuration file", run_provision)
    p.add_argument("--config", type=Path, required=True, help="the environment configuration (env customize)")
    p.add_argument("--release", help="the release line it must be for (the custom job passes its own)")
    _artifacts(p)
    p.add_argument("--on-jenkins", action="store_true",
                   help="run the generated env-custom-<release> job with this configuration instead")
    p.add_argument("--conf", type=Path, help="--on-jenkins: JJB ini with the server URL and credentials")
    p.add_argument("--timeout", type=float, default=3600.0, help="--on-jenkins: seconds to wait (default 3600)")
    p.add_argument("--poll-interval", type=float, default=5.0, help="--on-jenkins: seconds between polls")

    p = _command(sub, "list", "templates and environments", run_list)
    p.add_argument("--variant", help="only this variant")
    p.add_argument("--release", help="only this release line")
    p.add_argument("--json", action="store_true", help="JSON instead of tables")

    p = _command(sub, "gc", "delete old templates of a variant and release line", run_gc)
    _line(p, required=True)
    p.add_argument("--keep", type=int, help="verified templates to keep (default: the variant's retain)")

    p = _command(sub, "pin", "pin a template (golden: gc never deletes it)", run_pin)
    p.add_argument("template")
    p = _command(sub, "unpin", "unpin a template", run_unpin)
    p.add_argument("template")


def _command(sub, name: str, help_text: str, run):
    parser = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
    parser.add_argument("--org-file", type=Path, default=Path("delivery.yaml"),
                        help="the org file (default delivery.yaml in the current directory)")
    parser.set_defaults(run=run)
    return parser


def _line(parser, required: bool) -> None:
    parser.add_argument("--variant", required=required, help="the environment variant")
    parser.add_argument("--release", required=required, help="the release line")


def _artifacts(parser) -> None:
    parser.add_argument("--artifacts", type=Path, default=Path(TOOL_DIR),
                        help=f"the provisioning tool's artifacts (default {TOOL_DIR}, where the job copies them)")


@contextmanager
def _provider(args):
    org = load_organisation(args.org_file)
    provider = open_provider(org)
    try:
        for what in provider.recover():
            # On stderr: stdout is the command's answer (`env list --json` must stay JSON).
            print(f"recovered: {what}", file=sys.stderr, flush=True)
        yield org, provider
    finally:
        provider.close()


def run_build(args) -> int:
    with _provider(args) as (org, provider):
        lifecycle.build(org, provider, args.variant, args.release, args.artifacts, lifecycle.build_info_from_env())
    return 0


def run_verify(args) -> int:
    with _provider(args) as (org, provider):
        template = lifecycle.select_for_verify(provider, args.template, args.variant, args.release)
        lifecycle.verify(org, provider, template, artifacts_dir=args.artifacts)
    return 0


def run_deploy(args) -> int:
    with _provider(args) as (org, provider):
        if args.variant and args.release:
            lifecycle.find_variant(org, args.variant, args.release)
        template = lifecycle.select_for_deploy(provider, args.variant, args.release, args.version, args.template)
        lifecycle.deploy(provider, template)
    return 0


def run_destroy(args) -> int:
    with _provider(args) as (_org, provider):
        provider.destroy(args.environment)
        print(f"destroyed {args.environment}")
    return 0


def run_customize(args) -> int:
    org = load_organisation(args.org_file)
    variant = lifecycle.find_variant(org, args.variant, args.release)
    args.output.write_text(envconfig.dump(envconfig.variant_config(org, variant, args.release)))
    print(f"wrote {args.output}: edit it, then run "
          f"jjb-envdelivery env provision --config {args.output} [--on-jenkins --conf INI]")
    return 0


def run_provision(args) -> int:
    org = load_organisation(args.org_file)
    if org.environments is None:
        raise EnvDeliveryError(f"{org.org_file} has no 'environments' section")
    config = envconfig.load_config(args.config, org, args.release)
    if args.on_jenkins:
        if args.conf is None:
            raise EnvDeliveryError("--on-jenkins needs --conf (the JJB ini with the server and credentials)")
        job = custom_env_job_name(org, config["release"])
        run = run_custom_job(args.conf, job, args.config.read_text(), timeout=args.timeout,
                             poll=args.poll_interval)
        print(f"{job} #{run.number} finished: {run.result} ({run.url})")
        return 0 if run.result == "SUCCESS" else 1
    with _provider(args) as (org, provider):
        lifecycle.provision(org, provider, config, args.artifacts)
    return 0


def run_list(args) -> int:
    with _provider(args) as (_org, provider):
        templates = [t for t in provider.list_templates()
                     if (not args.variant or t.variant == args.variant)
                     and (not args.release or t.release == args.release)]
        environments = provider.list_environments()
    lines = sorted({(t.variant, t.release) for t in templates})
    templates = [t for line in lines for t in of_line(templates, *line)]
    if args.json:
        print(json.dumps({"templates": [t.to_json() for t in templates],
                          "environments": [e.to_json() for e in environments]}, indent=2))
        return 0
    rows = [("TEMPLATE", "VARIANT", "RELEASE", "VERSION", "STATUS", "PINNED", "CREATED", "BUILD")]
    rows += [(t.id, t.variant, t.release, str(t.version), t.status, "yes" if t.pinned else "", t.created_at,
              t.build.get("url", "")) for t in templates]
    print(_table(rows))
    if environments:
        rows = [("ENVIRONMENT", "PURPOSE", "TEMPLATE", "STATE", "CREATED")]
        rows += [(e.id, e.purpose, e.template_id or "", e.state, e.created_at) for e in environments]
        print()
        print(_table(rows))
    return 0


def _table(rows: list[tuple]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def run_gc(args) -> int:
    with _provider(args) as (org, provider):
        keep = args.keep
        if keep is None:
            keep = lifecycle.find_variant(org, args.variant, args.release).retain
        lifecycle.gc(org, provider, args.variant, args.release, keep)
    return 0


def run_pin(args) -> int:
    with _provider(args) as (_org, provider):
        print(f"pinned {provider.set_pinned(args.template, True).label}")
    return 0


def run_unpin(args) -> int:
    with _provider(args) as (_org, provider):
        print(f"unpinned {provider.set_pinned(args.template, False).label}")
    return 0
