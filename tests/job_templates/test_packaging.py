"""The package formats of job-templates/envdelivery-package-formats.yaml, built for real.

Each test renders a package (or deliver) job from a fixture, then runs its builders in a scratch
workspace the way Jenkins runs a freestyle build: in order, stopping at the first that fails
(core@ff9430ee:J/hudson/model/Build.java:197-203), each hudson.tasks.Shell as
`/bin/sh -xe <script>` in the workspace (core@ff9430ee:J/hudson/tasks/Shell.java:99-109). The
copyartifact step is stood in for by copying a prepared tree of CI (or package) artifacts into its
`target`, as the plugin leaves them (copyartifact@93781725:S/hudson/plugins/copyartifact/
CopyArtifact.java:523-525: target is relative to the workspace). What the step builds is then read
with the real tools: dpkg-deb for the .deb, dpkg itself to install, upgrade and purge it in a
scratch root, and zipfile and pip for wheels.

The maintainer scripts follow debhelper's systemd autoscripts (Debian/debhelper@5d1bb298:
autoscripts/postinst-systemd-enable:1-15, postinst-systemd-restart:1-11,
prerm-systemd-restart:1-3, postrm-systemd:1-12, postrm-systemd-reload-only:1-3; the
#DEBHELPER# merge: lib/Debian/Debhelper/Dh_Lib.pm:2188-2240).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config

FIXTURES = Path(__file__).with_name("fixtures")
COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
@pytest.fixture
def dpkg_deb(require_commands):
    require_commands("dpkg-deb")


@pytest.fixture
def dpkg(require_commands):
    require_commands("dpkg")


needs_dpkg_deb = pytest.mark.usefixtures("dpkg_deb")


def render(path: Path) -> dict[str, ET.Element]:
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), path])
    return {job.name: ET.fromstring(job.output()) for job in scope.jobs}


def package_job(tmp_path: Path, **params) -> ET.Element:
    """The package job of one project with these parameters, in deb-daemon.yaml's context."""
    context = yaml.safe_load((FIXTURES / "deb-daemon.yaml").read_text())[0]
    project = {"name": "widgetd-package", "service": "widgetd", "package": "deb",
               "jobs": ["envdelivery-package"], **params}
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump([context, {"project": project}]))
    return render(path)[f"widgets/{project['service']}-current-package"]


# --- running a job's builders -----------------------------------------------------------------


@dataclass
class Build:
    workspace: Path
    returncode: int
    log: str

    def fails_with(self, message: str) -> bool:
        return self.returncode != 0 and message in self.log


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        if content[:2] in ("#!", b"#!"):
            path.chmod(0o755)
    return root


