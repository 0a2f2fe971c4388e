"""An environment configuration nothing can be checked in (not UTF-8, too large, nested too
deeply, or growing huge or recursive through its aliases) is refused in one line naming the
file and the byte or line, never with a traceback: in ``load_config`` and through the CLI."""

from __future__ import annotations

import pytest

from jjb_envdelivery.environments import envconfig
from jjb_envdelivery.errors import ConfigError, EnvDeliveryError
from jjb_envdelivery.model.loader import load_organisation

# Latin-1 "é": a UTF-8 lead byte followed by a byte that cannot continue it.
LATIN1 = b"cur\xe9nt"


def _laughs(levels: int = 12) -> str:
    """A billion-laughs document: each anchor lists the previous one ten times."""
    lines = ["release: &l0 [xxxxxxxxxx]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _alias_chain(links: int = 2000) -> str:
    """Each anchor nests the previous one: shallow as written, 2000 levels deep as read."""
    return "chain:\n  - &a0 [x]\n" + "".join(f"  - &a{i} [*a{i - 1}]\n" for i in range(1, links))


HOSTILE = {
    "not UTF-8": (b"release: " + LATIN1 + b"\nhosts: []\n",
                  "{path}: byte 12: not UTF-8 (invalid continuation byte); an environment configuration "
                  "must be UTF-8 text"),
    "too large": (b"# " + b"x" * ((1 << 20) + 1) + b"\nrelease: current\n",
                  "{path}: an environment configuration of 1048597 bytes, more than the limit of 1048576"),
    "aliases expand hugely": (_laughs().encode(),
                              "{path}:6: with its aliases expanded this grows beyond the limit of 1048576"),
    "nested deeply": (("release: " + "[" * 500 + "]" * 500 + "\n").encode(),
                      "{path}:1: nesting deeper than the limit of 64 levels"),
    "nested deeply through aliases": (_alias_chain().encode(), "{path}:"),
    "an alias inside itself": (b"release: &a [*a]\n",
                               "{path}:1: an alias refers to a node that contains it; recursive structures are "
                               "not allowed"),
}


@pytest.fixture(scope="module")
def org(example_org_dir):
    return load_organisation(example_org_dir)


@pytest.mark.parametrize("case", HOSTILE)
def test_refused_in_one_line(tmp_path, org, case):
    data, expected = HOSTILE[case]
    path = tmp_path / "env.yaml"
    path.write_bytes(data)
    with pytest.raises(EnvDeliveryError) as caught:
        envconfig.load_config(path, org)
    message = str(caught.value)
    # A whole-file refusal, not a list of problems in it.
    assert not isinstance(caught.value, ConfigError)
    assert "\n" not in message and message.startswith(expected.format(path=path)), message


def test_nesting_through_aliases_names_the_nesting_limit(tmp_path, org):
    path = tmp_path / "env.yaml"
    path.write_text(_alias_chain())
    with pytest.raises(EnvDeliveryError, match=r"env\.yaml:\d+: nesting deeper than the limit of 64 levels$"):
        envconfig.load_config(path, org)


@pytest.mark.parametrize("case", ["not UTF-8", "aliases expand hugely", "an alias inside itself"])
def test_through_the_cli(workspace, cli, capsys, tmp_path, case):
    data, expected = HOSTILE[case]
    config = tmp_path / "env.yaml"
    config.write_bytes(data)
    capsys.readouterr()
    assert cli("env", "provision", "--config", config) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"jjb-envdelivery: error: {expected.format(path=config)}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
