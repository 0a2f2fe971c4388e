"""Running the organisation's provisioning tool (``environments.provisioning-tool.command``).

The command's placeholders are replaced by shell-quoted values: ``{config}`` a JSON file with
the environment configuration (see ``envconfig``) plus ``report-file``, ``{artifacts}`` the
directory holding the tool's artifacts (``.envdelivery/tool``), ``{target}`` the environment
(a directory for ``local``, the environment id for ``skytap``). The tool may write a JSON
object ``{service: version}`` to ``report-file``: those versions are recorded on the template.

The tool is on PATH under its service's name (``provisioning-tool.service``, e.g. ``envtool``)
for the command and for the variant's validation commands (``tool_on_path``): when its artifact
is a Python zipapp it runs with the Python running jjb-envdelivery, when it is an executable
file it runs as it is. The artifacts directory comes next on PATH, so a tool delivered as a
directory of executables is found as well. So the org file can say ``envtool provision ...`` and
``envtool check --smoke`` with no install step on the agent.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .process import run_shell
from .provider import ProviderError

PLACEHOLDERS = ("config", "artifacts", "target")


def expand(command: str, **values: str) -> str:
    try:
        return command.format(**{k: shlex.quote(str(v)) for k, v in values.items()})
    except (KeyError, IndexError, ValueError) as exc:
        raise ProviderError(f"provisioning-tool.command {command!r}: bad placeholder {exc}; "
                            f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}") from None


def run_tool(command: str, config: dict, artifacts_dir: Path, target: str, cwd: Path | None,
             env: dict, timeout: float) -> dict:
    """Run the tool; returns the service versions it reported. Raises ``ProviderError`` on failure."""
    with tempfile.TemporaryDirectory(prefix="envdelivery-tool-") as tmp:
        report = Path(tmp) / "versions.json"
        config_file = Path(tmp) / "environment.json"
        config_file.write_text(json.dumps({**config, "report-file": str(report)}, indent=2))
        line = expand(command, config=config_file, artifacts=Path(artifacts_dir).resolve(), target=target)
        print(f"+ {line}", flush=True)
        try:
            # Its own process group, killed whole on a timeout: a tool's children must not go on
            # writing into an environment that is being torn down.
            done = run_shell(line, cwd=cwd, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProviderError(f"the provisioning tool did not finish within {timeout:g}s "
                                f"(it and every process it started were killed): {line}") from None
        if done.returncode != 0:
            raise ProviderError(f"the provisioning tool failed (exit status {done.returncode}): {line}")
        if not report.exists():
            return {}
        try:
            versions = json.loads(report.read_text())
        except ValueError:
            raise ProviderError("the provisioning tool wrote a report-file that is not JSON") from None
        if not isinstance(versions, dict):
            raise ProviderError("the provisioning tool's report-file must hold a JSON object {service: version}")
        return {str(k): str(v) for k, v in versions.items()}


@contextmanager
def tool_on_path(service: str, artifacts_dir: Path, artifact: str | None) -> Iterator[None]:
    """While open, ``service`` (e.g. ``envtool``) runs the tool's `artifact` (a file name in
    `artifacts_dir`) and comes first on PATH, then `artifacts_dir`; PATH is restored on exit."""
    artifacts_dir = Path(artifacts_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="envdelivery-tool-bin-") as bin_dir:
        path = artifacts_dir / artifact if artifact else None
        if path is not None and path.is_file():
            launcher = Path(bin_dir) / service
            if zipfile.is_zipfile(path):
                # A zipapp need not keep its executable bit through archive and copy.
                launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(path))} "$@"\n')
                launcher.chmod(0o755)
            elif os.access(path, os.X_OK):
                launcher.symlink_to(path)
        before = os.environ.get("PATH")
        os.environ["PATH"] = os.pathsep.join([bin_dir, str(artifacts_dir), *([before] if before else [])])
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PATH", None)
            else:
                os.environ["PATH"] = before
