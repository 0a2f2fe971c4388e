"""Container environments: build, verify, deploy and destroy times of a template, against the
engine's own Compose tool running the same template.

For each size, a synthetic environment of N services (BusyBox httpd on a network of their own;
one in ten with a healthcheck, the first with a named volume) built from a Compose file with the
container provider on Podman. Each step is `jjb-envdelivery env ...` in its own process. The
baseline, in the same run and alternating with our deploy: `podman-compose up -d` of the
template's `env export` (the same images, networks and volume), then `down`. Ratios are ours /
podman-compose's. Needs podman, runc, busybox-static and podman-compose.

    python benchmarks/bench_containers.py --services 5,40 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from jjb_envdelivery.environments.containers.base_image import import_busybox_image
from jjb_envdelivery.environments.containers.engine import Engine
from jjb_envdelivery.orchestration.demo_containers import host_settings

BASE = "localhost/envdelivery-bench-base:busybox"
LABEL = "io.github.jjb-envdelivery.root"
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
    tool = directory / ".envdelivery" / "tool" / "tool-1.0.sh"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    return directory


def env(org: Path, environ: dict, *args: str) -> common.Measure:
    return common.run([common.ENVDELIVERY, "env", *args], cwd=org, env=environ)


def listing(org: Path, environ: dict) -> dict:
    done = subprocess.run([common.ENVDELIVERY, "env", "list", "--json"], cwd=org, env=environ, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def bench_size(work: Path, services: int, repeat: int, environ: dict) -> list[str]:
    org = write_org(work / f"org-{services}", services)
    line = ["--variant", "synth", "--release", "current"]
    phases: dict[str, list[common.Measure]] = {"build": [], "verify": []}
    for _ in range(repeat):
        phases["build"].append(env(org, environ, "build", *line))
        phases["verify"].append(env(org, environ, "verify", "--latest", *line))
    template = max(listing(org, environ)["templates"], key=lambda t: t["version"])
    exported = work / f"exported-{services}.yaml"
    env(org, environ, "export", template["id"], "-o", str(exported), "--force")
    destroys: list[common.Measure] = []
    downs: list[common.Measure] = []
    project = f"bench{services}"

    def ours(_: int) -> common.Measure:
        measure = env(org, environ, "deploy", "--template", template["id"])
        deployed = [e["id"] for e in listing(org, environ)["environments"]]
        destroys.append(env(org, environ, "destroy", deployed[0]))
        return measure

    def theirs(_: int) -> common.Measure:
        measure = common.run(["podman-compose", "-p", project, "-f", exported, "up", "-d"], env=environ)
        downs.append(common.run(["podman-compose", "-p", project, "-f", exported, "down", "-v", "-t", "0"],
                                env=environ))
        # podman-compose 1.0 leaves the project's networks behind (untimed).
        subprocess.run(["podman", "network", "rm", f"{project}_default"], capture_output=True, env=environ)
        return measure

    pairs = common.alternate("jjb-envdelivery env deploy", ours, "podman-compose up -d", theirs, repeat)
    deploys, ups = pairs["jjb-envdelivery env deploy"], pairs["podman-compose up -d"]
    out = [f"\n{services} services (median of {repeat}):"]
    for name, measures in (*phases.items(), ("deploy", deploys), ("destroy", destroys)):
        out.append(f"  env {name}: {common.med(measures):.2f} s wall, {common.med(measures, 'cpu'):.2f} s CPU")
    out.append(f"  podman-compose up -d: {common.med(ups):.2f} s wall; down: {common.med(downs):.2f} s wall")
    out.append(f"  median ratio deploy / podman-compose up: {common.median_ratio(deploys, ups):.2f}x wall")
    out.append(f"  median ratio destroy / podman-compose down: {common.median_ratio(destroys, downs):.2f}x wall")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default="5,40", help="environment sizes (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep the organisations here (default: a temp dir)")
    args = parser.parse_args(argv)
    print(common.header(sys.argv))
    with tempfile.TemporaryDirectory(prefix="bench-containers-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        import_busybox_image(Engine("podman"), BASE)
        environ = {**os.environ, **host_settings(BASE, work, print)}
        report = []
        try:
            for size in common.parse_sizes(args.services):
                report += bench_size(work, size, args.repeat, environ)
        finally:
            # The templates' images (and anything a failed step left), by the catalogs' labels.
            for org in work.glob("org-*"):
                key = hashlib.sha256(str(org / "containers").encode()).hexdigest()[:12]
                images = subprocess.run(["podman", "images", "-q", "--filter", f"label={LABEL}={key}"],
                                        capture_output=True, text=True, env=environ).stdout.split()
                if images:
                    subprocess.run(["podman", "rmi", "-f", *sorted(set(images))], capture_output=True, env=environ)
        print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
