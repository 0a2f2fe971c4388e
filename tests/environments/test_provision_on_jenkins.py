"""`env provision --on-jenkins` runs the generated custom-environment job with ENV_CONFIG and waits."""

from __future__ import annotations

import pytest
import yaml

from jjb_envdelivery.orchestration.checked_render import render_organisation
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator


@pytest.mark.parametrize("result, status", [("SUCCESS", 0), ("FAILURE", 1)])
def test_on_jenkins(workspace, cli, capsys, tmp_path, result, status):
    rendered = {j.name: j.output() for j in render_organisation(workspace).scopes[0].rendered.jobs
                if j.name in ("delivery", "delivery/env-custom-current")}
    config = tmp_path / "mine.yaml"
    assert cli("env", "customize", "--from", "minimal", "--release", "current", "-o", config) == 0
    with JenkinsEmulator(tokens={"ci": "0123abcd"}, quiet_period=0.2, build_result=result) as emu:
        import jenkins
        server = jenkins.Jenkins(emu.url, "ci", "0123abcd")
        server.create_job("delivery", rendered["delivery"].decode() if isinstance(rendered["delivery"], bytes)
                          else rendered["delivery"])
        xml = rendered["delivery/env-custom-current"]
        server.create_job("delivery/env-custom-current", xml.decode() if isinstance(xml, bytes) else xml)
        ini = tmp_path / "jjb.ini"
        ini.write_text(f"[jenkins]\nurl={emu.url}\nuser=ci\npassword=0123abcd\n")
        capsys.readouterr()
        assert cli("env", "provision", "--config", config, "--on-jenkins", "--conf", ini,
                   "--poll-interval", "0.05", "--timeout", "30") == status
        out = capsys.readouterr().out
        assert f"delivery/env-custom-current #1 finished: {result}" in out
        queued = [r for r in emu.request_log if "buildWithParameters" in r.path]
        assert len(queued) == 1
        # The log's query is unquoted but keeps form encoding's '+' for spaces (the config has no '+').
        sent = queued[0].query.split("ENV_CONFIG=", 1)[1].replace("+", " ")
        assert yaml.safe_load(sent) == yaml.safe_load(config.read_text())
    assert "0123abcd" not in out


def test_on_jenkins_unknown_job(workspace, cli, capsys, tmp_path):
    config = tmp_path / "mine.yaml"
    assert cli("env", "customize", "--from", "minimal", "--release", "current", "-o", config) == 0
    with JenkinsEmulator(tokens={"ci": "0123abcd"}) as emu:
        ini = tmp_path / "jjb.ini"
        ini.write_text(f"[jenkins]\nurl={emu.url}\nuser=ci\npassword=0123abcd\n")
        capsys.readouterr()
        assert cli("env", "provision", "--config", config, "--on-jenkins", "--conf", ini) == 1
        err = capsys.readouterr().err
    assert "delivery/env-custom-current" in err and "0123abcd" not in err
