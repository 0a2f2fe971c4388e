"""Synthetic organisations of a given size, shaped like examples/example-org.

An organisation of about N jobs: P projects x 10 services x 3 release lines x 3 jobs (the
shipped ``envdelivery-service`` job group), plus what the root scope generates for them (a
folder and a child updater per folder-namespaced project, the root updater, environment jobs
and views). Every fifth project uses a name-prefix namespace instead of a folder, as the
example's portal team does. Team YAML follows the example's recipes (Docker + SSH, Debian
packages, Python wheels, Docker only), cycling through them; each team has one or two files.

    python benchmarks/synth_org.py 4000 /tmp/org-4000

The generated tree is plain files: delivery.yaml plus teams/<project>/jenkins/*.yaml (the
``local-checkout`` of each project), so ``jjb-envdelivery render ORG -o OUT`` renders it all.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

SERVICES_PER_PROJECT = 10
RELEASE_LINES = [("current", "release/2026.11"), ("previous", "release/2026.10"), ("upcoming", "main")]
JOBS_PER_SERVICE = len(RELEASE_LINES) * 3  # ci, package, deliver per release line
# The root scope's environment jobs do not grow with the organisation (3 variants x 3 lines x 3).
FIXED_ROOT_JOBS = 1 + 27

RECIPES = [
    # Java services, Docker images started over SSH (the example's identity team).
    """\
    git-url: 'https://git.example.com/{project}/{{service}}.git'
    git-credential-id: {project}-git-read
    build: ./gradlew --no-daemon assemble
    validate: ./gradlew --no-daemon check
    artifacts: 'build/libs/*.jar, Dockerfile'
    test-report: junit
    test-results: 'build/test-results/test/*.xml'
    package: docker
    deliver-registry: docker
    registry: registry.example.com/{project}
    registry-credential-id: {project}-registry-push
    deliver-host: ssh
    service-host: '{{service}}.svc.example.com'
    host-command: 'sudo /usr/local/bin/run-image registry.example.com/{project}/{{service}} "$ENVDELIVERY_VERSION"'
    host-credential-id: {project}-deploy-ssh
""",
    # Go binaries as Debian packages (compute agents).
    """\
    git-url: 'https://git.example.com/{project}/{{service}}.git'
    build: make build
    validate: make test
    artifacts: 'bin/*'
    package: deb
    deb-install-dir: '/usr/lib/{{service}}'
    deliver-repository: curl
    repository-url: https://apt.example.com/repository/{project}
    repository-credential-id: {project}-apt-upload
    deliver-host: ssh
    service-host: {project}-canary.example.com
    host-command: 'sudo apt-get install -y ./{{service}}_*.deb'
    host-credential-id: {project}-deploy-ssh
""",
    # Python wheels to a package index, rolled out by a command (storage).
    """\
    git-url: 'https://git.example.com/{project}/{{service}}.git'
    build: python3 -m build --sdist
    validate: tox -e lint,py311
    artifacts: 'dist/*.tar.gz'
    test-report: junit
    test-results: '.tox/py311/junit.xml'
    package: python
    deliver-repository: twine
    repository-url: https://pypi.example.com/{project}/
    repository-credential-id: {project}-pypi-upload
    deliver-command: run
    deploy-command: '{project}-rollout {{service}} --config "$DEPLOY_CREDENTIALS"'
    deploy-credential-id: {project}-rollout-config
""",
    # Node front ends, Docker images on shared hosts (portal).
    """\
    git-url: 'https://git.example.com/{project}/{{service}}.git'
    git-credential-id: {project}-git-read
    build: |
      npm ci
      npm run build
    validate: npm test
    artifacts: 'dist/**, Dockerfile'
    test-report: junit
    test-results: 'reports/junit/*.xml'
    package: docker
    deliver-registry: docker
    registry: registry.example.com/{project}
    registry-credential-id: {project}-registry-push
    deliver-host: ssh
    service-host: {project}.svc.example.com
    host-command: 'sudo {project}-run {{service}} "$ENVDELIVERY_VERSION"'
    host-credential-id: {project}-deploy-ssh
