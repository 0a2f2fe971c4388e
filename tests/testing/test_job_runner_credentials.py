"""Credentials bindings (credentials-binding @ 0331934a, src/main/java/org/jenkinsci/plugins/
credentialsbinding/): MultiBinding.java:194-210 (the two failure messages), impl/*Binding.java
(the variables each binding sets), masking/SecretPatterns.java:62-110 (``****``),
impl/UnbindableDir.java:49-65 (secret files beside the workspace, removed after the build);
folder credentials are visible to the folder's jobs only (cloudbees-folder
FolderCredentialsProvider.java:106-140).
"""

from __future__ import annotations

import pytest
import requests

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError

CB = "org.jenkinsci.plugins.credentialsbinding.impl."


def _wrapper(*bindings: str) -> str:
    return (f"<hudson.plugins.timestamper.TimestamperBuildWrapper/><{CB}SecretBuildWrapper>"
            f"<bindings>{''.join(bindings)}</bindings></{CB}SecretBuildWrapper>")


def _binding(kind: str, credentials_id: str, **variables: str) -> str:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in variables.items())
    return f"<{CB}{kind}>{body}<credentialsId>{credentials_id}</credentialsId></{CB}{kind}>"


CREDENTIALS = """\
credentials:
  - {id: registry, type: usernamePassword, username: pusher, password: "p4ss word"}
  - {id: token, type: string, secret: t0k3n-value}
  - {id: conf, type: file, content: "[jenkins]\\nurl=x\\n"}
  - id: deploy-ssh
    type: sshUserPrivateKey
    username: deploy
    private-key: "-----BEGIN KEY-----\\nabc\\n-----END KEY-----"
  - {id: team-only, type: string, secret: folder-secret, folder: team}
"""


@pytest.fixture
def creds(tmp_path):
    path = tmp_path / "credentials.yaml"
    path.write_text(CREDENTIALS)
    return path


def test_bound_values_reach_the_build_and_are_masked_in_the_console(jr, bare_emu, tmp_path,
                                                                    creds) -> None:
    jr.put_job(bare_emu, "deliver", jr.freestyle(
        wrappers=_wrapper(
            _binding("UsernamePasswordMultiBinding", "registry", usernameVariable="U",
                     passwordVariable="P"),
            _binding("StringBinding", "token", variable="TOKEN"),
            _binding("UsernamePasswordBinding", "registry", variable="BOTH")),
        builders=jr.shell('echo "user=$U pass=$P token=$TOKEN both=$BOTH"\n'
                          'test "$P" = "p4ss word" && test "$TOKEN" = t0k3n-value\n'
                          'test "$BOTH" = "pusher:p4ss word"\n')))
    runner = JobRunner(bare_emu, tmp_path / "home", credentials=creds)
    runner.schedule("deliver")
    build = runner.run_next()
    assert build.result == "SUCCESS", build.console
    assert "user=pusher pass=**** token=**** both=****" in build.console
    # sh -x quotes a value with a space: the quoted form is masked too
    assert "p4ss" not in build.console and "t0k3n" not in build.console
    served = requests.get(bare_emu.url + "job/deliver/1/consoleText").text
    assert served == build.console and "t0k3n" not in served


def test_secret_files_exist_during_the_build_only(jr, bare_emu, tmp_path, creds) -> None:
    jr.put_job(bare_emu, "updater", jr.freestyle(
        wrappers=_wrapper(_binding("FileBinding", "conf", variable="CONF"),
                          _binding("SSHUserPrivateKeyBinding", "deploy-ssh",
                                   keyFileVariable="KEY", usernameVariable="SSH_USER")),
        builders=jr.shell('cp "$CONF" conf.copy && cp "$KEY" key.copy && echo "$CONF" > where\n'
                          'stat -c %a "$CONF" "$KEY"\necho "ssh user $SSH_USER"')))
    runner = JobRunner(bare_emu, tmp_path / "home", credentials=creds)
    runner.schedule("updater")
    build = runner.run_next()
    assert build.result == "SUCCESS", build.console
    ws = build.workspace
    assert (ws / "conf.copy").read_text() == "[jenkins]\nurl=x\n"
    assert (ws / "key.copy").read_text() == "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
    secret_path = (ws / "where").read_text().strip()
    assert secret_path.startswith(str(ws) + "@tmp/secretFiles/")
    assert "400\n400" in build.console
    assert "ssh user deploy" in build.console  # a username is not secret by default
    assert not list((ws.parent / (ws.name + "@tmp") / "secretFiles").iterdir())


def test_a_missing_credential_fails_the_build_with_the_plugin_message(jr, bare_emu, tmp_path,
                                                                      creds) -> None:
    jr.put_job(bare_emu, "deliver", jr.freestyle(
        wrappers=_wrapper(_binding("StringBinding", "nope", variable="X")),
        builders=jr.shell("touch ran")))
    runner = JobRunner(bare_emu, tmp_path / "home", credentials=creds)
    runner.schedule("deliver")
    build = runner.run_next()
    assert build.result == "FAILURE"
    assert "ERROR: Could not find credentials entry with ID 'nope'" in build.console
    assert not (build.workspace / "ran").exists()


def test_a_credential_of_another_type_fails_with_the_plugin_message(jr, bare_emu, tmp_path,
                                                                    creds) -> None:
    jr.put_job(bare_emu, "deliver", jr.freestyle(wrappers=_wrapper(
        _binding("UsernamePasswordMultiBinding", "token", usernameVariable="U",
                 passwordVariable="P"))))
    runner = JobRunner(bare_emu, tmp_path / "home", credentials=creds)
    runner.schedule("deliver")
    build = runner.run_next()
    assert build.result == "FAILURE"
    assert ("ERROR: Credentials 'token' is of type 'Secret text' where "
            "'com.cloudbees.plugins.credentials.common.StandardUsernamePasswordCredentials' "
            "was expected") in build.console


def test_folder_credentials_are_visible_inside_the_folder_only(jr, bare_emu, tmp_path,
                                                               creds) -> None:
    config = jr.freestyle(wrappers=_wrapper(_binding("StringBinding", "team-only", variable="S")),
                          builders=jr.shell('test "$S" = folder-secret'))
    jr.put_job(bare_emu, "team/inside", config)
    jr.put_job(bare_emu, "outside", config)
    runner = JobRunner(bare_emu, tmp_path / "home", credentials=creds)
    runner.schedule("team/inside")
    runner.schedule("outside")
    inside, outside = runner.run_queue()
    assert inside.result == "SUCCESS"
    assert outside.result == "FAILURE"
    assert "Could not find credentials entry with ID 'team-only'" in outside.console


@pytest.mark.parametrize("content, message", [
    ("credentials: {}", "expected a mapping with a list 'credentials'"),
    ("credentials:\n- {id: a, type: password, password: hunter2}", "'type' must be one of"),
    ("credentials:\n- {id: a, type: string}", "'secret' is required"),
    ("credentials:\n- {id: a, type: string, secret: x, pasword: hunter2}", "unknown keys pasword"),
    ("credentials:\n- {id: a, type: file, content: x, path: y}", "exactly one of 'content'"),
    ("credentials:\n- {id: a, type: string, secret: x}\n- {id: a, type: string, secret: y}",
     "ID 'a' is already defined in the global store"),
])
def test_a_bad_credential_file_is_refused_without_showing_secrets(tmp_path, bare_emu, content,
                                                                  message) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(RunnerError, match=message) as info:
        JobRunner(bare_emu, tmp_path / "home", credentials=path)
    assert "hunter2" not in str(info.value) and str(path) in str(info.value)
