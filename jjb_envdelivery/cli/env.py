"""``jjb-envdelivery env ...``: the environment template lifecycle (what the generated environment
jobs run, and what engineers run to get an environment)."""

from __future__ import annotations

import errno
import json
import os
import secrets
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

from ..environments import envconfig, lifecycle
from ..environments.catalog import Template, diff_services, of_line
from ..environments.containers.compose import dump_compose
from ..environments.registry import open_provider
from ..errors import EnvDeliveryError
from ..model.loader import load_organisation
from ..naming import custom_env_job_name
from ..orchestration.custom_env import run_custom_job

TOOL_DIR = ".envdelivery/tool"


def add_parser(commands) -> None:
    env = commands.add_parser(
        "env",
        help="build, verify, deploy, compare, export and garbage-collect environment templates",
        description="The environment template lifecycle over the organisation's provider "
        "(environments.provider in the org file): build saves a validated environment as a template, "
        "verify deploys it afresh and promotes it, deploy gives an engineer an environment, gc deletes "
        "old templates. Every template records its bill of materials, the services and their versions "
        "(and image digests or checksums): list shows it, diff compares two templates', export writes a "
        "container template as a Compose file.",
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

    p = _command(sub, "list", "templates (with their count of services) and environments", run_list)
    p.add_argument("--variant", help="only this variant")
    p.add_argument("--release", help="only this release line")
    p.add_argument("--json", action="store_true",
                   help="JSON instead of tables, each template with its bill of materials "
                   "(services: name -> version, digest or sha256, ...)")

    p = _command(sub, "diff", "the services added, removed and changed between two templates", run_diff)
    p.epilog = ("Either two template ids (env diff T1 T2), or a variant and release line with versions of it: "
                "--to defaults to the newest template of the line, --from to the one before --to. A service "
                "is changed when its version, image digest, sha256 or commit differs. Exits 0 whether or "
                "not the templates differ.")
    p.add_argument("templates", nargs="*", metavar="TEMPLATE", help="the template to compare from, then the one to")
    _line(p, required=False)
    p.add_argument("--from", dest="from_version", type=int, metavar="N",
                   help="with --variant/--release: from version N")
    p.add_argument("--to", dest="to_version", type=int, metavar="M", help="with --variant/--release: to version M")
    p.add_argument("--json", action="store_true",
                   help='JSON: {"from", "to", "added", "removed", "changed", "unchanged"}')

    p = _command(sub, "export", "write a container template as a Compose file (container provider only)",
                 run_export)
    p.add_argument("template", metavar="TEMPLATE", help="the template id (env list shows them)")
    p.add_argument("-o", "--output", type=Path, default=Path("compose.yaml"),
                   help="the Compose file to write (default compose.yaml)")
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")

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
    rows = [("TEMPLATE", "VARIANT", "RELEASE", "VERSION", "STATUS", "PINNED", "SERVICES", "CREATED", "BUILD")]
    rows += [(t.id, t.variant, t.release, str(t.version), t.status, "yes" if t.pinned else "",
              str(len(t.services)), t.created_at, t.build.get("url", "")) for t in templates]
    print(_table(rows))
    if environments:
        rows = [("ENVIRONMENT", "PURPOSE", "TEMPLATE", "STATE", "CREATED")]
        rows += [(e.id, e.purpose, e.template_id or "", e.state, e.created_at) for e in environments]
        print()
        print(_table(rows))
    return 0


def run_diff(args) -> int:
    with _provider(args) as (_org, provider):
        before, after = _diff_pair(provider, args)
    diff = diff_services(before, after)
    if args.json:
        print(json.dumps(diff.to_json(), indent=2))
        return 0
    print(f"{before.label} -> {after.label}")
    print("\n".join(diff.report()))
    return 0


def _diff_pair(provider, args) -> tuple[Template, Template]:
    """The two templates `env diff` compares: two ids, or versions of a variant and release line."""
    by_line = args.variant or args.release or args.from_version is not None or args.to_version is not None
    if args.templates:
        if len(args.templates) != 2 or by_line:
            raise EnvDeliveryError("give two template ids (env diff T1 T2), or --variant and --release "
                                   "[--from N] [--to M]")
        return provider.get_template(args.templates[0]), provider.get_template(args.templates[1])
    if not (args.variant and args.release):
        raise EnvDeliveryError("give two template ids (env diff T1 T2), or --variant and --release "
                               "[--from N] [--to M]")
    where = f"{args.variant}/{args.release}"
    line = of_line(provider.list_templates(), args.variant, args.release)
    if not line:
        raise EnvDeliveryError(f"no templates of {where} (env list shows what exists)")
    existing = ", ".join(f"v{t.version} ({t.status})" for t in line)

    def version(number: int) -> Template:
        found = next((t for t in line if t.version == number), None)
        if found is None:
            raise EnvDeliveryError(f"no template {where} v{number} (never built, or deleted by gc); "
                                   f"existing: {existing}")
        return found

    after = line[0] if args.to_version is None else version(args.to_version)
    if args.from_version is not None:
        return version(args.from_version), after
    before = next((t for t in line if t.version < after.version), None)
    if before is None:
        raise EnvDeliveryError(f"{after.label} is the oldest template of {where}: nothing before it to "
                               f"compare with (give --from; existing: {existing})")
    return before, after


def run_export(args) -> int:
    output: Path = args.output
    if not args.force and _exists(output):
        raise EnvDeliveryError(f"{output} exists; give --force to replace it")
    with _provider(args) as (_org, provider):
        compose = provider.export_compose(provider.get_template(args.template))
    _write_atomically(output, dump_compose(compose), replace=args.force)
    print(f"wrote {output}: run it with docker compose -f {output} up -d (or podman-compose)")
    return 0


def _exists(path: Path) -> bool:
    return os.path.lexists(path)  # a dangling symlink too: replacing it is still overwriting


def _write_atomically(path: Path, text: str, replace: bool) -> None:
    """``path`` holds ``text`` entirely or is left as it was: written to a temporary file beside it,
    then renamed over it (``replace``) or hard-linked to its name, which fails if the name exists."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any file
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            if replace:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)
                except OSError as exc:
                    if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                        raise
                    # A file system without hard links: check, then rename (a narrow race, no link).
                    if _exists(path):
                        raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
                    os.replace(tmp, path)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)  # renamed already, or the link holds the data, or the write failed
    except FileExistsError:
        raise EnvDeliveryError(f"{path} exists; give --force to replace it") from None
    except OSError as exc:
        raise EnvDeliveryError(f"cannot write {path}: {exc.strerror or exc}") from None


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