def run_builders(job: ET.Element, workspace: Path, artifacts: Path, *, path_dirs=(),
                 build_number: int = 3, env: dict | None = None) -> Build:
    workspace.mkdir(parents=True, exist_ok=True)
    environment = {  # the agent's environment, as Jenkins passes it, plus the build's variables
        **os.environ,
        "PATH": os.pathsep.join([*map(str, path_dirs), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(workspace.parent),
        "WORKSPACE": str(workspace),
        "BUILD_NUMBER": str(build_number),
        **(env or {}),
    }
    log = []
    for index, builder in enumerate(job.find("builders")):
        if builder.tag == "hudson.tasks.Shell":
            script = workspace.parent / f"step{index}.sh"
            script.write_text(builder.findtext("command"))
            done = subprocess.run(["/bin/sh", "-xe", str(script)], cwd=workspace, env=environment,
                                  capture_output=True, text=True, timeout=120)
            log.append(done.stdout + done.stderr)
            if done.returncode != 0:
                return Build(workspace, done.returncode, "".join(log))
        elif builder.tag.endswith("copyartifact.CopyArtifact"):
            target = workspace / (builder.findtext("target") or "")
            shutil.copytree(artifacts, target, dirs_exist_ok=True, symlinks=True)
        else:
            raise AssertionError(f"this test does not run {builder.tag}")
    return Build(workspace, 0, "".join(log))


def ci_artifacts(root: Path, files: dict[str, str | bytes], ci_build: int = 57) -> Path:
    record = (f"ENVDELIVERY_CI_BUILD={ci_build}\nENVDELIVERY_GIT_COMMIT={COMMIT}\n"
              "ENVDELIVERY_RELEASE=current\nENVDELIVERY_BRANCH=release/2026.11\n")
    return write_tree(root, {"envdelivery-ci.properties": record, **files})


def only(paths) -> Path:
    paths = list(paths)
    assert len(paths) == 1, paths
    return paths[0]


# --- deb: the install layout ------------------------------------------------------------------

WIDGETD = "#!/bin/sh\nexec sleep infinity\n"
STAGE = {"stage/usr/bin/widgetd": WIDGETD, "stage/usr/share/doc/widgetd/README": "widgetd\n"}


def deb_contents(deb: Path) -> dict[str, tarfile.TarInfo]:
    """The data members of a .deb as dpkg-deb --fsys-tarfile gives them, by path."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {os.path.normpath(member.name): member for member in tar.getmembers()}


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "--field", str(deb), name], check=True,
                          capture_output=True, text=True).stdout.rstrip("\n")


@needs_dpkg_deb
def test_deb_install_dir_slash_puts_a_staged_tree_under_slash_stage(tmp_path):
    # Today's layout, kept as deb-install-dir: the whole artifact tree under one directory. With
    # `/` and a CI that archives stage/**, everything lands in /stage/usr/... (defect 9).
    job = package_job(tmp_path, **{"deb-install-dir": "/"})
    build = run_builders(job, tmp_path / "ws", ci_artifacts(tmp_path / "ci", STAGE))
    assert build.returncode == 0, build.log
    files = deb_contents(only((build.workspace / "package").glob("*.deb")))
    assert "stage/usr/bin/widgetd" in files
    assert "usr/bin/widgetd" not in files


@needs_dpkg_deb
def test_deb_root_makes_a_directory_of_the_artifacts_the_package_root(tmp_path):
    job = package_job(tmp_path, **{"deb-root": "stage"})
    build = run_builders(job, tmp_path / "ws", ci_artifacts(tmp_path / "ci", STAGE))
    assert build.returncode == 0, build.log
    deb = only((build.workspace / "package").glob("*.deb"))
    assert deb.name == "widgetd_57-g1a2b3c4_all.deb"
    files = deb_contents(deb)
    assert sorted(name for name, info in files.items() if info.isfile()) == [
        "usr/bin/widgetd", "usr/share/doc/widgetd/README",
    ]
    widgetd = files["usr/bin/widgetd"]
    assert (widgetd.uname, widgetd.gname, widgetd.mode) == ("root", "root", 0o755)
    assert files["."].mode == 0o755  # the package root: dpkg-deb -x applies it to the target
    # Unpacked as dpkg unpacks it: the tree is rooted at /.
    scratch = tmp_path / "root"
    subprocess.run(["dpkg-deb", "--extract", str(deb), str(scratch)], check=True)
    assert (scratch / "usr/bin/widgetd").read_text() == WIDGETD
    assert os.access(scratch / "usr/bin/widgetd", os.X_OK)
    assert not (scratch / "stage").exists()


@needs_dpkg_deb
def test_deb_default_layout_is_opt_service_without_the_ci_record(tmp_path):
    job = package_job(tmp_path)
    build = run_builders(job, tmp_path / "ws", ci_artifacts(tmp_path / "ci", {"bin/widgetd": WIDGETD}))
    assert build.returncode == 0, build.log
    files = deb_contents(only((build.workspace / "package").glob("*.deb")))
    assert sorted(name for name, info in files.items() if info.isfile()) == ["opt/widgetd/bin/widgetd"]


@needs_dpkg_deb
def test_deb_free_text_fields_reach_the_control_file_verbatim(tmp_path):
    maintainer = "Seán O'Brien <sob@example.com>"
    synopsis = 'Acme\'s "widget" daemon, $HOME-free & `quiet`'
    job = package_job(tmp_path, **{"deb-root": "stage", "deb-maintainer": maintainer,
                                   "deb-description": synopsis})
    build = run_builders(job, tmp_path / "ws", ci_artifacts(tmp_path / "ci", STAGE))
    assert build.returncode == 0, build.log
    deb = only((build.workspace / "package").glob("*.deb"))
    assert field(deb, "Maintainer") == maintainer
    assert field(deb, "Description").splitlines()[0] == synopsis


@needs_dpkg_deb
@pytest.mark.parametrize(("params", "files", "message"), [
    ({"deb-root": "stage", "deb-install-dir": "/srv/widgetd"}, STAGE,
     "set deb-root or deb-install-dir, not both"),
    ({"deb-root": "build/root"}, STAGE,
     "deb-root: upstream/build/root is not a directory of the CI artifacts"),
    ({"deb-install-dir": "srv/widgetd"}, STAGE,
     "deb-install-dir: expected an absolute directory, got 'srv/widgetd'"),
    ({"deb-root": "stage", "deb-conffiles": "/etc/widgetd/widgetd.conf"}, STAGE,
     "deb-conffiles: /etc/widgetd/widgetd.conf is not a file in the package"),
    ({"deb-root": "stage", "deb-conffiles": "etc/widgetd.conf"}, STAGE,
     "deb-conffiles: expected absolute paths, got 'etc/widgetd.conf'"),
    ({"deb-root": "stage", "deb-postinst": "debian/postinst"}, STAGE,
     "deb-postinst: upstream/debian/postinst is not a file of the CI artifacts"),
    ({"deb-root": "stage", "deb-prerm": "debian/prerm"}, {**STAGE, "debian/prerm": "set -e\n"},
     "deb-prerm: upstream/debian/prerm does not start with #!"),
    ({"deb-root": "stage", "deb-postinst": "debian/postinst", "deb-systemd-unit": "debian/widgetd.service"},
     {**STAGE, "debian/postinst": "#!/bin/sh\nset -e\nexit 0\n", "debian/widgetd.service": "[Unit]\n"},
     "deb-postinst: upstream/debian/postinst has no line '#DEBHELPER#'"),
    ({"deb-root": "stage", "deb-systemd-unit": "widgetd.service"}, STAGE,
     "deb-systemd-unit: upstream/widgetd.service is not a file of the CI artifacts"),
    ({"service": "Widget_D"}, STAGE, "deb-package: 'Widget_D' is not a Debian package name"),
])
def test_deb_refuses_bad_input_with_the_parameter_named(tmp_path, params, files, message):
    job = package_job(tmp_path, **params)
    build = run_builders(job, tmp_path / "ws", ci_artifacts(tmp_path / "ci", files))
    assert build.fails_with(f"envdelivery-package-deb: {message}"), build.log
    assert not list((build.workspace / "package").glob("*.deb"))


# --- deb: a daemon (fixtures/deb-daemon.yaml) ---------------------------------------------------

UNIT = """[Unit]
Description=widget daemon

[Service]
ExecStart=/usr/bin/widgetd

[Install]
WantedBy=multi-user.target
"""
# The team's scripts act inside the root dpkg installs into (DPKG_ROOT is '' on a real install).
POSTINST = """#!/bin/sh
set -e
if [ "$1" = configure ]; then
  mkdir -p "${DPKG_ROOT:-}/var/lib/widgetd"
  echo "configure ${2:-new}" >> "${DPKG_ROOT:-}/var/lib/widgetd/events"
fi
#DEBHELPER#
exit 0
"""
POSTRM = """#!/bin/sh
set -e
#DEBHELPER#
if [ "$1" = purge ]; then
  rm -rf "${DPKG_ROOT:-}/var/lib/widgetd"
fi
"""
DAEMON_ARTIFACTS = {
    **STAGE,
    "stage/etc/widgetd/widgetd.conf": "port = 8080\n",
    "stage/etc/default/widgetd": "WIDGETD_OPTS=\n",
    "debian/postinst": POSTINST,
    "debian/postrm": POSTRM,
    "debian/widgetd.service": UNIT,
}


@pytest.fixture(scope="module")
def daemon_job() -> ET.Element:
    return render(FIXTURES / "deb-daemon.yaml")["widgets/widgetd-current-package"]


def build_daemon(job: ET.Element, tmp_path: Path, ci_build: int) -> Path:
    artifacts = ci_artifacts(tmp_path / f"ci{ci_build}", DAEMON_ARTIFACTS, ci_build)
    build = run_builders(job, tmp_path / f"ws{ci_build}", artifacts)
    assert build.returncode == 0, build.log
    return only((build.workspace / "package").glob("*.deb"))


@needs_dpkg_deb
def test_daemon_package_control_follows_debian_policy(daemon_job, tmp_path):
    deb = build_daemon(daemon_job, tmp_path, 57)
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True,
                             text=True).stdout
    # Debian policy 5.3: the binary control fields, Description's synopsis on its first line
    # and the extended description indented by one space.
    assert control.splitlines() == [
        "Package: widgetd",
        "Version: 57-g1a2b3c4",
        "Architecture: all",
        "Maintainer: widgets team <widgets@example.com>",
        f"Installed-Size: {field(deb, 'Installed-Size')}",
        "Depends: adduser, libc6 (>= 2.31), init-system-helpers",
        "Section: net",
        "Priority: optional",
        "Description: widget daemon",
        f" Built by envdelivery from CI build 57, commit {COMMIT}.",
    ]
    assert int(field(deb, "Installed-Size")) > 0
    files = deb_contents(deb)
    unit = files["lib/systemd/system/widgetd.service"]
    assert (unit.uname, unit.mode) == ("root", 0o644)
    assert "debian/postinst" not in files and "envdelivery-ci.properties" not in files

    control_dir = tmp_path / "DEBIAN"
    subprocess.run(["dpkg-deb", "--control", str(deb), str(control_dir)], check=True)
    assert sorted(p.name for p in control_dir.iterdir()) == [
        "conffiles", "control", "postinst", "postrm", "prerm",
    ]  # no md5sums: dpkg computes them as it unpacks
    assert (control_dir / "conffiles").read_text() == "/etc/widgetd/widgetd.conf\n/etc/default/widgetd\n"
    for name in ("postinst", "prerm", "postrm"):
        script = control_dir / name
        assert stat.S_IMODE(script.stat().st_mode) == 0o755, name
        assert "#DEBHELPER#" not in script.read_text()
        subprocess.run(["sh", "-n", str(script)], check=True)
    # The team's steps stay where they were, the systemd steps replace the #DEBHELPER# line.
    postinst = (control_dir / "postinst").read_text()
    assert postinst.startswith(POSTINST.split("#DEBHELPER#")[0])
    assert postinst.endswith("fi\nexit 0\n")
    assert "deb-systemd-helper enable 'widgetd.service'" in postinst
    assert 'deb-systemd-invoke restart \'widgetd.service\'' in postinst
    postrm = (control_dir / "postrm").read_text()
    assert postrm.index("deb-systemd-helper purge") < postrm.index('rm -rf "${DPKG_ROOT:-}/var/lib/widgetd"')
    # No prerm of the team's: the generated one is the whole script, as debhelper writes it.
    prerm = (control_dir / "prerm").read_text()
    assert prerm.startswith("#!/bin/sh\nset -e\n")
    assert "deb-systemd-invoke stop 'widgetd.service'" in prerm


def real_helper_honours_dpkg_root() -> bool:
    helper = Path("/usr/bin/deb-systemd-helper")
    return helper.is_file() and "DPKG_ROOT" in helper.read_text(errors="replace")


def systemd_stubs(directory: Path, log: Path, root: Path) -> Path:
    """Test instruments first on PATH: systemctl and deb-systemd-invoke only record that they ran
    (the scripts must not touch this machine's systemd); deb-systemd-helper records, then runs the
    real helper when it works inside DPKG_ROOT (init-system-helpers >= 1.61), never outside it."""
    directory.mkdir()
    for name in ("systemctl", "deb-systemd-invoke"):
        (directory / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
    delegate = real_helper_honours_dpkg_root()
    (directory / "deb-systemd-helper").write_text(
        "#!/bin/sh\n"
        f'echo "deb-systemd-helper $*" >> "{log}"\n'
        + (f'case "${{DPKG_ROOT:-}}" in "{root}") exec /usr/bin/deb-systemd-helper "$@" ;; esac\n'
           if delegate else "")
        + 'case "$*" in *was-enabled*) exit 0 ;; esac\n'
    )
    for stub in directory.iterdir():
        stub.chmod(0o755)
    return directory


@needs_dpkg_deb
@pytest.mark.usefixtures("dpkg")
def test_daemon_package_installs_upgrades_and_purges_with_dpkg(daemon_job, tmp_path):
    first, second = build_daemon(daemon_job, tmp_path, 57), build_daemon(daemon_job, tmp_path, 58)
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "var/lib/dpkg/status").touch()
    log = tmp_path / "calls"
    log.touch()
    stubs = systemd_stubs(tmp_path / "stubs", log, root)
    env = {**os.environ, "PATH": f"{stubs}:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"}

    def dpkg(*args: str) -> None:
        # --root: install into the scratch root; script-chrootless: run the maintainer scripts
        # here with DPKG_ROOT set (no chroot, so no root needed); depends: adduser & co. are not
        # in the scratch root's database.
        subprocess.run(["dpkg", f"--root={root}", "--force-not-root", "--force-script-chrootless",
                        "--force-depends", "--force-confdef", "--force-confold", *args],
                       env=env, check=True, capture_output=True, text=True)

    def calls() -> list[str]:
        lines = log.read_text().splitlines()
        log.write_text("")
        return lines

    dpkg("--install", str(first))
    assert (root / "usr/bin/widgetd").read_text() == WIDGETD
    assert (root / "lib/systemd/system/widgetd.service").read_text() == UNIT
    assert (root / "var/lib/widgetd/events").read_text() == "configure new\n"
    assert calls() == [
        "deb-systemd-helper unmask widgetd.service",
        "deb-systemd-helper --quiet was-enabled widgetd.service",
        "deb-systemd-helper enable widgetd.service",
    ]
    delegated = real_helper_honours_dpkg_root()
    wants = root / "etc/systemd/system/multi-user.target.wants/widgetd.service"
    if delegated:
        assert os.readlink(wants) == "/lib/systemd/system/widgetd.service"

    # An upgrade keeps the admin's edit of a conffile and tells postinst the old version.
    (root / "etc/widgetd/widgetd.conf").write_text("port = 9090\n")
    dpkg("--install", str(second))
    assert (root / "etc/widgetd/widgetd.conf").read_text() == "port = 9090\n"
    assert (root / "var/lib/widgetd/events").read_text() == "configure new\nconfigure 57-g1a2b3c4\n"
    assert "deb-systemd-helper --quiet was-enabled widgetd.service" in calls()

    dpkg("--remove", "widgetd")
    assert not (root / "usr/bin/widgetd").exists()
    assert (root / "etc/widgetd/widgetd.conf").exists()  # conffiles stay until purge
    assert calls() == ["deb-systemd-helper mask widgetd.service"]

    dpkg("--purge", "widgetd")
    assert not (root / "etc/widgetd").exists()
    assert not (root / "var/lib/widgetd").exists()
    assert calls() == ["deb-systemd-helper purge widgetd.service",
                       "deb-systemd-helper unmask widgetd.service"]
    if delegated:
        assert not wants.exists() and not wants.is_symlink()


# --- python: wheels with a version per build ----------------------------------------------------


def metadata(name: str, version: str) -> str:
    # A body line that looks like a header: only the header's Version may change.
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nVersion: 0 in the body\n"


def wheel_bytes(name: str, version: str) -> bytes:
    """A wheel laid out as PEP 427 says, with a script in .data/ (kept executable)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n",
        f"{name}-{version}.data/scripts/{name}-tool": b"#!python\nprint('tool')\n",
        f"{dist}/METADATA": metadata(name, version).encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, (2026, 11, 1, 0, 0, 0))
            info.external_attr = (0o755 if "/scripts/" in path else 0o644) << 16
            wheel.writestr(info, data)
        wheel.writestr(f"{dist}/RECORD", "".join(f"{p},,\n" for p in files) + f"{dist}/RECORD,,\n")
    return buffer.getvalue()


def pip_wheel_stand_in(directory: Path) -> Path:
    """A test instrument first on PATH: `python3 -m pip wheel ... --wheel-dir D SDIST` copies the
    wheel named by $PREBUILT_WHEEL into D (no build); any other python3 call runs this Python."""
    directory.mkdir()
    shim = directory / "python3"
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2 $3" = "-m pip wheel" ]; then\n'
        '  while [ "$1" != --wheel-dir ]; do shift; done\n'
        '  cp "$PREBUILT_WHEEL" "$2/"\n'
        "  exit 0\n"
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    shim.chmod(0o755)
    return directory


def assert_record_matches(wheel: zipfile.ZipFile) -> None:
    record = only(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
    rows = list(csv.reader(io.StringIO(wheel.read(record).decode())))
    assert sorted(row[0] for row in rows) == sorted(wheel.namelist())
    for path, digest, size in rows:
        if path == record:
            assert (digest, size) == ("", "")
            continue
        data = wheel.read(path)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, int(size)) == (f"sha256={expected}", len(data)), path


@pytest.fixture(scope="module")
def python_jobs() -> dict[str, ET.Element]:
    return render(FIXTURES / "python-library.yaml")


def run_python_package(job, tmp_path, project_version, *, name="tinylib") -> Build:
    prebuilt = tmp_path / f"{name}-{project_version}-py3-none-any.whl"
    prebuilt.write_bytes(wheel_bytes(name, project_version))
    artifacts = ci_artifacts(tmp_path / "ci", {f"dist/{name}-{project_version}.tar.gz": b"sdist"})
    return run_builders(job, tmp_path / "ws", artifacts, path_dirs=[pip_wheel_stand_in(tmp_path / "bin")],
                        env={"PREBUILT_WHEEL": str(prebuilt)})


@pytest.mark.parametrize(("project_version", "version"), [
    ("1.4.0", "1.4.0.post57"),          # a post-release: after 1.4.0, before 1.4.1; pip installs it
    ("1.5.0rc1", "1.5.0rc1.post57"),    # still a pre-release of 1.5.0
    ("1.5.0.dev0", "1.5.0.dev57"),      # a dev release stays one
    ("2!1.0", "2!1.0.post57"),
])
def test_python_build_version_is_a_release_per_ci_build(python_jobs, tmp_path, project_version, version):
    build = run_python_package(python_jobs["libs-tinylib-current-package"], tmp_path, project_version)
    assert build.returncode == 0, build.log
    package = build.workspace / "package"
    wheel_path = only(package.glob("*.whl"))
    assert wheel_path.name == f"tinylib-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        assert f"tinylib-{version}.dist-info/METADATA" in names
        assert f"tinylib-{version}.data/scripts/tinylib-tool" in names
        old = (f"tinylib-{project_version}.dist-info/", f"tinylib-{project_version}.data/")
        assert not any(n.startswith(old) for n in names)
        assert wheel.read(f"tinylib-{version}.dist-info/METADATA").decode() == metadata("tinylib", version)
        script = wheel.getinfo(f"tinylib-{version}.data/scripts/tinylib-tool")
        assert script.external_attr >> 16 == 0o755
        assert_record_matches(wheel)
    assert "ENVDELIVERY_PYTHON_VERSION=build" in (package / "envdelivery.properties").read_text()
    # PEP 440 as pip reads it: newer than the project's version, public (PyPI refuses local
    # versions), a pre-release exactly when the project's version is one, and ordered by CI build.
    new, project = Version(version), Version(project_version)
    assert new > project and new.local is None
    assert new.is_prerelease == project.is_prerelease
    assert new < Version(version.replace("57", "58"))


@pytest.mark.parametrize("project_version", ["1.4.0.post2", "1.4.0+local"])
def test_python_build_version_refuses_a_post_or_local_project_version(python_jobs, tmp_path, project_version):
    build = run_python_package(python_jobs["libs-tinylib-current-package"], tmp_path, project_version)
    assert build.fails_with(f"the project's version {project_version} has a .post or +local segment"), build.log
    assert "set python-version: project" in build.log


def test_python_project_version_keeps_the_wheel(python_jobs, tmp_path):
    build = run_python_package(python_jobs["libs-legacy-current-package"], tmp_path, "1.4.0", name="legacy")
    assert build.returncode == 0, build.log
    package = build.workspace / "package"
    wheel_path = only(package.glob("*.whl"))
    assert wheel_path.read_bytes() == (tmp_path / "legacy-1.4.0-py3-none-any.whl").read_bytes()
    assert "ENVDELIVERY_PYTHON_VERSION=project" in (package / "envdelivery.properties").read_text()


def test_python_version_choice_is_checked(tmp_path):
    job = package_job(tmp_path, service="tinylib", package="python", **{"python-version": "git"})
    build = run_python_package(job, tmp_path, "1.4.0")
    assert build.fails_with("python-version: expected build or project, got 'git'"), build.log


def test_python_without_a_source_distribution_says_so(python_jobs, tmp_path):
    build = run_builders(python_jobs["libs-tinylib-current-package"], tmp_path / "ws",
                         ci_artifacts(tmp_path / "ci", {"dist/tinylib-1.4.0-py3-none-any.whl": b""}))
    assert build.fails_with("no source distribution upstream/dist/*.tar.gz"), build.log


@pytest.mark.slow
def test_python_wheel_built_from_a_setuptools_sdist_installs_with_its_build_version(python_jobs, tmp_path):
    # The real thing: pip builds the CI's sdist with setuptools (fetched by pip into its isolated
    # build environment), the step sets the version, pip installs the result.
    sdist = tmp_path / "tinylib-1.4.0.tar.gz"
    project = {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
                          '[project]\nname = "tinylib"\nversion = "1.4.0"\n',
        "tinylib/__init__.py": "VALUE = 1\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: tinylib\nVersion: 1.4.0\n",
    }
    with tarfile.open(sdist, "w:gz") as tar:
        for path, text in project.items():
            data = text.encode()
            info = tarfile.TarInfo(f"tinylib-1.4.0/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    artifacts = ci_artifacts(tmp_path / "ci", {"dist/tinylib-1.4.0.tar.gz": sdist.read_bytes()})
    python3 = tmp_path / "bin"
    python3.mkdir()
    (python3 / "python3").symlink_to(sys.executable)
    build = run_builders(python_jobs["libs-tinylib-current-package"], tmp_path / "ws", artifacts,
                         path_dirs=[python3])
    assert build.returncode == 0, build.log
    wheel_path = only((build.workspace / "package").glob("*.whl"))
    assert wheel_path.name == "tinylib-1.4.0.post57-py3-none-any.whl"
    with zipfile.ZipFile(wheel_path) as wheel:
        assert_record_matches(wheel)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel_path)], check=True)
    version = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('tinylib'))"],
        env={**os.environ, "PYTHONPATH": str(target)}, check=True, capture_output=True, text=True).stdout
    assert version.strip() == "1.4.0.post57"