""",
]


def project_count(jobs: int, per_project: int = SERVICES_PER_PROJECT) -> int:
    """Projects needed for about `jobs` jobs: each adds 90 service jobs, a folder and an updater."""
    return max(2, round((jobs - FIXED_ROOT_JOBS) / (per_project * JOBS_PER_SERVICE + 2)))


def project_name(index: int) -> str:
    return f"team{index:03d}"


def services(index: int, per_project: int = SERVICES_PER_PROJECT) -> list[str]:
    return [f"t{index:03d}-svc{s:02d}" for s in range(per_project)]


def uses_prefix(index: int) -> bool:
    return index % 5 == 4


def org_yaml(projects: int, per_project: int = SERVICES_PER_PROJECT) -> str:
    lines = [
        f"# Synthetic organisation: {projects} projects x {per_project} services x "
        f"{len(RELEASE_LINES)} release lines x 3 jobs (benchmarks/synth_org.py).",
        f"organisation: synth-{projects}",
        "jobs-repo:",
        "  url: https://git.example.com/platform/jenkins-jobs.git",
        "  branch: main",
        "root-folder: delivery",
        "updater:",
        "  label: jjb-updater",
        "  credential-id: jjb-updater-config",
        "  poll: H/5 * * * *",
        "release-lines:",
    ]
    for name, branch in RELEASE_LINES:
        lines += [f"  - name: {name}", f"    branch: {branch}"]
    lines.append("projects:")
    for i in range(projects):
        name = project_name(i)
        lines += [
            f"  - name: {name}",
            f"    description: Synthetic team {i}.",
            "    repo:",
            f"      url: https://git.example.com/{name}/{name}.git",
            "      branch: main",
            f"      local-checkout: teams/{name}",
            "    jobs-path: jenkins",
        ]
        if uses_prefix(i):
            lines += ["    namespace:", f"      prefix: {name}-"]
        lines.append(f"    services: [{', '.join(services(i, per_project))}]")
        # The job policy's grants: every credential ID the recipes below may bind.
        kinds = ("git-read", "registry-push", "deploy-ssh", "apt-upload", "pypi-upload", "rollout-config")
        lines.append(f"    allow: {{credentials: [{', '.join(f'{name}-{kind}' for kind in kinds)}]}}")
    first = services(0, per_project)
    minimal = first[:3] + services(1, per_project)[:3]
    lines += [
        "environments:",
        "  provider:",
        "    name: local",
        "    settings:",
        "      root: /var/lib/envdelivery",
        "  provisioning-tool:",
        f"    service: {first[0]}",
        "    artifact: dist/envtool-*.tar.gz",
        "    command: envtool provision --config {config} --artifacts {artifacts} --target {target}",
        "  variants:",
        "    - name: minimal",
        "      description: Just enough to log in and start a VM.",
        f"      services: [{', '.join(minimal)}]",
        "      retain: 5",
        "      validate:",
        "        - envtool check --smoke",
        "    - name: full",
        "      description: Every service, one instance each.",
        "      services: all",
        "      retain: 3",
        "      validate:",
        "        - envtool check --smoke",
        "        - envtool check --integration",
        "    - name: almost-production",
        "      description: Every service at production scale and topology, rebuilt weekly.",
        "      services: all",
        "      schedule: H H(0-5) * * 6",
        "      retain: 2",
        "      validate:",
        "        - envtool check --smoke",
        "        - envtool check --integration --ha",
    ]
    return "\n".join(lines) + "\n"


def team_files(index: int, per_project: int = SERVICES_PER_PROJECT) -> dict[str, str]:
    """The team's job YAML: its services split over one or two projects (and files)."""
    name = project_name(index)
    names = services(index, per_project)
    split = max(1, len(names) * 2 // 5)
    groups = [names] if index % 2 == 0 or len(names) < 2 else [names[:split], names[split:]]
    files = {}
    for g, group in enumerate(groups):
        recipe = RECIPES[(index + g) % len(RECIPES)].format(project=name)
        files[f"services-{g}.yaml"] = (
            f"# Team {name}, group {g}: generated by benchmarks/synth_org.py.\n"
            "- project:\n"
            f"    name: {name}-services-{g}\n"
            f"    service: [{', '.join(group)}]\n"
            f"{recipe}"
            "    jobs: [envdelivery-service]\n"
        )
    return files


def write_org(target: Path, jobs: int, per_project: int = SERVICES_PER_PROJECT) -> Path:
    """Write an organisation of about `jobs` jobs to `target` (replaced); returns target.

    `per_project` services per project (10; fewer only for smoke tests of the benchmarks).
    """
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    projects = project_count(jobs, per_project)
    (target / "teams").mkdir(parents=True)
    (target / "delivery.yaml").write_text(org_yaml(projects, per_project), encoding="utf-8")
    for i in range(projects):
        jobs_dir = target / "teams" / project_name(i) / "jenkins"
        jobs_dir.mkdir(parents=True)
        for filename, text in team_files(i, per_project).items():
            (jobs_dir / filename).write_text(text, encoding="utf-8")
    return target


def touch_team(org: Path, index: int = 0, generation: int = 1) -> str:
    """A one-team change: edit one service's build command; returns the project's name."""
    name = project_name(index)
    path = Path(org) / "teams" / name / "jenkins" / "services-0.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("    validate: "):
            command = line[len("    validate: "):].rstrip("\n").split(" && echo gen")[0]
            lines[i] = f"    validate: {command} && echo gen{generation}\n"
            break
    path.write_text("".join(lines), encoding="utf-8")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jobs", type=int, help="about this many jobs (e.g. 400, 4000, 20000)")
    parser.add_argument("target", type=Path, help="directory to write (replaced)")
    parser.add_argument("--services", type=int, default=SERVICES_PER_PROJECT, help="services per project")
    args = parser.parse_args(argv)
    write_org(args.target, args.jobs, args.services)
    print(f"{args.target}: {project_count(args.jobs, args.services)} projects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
