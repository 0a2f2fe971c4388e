"""A mistake in the org file stops every command before it does anything: exit status 1, the
file and line on stderr, no traceback, nothing written."""

from __future__ import annotations

import shutil

import pytest

from jjb_envdelivery.cli.main import main


@pytest.fixture
def org_dir(example_org_dir, tmp_path):
    dest = tmp_path / "org"
    shutil.copytree(example_org_dir, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _edit(org_dir, old: str, new: str) -> int:
    """Replace `old` in delivery.yaml by `new`; returns the line it is on."""
    org_file = org_dir / "delivery.yaml"
    text = org_file.read_text()
    assert text.count(old) == 1, old
    org_file.write_text(text.replace(old, new))
    return text[:text.index(old)].count("\n") + 1


def _fails(capsys, *argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("jjb-envdelivery: error: ") and "Traceback" not in captured.err
    return captured.err


def test_render_refuses_an_unknown_provider(org_dir, tmp_path, capsys):
    line = _edit(org_dir, "    name: local\n", "    name: locall\n")
    out = tmp_path / "out"
    err = _fails(capsys, "render", org_dir, "-o", out)
    assert err == (f"jjb-envdelivery: error: invalid organisation (1 problem):\n  {org_dir / 'delivery.yaml'}:{line}: "
                   "environments.provider.name: unknown provider 'locall'; installed providers: command, container, "
                   "local, skytap\n")
    assert not out.exists()


def test_render_refuses_a_misspelled_setting(org_dir, tmp_path, capsys):
    line = _edit(org_dir, "      root: /var/lib/envdelivery\n", "      roots: /var/lib/envdelivery\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept").write_text("an earlier render")
    err = _fails(capsys, "render", org_dir, "-o", out)
    assert (f"{org_dir / 'delivery.yaml'}:{line}: environments.provider.settings.roots: unknown key 'roots'; "
            "expected one of: root, clone, command-timeout") in err
    assert [p.name for p in out.iterdir()] == ["kept"]