# --- twine: --skip-existing for python-version: project -----------------------------------------


def twine_recorder(directory: Path, log: Path) -> Path:
    """A test instrument first on PATH: python3 records its arguments (twine is not run)."""
    directory.mkdir()
    (directory / "python3").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n')
    (directory / "python3").chmod(0o755)
    return directory


@pytest.mark.parametrize(("project", "mode", "skip_existing"), [
    ("tinylib", "build", False),
    ("legacy", "project", True),
])
def test_twine_skips_existing_versions_only_for_project_versions(python_jobs, tmp_path, project, mode,
                                                                 skip_existing):
    job = python_jobs[f"libs-{project}-current-deliver"]
    properties = f"ENVDELIVERY_VERSION=57-g1a2b3c4\nENVDELIVERY_CI_BUILD=57\nENVDELIVERY_PYTHON_VERSION={mode}\n"
    artifacts = write_tree(tmp_path / "package-build", {
        "package/envdelivery.properties": properties,
        f"package/{project}-1.4.0.post57-py3-none-any.whl": b"wheel",
    })
    log = tmp_path / "argv"
    build = run_builders(job, tmp_path / "ws", artifacts, path_dirs=[twine_recorder(tmp_path / "bin", log)])
    assert build.returncode == 0, build.log
    expected = ["-m", "twine", "upload", "--non-interactive", "--skip-existing",
                "--repository-url", "https://pypi.example.com/libs/",
                f"package/{project}-1.4.0.post57-py3-none-any.whl"]
    if not skip_existing:
        expected.remove("--skip-existing")
    assert log.read_text().split() == expected


def test_twine_without_wheels_says_so(python_jobs, tmp_path):
    artifacts = write_tree(tmp_path / "package-build", {"package/envdelivery.properties": "ENVDELIVERY_VERSION=1\n"})
    build = run_builders(python_jobs["libs-tinylib-current-deliver"], tmp_path / "ws", artifacts)
    assert build.fails_with("the package build has no package/*.whl"), build.log
