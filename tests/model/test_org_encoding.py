"""A file `render` reads as text that is not UTF-8 (the org file, or plain JJB YAML) stops it
with one line naming the file and the offset of the first bad byte: exit status 1, no
traceback, nothing written."""

from __future__ import annotations

import pytest

from jjb_envdelivery.cli.main import main

# Latin-1 "é": a UTF-8 lead byte followed by a byte that cannot continue it.
LATIN1 = b"caf\xe9"


def _render_fails(capsys, path, out) -> str:
    capsys.readouterr()
    assert main(["render", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("jjb-envdelivery: error: ") and err.count("\n") == 1, err
    assert not out.exists()
    return err


def test_org_file_not_utf8(tmp_path, capsys):
    org_file = tmp_path / "org" / "delivery.yaml"
    org_file.parent.mkdir()
    org_file.write_bytes(b"organisation: " + LATIN1 + b"\n")
    err = _render_fails(capsys, org_file.parent, tmp_path / "out")
    assert f"{org_file}: byte 17: not UTF-8" in err and "the org file must be UTF-8 text" in err


def test_org_file_offset_is_in_the_file_not_in_a_read_chunk(tmp_path, capsys):
    # Text streams decode in chunks of some KiB and report offsets within the chunk.
    head = b"# " + b"x" * 20_000 + b"\norganisation: "
    org_file = tmp_path / "delivery.yaml"
    org_file.write_bytes(head + LATIN1 + b"\n")
    err = _render_fails(capsys, org_file, tmp_path / "out")
    assert f"byte {len(head) + 3}: not UTF-8" in err


@pytest.mark.parametrize("give", ["file", "directory"])
def test_plain_jjb_yaml_not_utf8(tmp_path, capsys, give):
    jobs = tmp_path / "jjb" / "jobs.yaml"
    jobs.parent.mkdir()
    (jobs.parent / "a-fine.yaml").write_text("- job:\n    name: fine\n")
    jobs.write_bytes(b"- job:\n    name: " + LATIN1 + b"\n")
    err = _render_fails(capsys, jobs if give == "file" else jobs.parent, tmp_path / "out")
    assert f"{jobs}: byte 20: not UTF-8" in err and "JJB YAML must be UTF-8 text" in err


def test_plain_jjb_include_not_utf8(tmp_path, capsys):
    jjb = tmp_path / "jjb"
    jjb.mkdir()
    (jjb / "jobs.yaml").write_text("- job:\n    name: a\n    builders:\n      - shell: !include-raw-expand: run.sh\n")
    (jjb / "run.sh").write_bytes(b"echo " + LATIN1 + b"\n")
    err = _render_fails(capsys, jjb / "jobs.yaml", tmp_path / "out")
    assert "a file the JJB YAML includes is not UTF-8" in err
