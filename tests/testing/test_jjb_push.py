"""Plain Jenkins Job Builder 6.5 pushes to the emulator like to Jenkins (reference §1.3)."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jenkins_jobs.cli.entry import JenkinsJobs

from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

# JJB 6.5's own worker threads use the deprecated setDaemon()
pytestmark = pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")

YAML = """\
- job:
    name: f
    project-type: folder
    description: the folder
- job:
    name: f/one
    description: first job
    builders:
      - shell: echo "one" && echo 'quoted'
- job:
    name: f/two
    disabled: true
    builders:
      - shell: echo two
"""


def canonical(xml: str | bytes) -> str:
    data = xml.encode() if isinstance(xml, str) else xml
    return ET.canonicalize(data, strip_text=True)


@pytest.fixture
def jjb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, h):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(YAML)

    def ini(emu: JenkinsEmulator, user: str, secret: str, query_plugins: bool = False) -> str:
        path = tmp_path / f"jjb-{user}.ini"
        path.write_text(f"[job_builder]\nignore_cache=False\n\n[jenkins]\nurl={emu.url}\n"
                        f"user={user}\npassword={secret}\n"
                        f"query_plugins_info={query_plugins}\n")
        return str(path)

    return jobs, ini


def run_jjb(*argv: str) -> None:
    JenkinsJobs(list(argv)).execute()


def test_jjb_update_stores_what_jjb_test_renders(emu, jjb_env, tmp_path, h) -> None:
    jobs, ini = jjb_env
    out = tmp_path / "out"
    run_jjb("--conf", ini(emu, h.ADMIN, h.ADMIN_TOKEN), "test", "--config-xml", str(jobs),
            "-o", str(out))
    # --config-xml: a folder and its children cannot both be plain files
    rendered = {p.parent.relative_to(out).as_posix(): p.read_bytes()
                for p in out.rglob("config.xml")}
    assert set(rendered) == {"f", "f/one", "f/two"}

    run_jjb("--conf", ini(emu, h.ADMIN, h.ADMIN_TOKEN), "update", str(jobs))
    assert emu.jobs() == ["f", "f/one", "f/two"]
    for name, xml in rendered.items():
        assert canonical(emu.job_config(name)) == canonical(xml), name
    creates = [r.path for r in emu.request_log if r.write]
    assert creates == ["/createItem", "/job/f/createItem", "/job/f/createItem"]
    assert not any("pluginManager" in r.path for r in emu.request_log)

    emu.clear_log()
    run_jjb("--conf", ini(emu, h.ADMIN, h.ADMIN_TOKEN), "update", str(jobs))
    assert [r for r in emu.request_log if r.write or r.method == "POST"] == []


def test_jjb_update_with_password_and_crumbs(emu, jjb_env, h) -> None:
    jobs, ini = jjb_env
    run_jjb("--conf", ini(emu, h.ADMIN, h.ADMIN_PW), "update", str(jobs))
    assert emu.jobs() == ["f", "f/one", "f/two"]
    seq = [(r.method, r.path, r.status) for r in emu.request_log]
    expected = [("GET", "/crumbIssuer/api/json", 200), ("GET", "/api/json", 200)]
    # f/two has <disabled> in its XML, so fix_disabled does not probe it (§1.3)
    for parent, name, probes in (("/", "f", 3), ("/job/f/", "one", 3), ("/job/f/", "two", 2)):
        probe = ("GET", f"{parent}job/{name}/api/json", 404)
        expected += [probe] * probes + [("POST", f"{parent}createItem", 200),
                                         probe[:2] + (200,)]
    assert seq == expected


def test_jjb_plugin_query_403_is_only_a_warning(emu, jjb_env, h, caplog) -> None:
    jobs, ini = jjb_env
    with caplog.at_level(logging.WARNING):
        run_jjb("--conf", ini(emu, h.DEV, h.DEV_TOKEN, query_plugins=True), "update", str(jobs))
    assert emu.jobs() == ["f", "f/one", "f/two"]
    plugin_calls = [r for r in emu.request_log if r.path == "/pluginManager/api/json"]
    assert [r.status for r in plugin_calls] == [403]


def test_jjb_wrong_password_fails(emu, jjb_env, h) -> None:
    import jenkins

    jobs, ini = jjb_env
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]: Unauthorized"):
        run_jjb("--conf", ini(emu, h.ADMIN, "wrong"), "update", str(jobs))
    assert emu.jobs() == []
