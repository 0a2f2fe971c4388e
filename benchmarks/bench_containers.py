"""Container environments: build, save, verify, deploy and destroy times of a template, against
the engine's own Compose tool running the same template.

Two kinds of environment, given as tokens of ``--services``:

- ``N`` (a number): a synthetic environment of N services (BusyBox httpd on a network of their
  own; one in ten with a healthcheck, the first with a named volume) from a Compose file, with
  the container provider on Podman and no registry (templates stay on this host).
- ``example``: the container example organisation (examples/container-org), variant ``full``
  (``--example-variant``), release line ``current``. Set up untimed as ``jjb-envdelivery demo``
  sets it up (cli/demo_loop.py ``container_host``: docker-registry on a free loopback port, a copy
  of the organisation naming it, the BusyBox base image pushed there, the host's Podman
  settings), then the services' images built from their Containerfiles and pushed at their
  release tag (what the package and deliver jobs do), and the provisioning tool's zipapp built by
  its ci/build.sh. Its templates are pushed to that registry, so save includes the pushes.

Each step is ``jjb-envdelivery env ...`` in its own process: ``env build`` end to end
(provision, validation, save, teardown), ``verify``, ``deploy``, ``destroy``. Save has no command
of its own, so each repeat also runs one build in this process, through ``lifecycle.build`` with
the provider's ``provision``, ``save_template`` and ``destroy`` timed (wrapped on the provider
instance; validation is the rest). The baseline, in the same run and alternating with our deploy:
``podman-compose up -d`` of the template's ``env export`` (the same images, networks and
volumes; images the export names in a registry are pulled first, untimed), then ``down``.
Ratios are ours / podman-compose's. Needs podman, runc, busybox-static and podman-compose; the
example also docker-registry. Everything made is removed at the end (and checked).

    python benchmarks/bench_containers.py --services 5,40 --repeat 3
    python benchmarks/bench_containers.py --services example,40 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from jjb_envdelivery.cli.demo_loop import ENV_ROOT, container_host, image_services
from jjb_envdelivery.environments import lifecycle
from jjb_envdelivery.environments.containers.base_image import import_busybox_image
from jjb_envdelivery.environments.containers.engine import Engine
from jjb_envdelivery.environments.registry import open_provider
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.orchestration.demo import root_variable
from jjb_envdelivery.orchestration.demo_containers import containerfile, environment_variables, host_settings

BASE = "localhost/envdelivery-bench-base:busybox"
LABEL = "io.github.jjb-envdelivery.root"
EXAMPLE = common.REPO / "examples" / "container-org"
TOOL_DIR = Path(".envdelivery") / "tool"  # `env build`'s default --artifacts
ORG = """\
organisation: bench
jobs-repo: {{url: https://git.example.com/jobs.git, branch: main}}
updater: {{label: jjb, credential-id: jjb-ini}}
release-lines: [{{name: current, branch: main}}]
projects:
  - name: bench
    repo: {{url: https://git.example.com/bench.git, branch: main}}
    jobs-path: jenkins
    services: [tool]
environments:
  provisioning-tool: {{service: tool, artifact: 'dist/tool-*.sh', command: 'tool'}}
  provider:
    name: container
    settings: {{root: {root}, validate-image: {base}, start-timeout: 300}}
  variants:
    - name: synth
      services: [tool]
      compose: compose.yaml
      validate: ['wget -qO- http://s{last}:8080/passwd']
"""


@dataclass
class Target:
    """One environment to measure: its organisation directory (delivery.yaml), variant and line."""

    title: str
    org: Path
    variant: str
    release: str
    project: str  # podman-compose's project name
    environ: dict  # the environment of every subprocess
    overrides: dict  # what this process's environment needs for the in-process build
    root: Path  # the provider's catalog (its objects carry its key as a label)


def compose(services: int) -> str:
    lines = ["services:"]
    for n in range(services):
        lines += [f"  s{n}:", f"    image: {BASE}", "    command: [httpd, -f, -p, '8080', -h, /etc]",
                  "    ports: [8080]"]
        if n % 10 == 0:
            lines += ["    healthcheck: {test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/passwd'], interval: 200ms}"]
        if n == 0:
            lines += ["    volumes: ['state:/srv/state']"]
    return "\n".join([*lines, "volumes: {state: {}}", ""])


def write_org(directory: Path, services: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "delivery.yaml").write_text(ORG.format(root=directory / "containers", base=BASE,
                                                        last=services - 1))
    (directory / "compose.yaml").write_text(compose(services))
    tool = directory / TOOL_DIR / "tool-1.0.sh"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    return directory


def env(target: Target, *args: str) -> common.Measure:
    return common.run([common.ENVDELIVERY, "env", *args], cwd=target.org, env=target.environ)


def listing(target: Target) -> dict:
    done = subprocess.run([common.ENVDELIVERY, "env", "list", "--json"], cwd=target.org, env=target.environ,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@contextlib.contextmanager
def quiet():
    """This process's standard output, and its children's (the provisioning tool, validations),
    discarded while the block runs."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as null, contextlib.redirect_stdout(io.StringIO()):
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def timed_build(target: Target) -> dict[str, common.Measure]:
    """One `env build` in this process: the org file and provider as `jjb-envdelivery env` opens
    them (cli/env.py), then lifecycle.build itself, with the provider's provision, save_template
    and destroy timed on this instance. Wall and CPU (this process and the engine commands it
    waited for) of provision, validate (the rest), save, teardown and the whole build."""
    steps: dict[str, common.Measure] = {}

    def timed(name: str, method):
        def call(*args, **kwargs):
            wall, cpu = time.perf_counter(), _cpu()
            try:
                return method(*args, **kwargs)
            finally:
                steps[name] = common.Measure(time.perf_counter() - wall, _cpu() - cpu, processes=1)
        return call

    os.sync()
    with environment_variables(target.overrides), quiet():
        wall, cpu = time.perf_counter(), _cpu()
        org = load_organisation(target.org / "delivery.yaml")
        provider = open_provider(org)
        try:
            provider.recover()
            for name, method in (("provision", "provision"), ("save", "save_template"), ("teardown", "destroy")):
                setattr(provider, method, timed(name, getattr(provider, method)))
            lifecycle.build(org, provider, target.variant, target.release, target.org / TOOL_DIR, {},
                            say=lambda _: None)
        finally:
            provider.close()
        total = common.Measure(time.perf_counter() - wall, _cpu() - cpu, processes=1)
    known = [steps[name] for name in ("provision", "save", "teardown")]
    steps["validate"] = common.Measure(total.wall - sum(m.wall for m in known), total.cpu - sum(m.cpu for m in known))
    steps["total"] = total
    return steps


def pull_registry_images(exported: Path, environ: dict) -> None:
    """The registry images an export names, pulled (untimed) before podman-compose's first up."""
    services = (yaml.safe_load(exported.read_text()) or {}).get("services") or {}
    for image in sorted({s["image"] for s in services.values()}):
        if not image.startswith("localhost/"):
            subprocess.run(["podman", "pull", "-q", image], capture_output=True, env=environ, check=True)


def bench_target(work: Path, target: Target, repeat: int) -> list[str]:
    line = ["--variant", target.variant, "--release", target.release]
    phases: dict[str, list[common.Measure]] = {"build": [], "verify": []}
    steps: dict[str, list[common.Measure]] = {}
    for i in range(repeat):
        phases["build"].append(env(target, "build", *line))
        print(f"  run {i + 1}/{repeat} env build: {common.describe(phases['build'][-1])}", flush=True)
        for name, measure in timed_build(target).items():
            steps.setdefault(name, []).append(measure)
        print(f"  run {i + 1}/{repeat} build in process: "
              + ", ".join(f"{name} {steps[name][-1].wall:.2f} s" for name in steps), flush=True)
        phases["verify"].append(env(target, "verify", "--latest", *line))
        print(f"  run {i + 1}/{repeat} env verify: {common.describe(phases['verify'][-1])}", flush=True)
    template = max(listing(target)["templates"], key=lambda t: t["version"])
    exported = work / f"exported-{target.project}.yaml"
    env(target, "export", template["id"], "-o", str(exported), "--force")
    pull_registry_images(exported, target.environ)
    destroys: list[common.Measure] = []
    downs: list[common.Measure] = []
    compose_cmd = ["podman-compose", "-p", target.project, "-f", exported]

    def ours(_: int) -> common.Measure:
        measure = env(target, "deploy", "--template", template["id"])
        deployed = [e["id"] for e in listing(target)["environments"]]
        destroys.append(env(target, "destroy", deployed[0]))
        return measure

    def theirs(_: int) -> common.Measure:
        measure = common.run([*compose_cmd, "up", "-d"], env=target.environ)
        downs.append(common.run([*compose_cmd, "down", "-v", "-t", "0"], env=target.environ))
        # podman-compose 1.0 leaves the project's networks behind (untimed).
        networks = (yaml.safe_load(exported.read_text()) or {}).get("networks") or {"default": {}}
        subprocess.run(["podman", "network", "rm", *(f"{target.project}_{n}" for n in networks)],
                       capture_output=True, env=target.environ)
        return measure

    pairs = common.alternate("jjb-envdelivery env deploy", ours, "podman-compose up -d", theirs, repeat)
    deploys, ups = pairs["jjb-envdelivery env deploy"], pairs["podman-compose up -d"]
    out = [f"\n{target.title} (median of {repeat}):"]

    def row(name: str, measures: list[common.Measure]) -> str:
        return f"  {name}: {common.med(measures):.2f} s wall, {common.med(measures, 'cpu'):.2f} s CPU"

    out.append(row("env build (end to end)", phases["build"]))
    out += [row(f"  {name} (in process)", steps[name]) for name in ("provision", "validate", "save", "teardown")]
    out.append(row("  whole build (in process)", steps["total"]))
    for name, measures in (("verify", phases["verify"]), ("deploy", deploys), ("destroy", destroys)):
        out.append(row(f"env {name}", measures))
    out.append(f"  podman-compose up -d: {common.med(ups):.2f} s wall; down: {common.med(downs):.2f} s wall")
    out.append(f"  median ratio deploy / podman-compose up: {common.median_ratio(deploys, ups):.2f}x wall")
    out.append(f"  median ratio destroy / podman-compose down: {common.median_ratio(destroys, downs):.2f}x wall")
    return out


def synthetic(work: Path, services: int, environ: dict, overrides: dict) -> Target:
    org = write_org(work / f"org-{services}", services)
    return Target(f"{services} services", org, "synth", "current", f"envdelivery-bench-{services}", environ,
                  overrides, org / "containers")


def build_example_images(org_dir: Path, environ: dict) -> list[str]:
    """What the example's package and deliver jobs leave in the registry, without Jenkins: each
    service's image built from its Containerfile and pushed at the release tag the Compose files
    name (${REGISTRY}/<service>:current); and the provisioning tool's zipapp, built by its CI
    script and put where `env build` looks for it."""
    org = load_organisation(org_dir / "delivery.yaml")
    registry = org.environments.provider.settings["registry"]
    release = org.release_lines[0].name
    images = []
    for service in image_services(org):
        image = f"{registry}/{service}:{release}"
        source = containerfile(org, service).parent
        subprocess.run(["podman", "build", "-q", "--layers=false", "-f", "Containerfile", "-t", image, "."],
                       cwd=source, env=environ, check=True, capture_output=True)
        subprocess.run(["podman", "push", "-q", image], env=environ, check=True, capture_output=True)
        images.append(image)
    tool = org.environments.provisioning_tool
    source = org_dir / "services" / tool.service
    subprocess.run(["sh", "ci/build.sh"], cwd=source, env=environ, check=True, capture_output=True)
    (org_dir / TOOL_DIR).mkdir(parents=True, exist_ok=True)
    for artifact in source.glob(tool.artifact):
        shutil.copy2(artifact, org_dir / TOOL_DIR / artifact.name)
    return images


def bench_example(work: Path, variant: str, repeat: int) -> list[str]:
    """The example organisation on the demo's container host (registry, base image, host settings),
    which removes on exit every template and environment of its catalog (here and in the registry)
    and every image named after its registry, then stops the registry."""
    example = load_organisation(EXAMPLE / "delivery.yaml")
    here = work / "example"
    with container_host(example, here, lambda text: print(f"  example: {text}", flush=True)) as org:
        root = here / ENV_ROOT
        overrides = {root_variable(org): str(root)}
        environ = {**os.environ, **overrides}
        images = build_example_images(org.org_dir, environ)
        print(f"  example: built and pushed {', '.join(images)}", flush=True)
        chosen = next(v for v in org.environments.variants if v.name == variant)
        services = len(chosen.services) - 1  # the provisioning tool is no container
        target = Target(f"example (examples/container-org, variant {variant}: {services} services)", org.org_dir,
                        variant, org.release_lines[0].name, "envdelivery-bench-example", environ, overrides, root)
        return bench_target(work, target, repeat)


def remove_labelled(root: Path, environ: dict) -> None:
    """Every container, network, volume and image labelled with the catalog at `root` (its
    templates' images, and anything a failed step left)."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    steps = ((["ps", "-a", "-q"], ["rm", "-f", "-t", "0"]), (["network", "ls", "-q"], ["network", "rm"]),
             (["volume", "ls", "-q"], ["volume", "rm", "-f"]), (["images", "-q"], ["rmi", "-f"]))
    for listed, removal in steps:
        found = subprocess.run(["podman", *listed, "--filter", f"label={LABEL}={key}"], capture_output=True,
                               text=True, env=environ).stdout.split()
        if found:
            subprocess.run(["podman", *removal, *sorted(set(found))], capture_output=True, env=environ)


def leftovers(roots: list[Path], projects: list[str], environ: dict) -> list[str]:
    """What the benchmark made and is still here (checked after the clean-up)."""
    found = []
    for root in roots:
        key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
        for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"], ["images"]):
            names = subprocess.run(["podman", *kind, "-q", "--filter", f"label={LABEL}={key}"], capture_output=True,
                                   text=True, env=environ).stdout.split()
            found += [f"{kind[0]} {name}" for name in names]
    names = subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                           env=environ).stdout.split()
    found += [f"network {name}" for name in names if any(name.startswith(f"{p}_") for p in projects)]
    return found


def has_image(image: str) -> bool:
    return subprocess.run(["podman", "image", "exists", image], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default="5,40",
                        help="comma-separated: environment sizes, and `example` for the container example")
    parser.add_argument("--example-variant", default="full", help="the example's variant (default full)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep the organisations here (default: a temp dir)")
    args = parser.parse_args(argv)
    tokens = [t.strip() for t in args.services.split(",") if t.strip()]
    sizes = common.parse_sizes(",".join(t for t in tokens if t != "example"))
    print(common.header(sys.argv))
    with tempfile.TemporaryDirectory(prefix="envdelivery-bench-containers-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        imported = bool(sizes) and not has_image(BASE)
        if imported:
            import_busybox_image(Engine("podman"), BASE)
        overrides = host_settings(BASE, work, print) if sizes else {}
        environ = {**os.environ, **overrides}
        report: list[str] = []
        roots, projects = [], []
        try:
            for token in tokens:
                if token == "example":
                    roots.append(work / "example" / ENV_ROOT)
                    projects.append("envdelivery-bench-example")
                    report += bench_example(work, args.example_variant, args.repeat)
                else:
                    target = synthetic(work, int(token), environ, overrides)
                    roots.append(target.root)
                    projects.append(target.project)
                    report += bench_target(work, target, args.repeat)
        finally:
            for root in roots:
                remove_labelled(root, environ)
            if imported:
                subprocess.run(["podman", "rmi", BASE], capture_output=True, env=environ)
            left = leftovers(roots, projects, environ) + ([BASE] if imported and has_image(BASE) else [])
        print("\n".join(report))
        print(f"\nclean-up: {'left behind: ' + ', '.join(left) if left else 'nothing left behind'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
