"""The container engine's command line (Podman, or Docker with the same verbs), with a timeout
on every call and errors that say which step failed and why.

The few verbs whose options differ are methods here: ``podman commit -q`` and ``podman rm -t``
have no Docker equivalent (docs.docker.com/reference/cli/docker/container/commit/ and .../rm/:
Docker's ``rm -f`` kills at once), and only Podman writes a pushed digest to a file
(``podman push --digestfile``); Docker's is read back from the image's ``RepoDigests``. The
Docker paths are written from Docker's reference; these machines have no Docker engine to run
them on.

The engine is driven through its CLI rather than an API socket: ``podman`` needs no daemon, the
same verbs work with ``docker``, and whatever the engine's configuration is on this host (a
``CONTAINERS_CONF``, a remote ``DOCKER_HOST``, registry logins) applies unchanged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..process import run_interruptible
from ..provider import ProviderError

ENGINES = ("podman", "docker")
# How much of the engine's stderr an error quotes (the end says why).
STDERR_TAIL = 600
# What Podman says when an object vanished while it was reading it; bounded retries of reads.
VANISHED = ("not known", "no such", "does not exist")
READ_ATTEMPTS = 4


class EngineError(ProviderError):
    """An engine command failed or timed out."""


def find_engine(choice: str) -> str:
    """The engine command for ``engine: auto|podman|docker``; auto prefers Podman (no daemon)."""
    candidates = ENGINES if choice == "auto" else (choice,)
    for name in candidates:
        if shutil.which(name):
            return name
    wanted = "podman or docker" if choice == "auto" else choice
    raise EngineError(f"container provider: no {wanted} on PATH (engine: {choice}); install one "
                      "(Debian: apt-get install podman runc)")


class Engine:
    """One engine command; every call is bounded by ``timeout`` seconds."""

    def __init__(self, command: str, timeout: float = 600.0):
        self.command = command
        self.timeout = timeout

    def run(self, args: Sequence[str], what: str, *, stdin=None, data: bytes | None = None, stdout=None,
            timeout: float | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``<engine> args``; ``what`` names the step for the error ("starting db of env-1").
        ``stdin`` (a file) or ``data`` (bytes) is its input, ``stdout`` (a file) takes its output;
        with any of them, the output is bytes. Arguments are never quoted back in errors:
        environment values may be in them."""
        limit = timeout or self.timeout
        binary = stdin is not None or data is not None or stdout is not None
        try:
            # Not subprocess.run: SIGTERM while it waits could hang the build (process.communicate).
            done = run_interruptible([self.command, *args], timeout=limit, data=data, text=not binary, stdin=stdin,
                                     stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired:
            raise EngineError(f"{self.command} {args[0]} did not finish within {limit:g}s while {what}") from None
        except OSError as exc:
            raise EngineError(f"cannot run {self.command} while {what}: {exc.strerror}") from None
        if check and done.returncode != 0:
            raise EngineError(f"{self.command} {args[0]} failed while {what} (exit status {done.returncode}): "
                              f"{_text(done.stderr)[-STDERR_TAIL:].strip() or 'no message'}")
        return done

    def out(self, args: Sequence[str], what: str, **options) -> str:
        return _text(self.run(args, what, **options).stdout).strip()

    def read(self, args: Sequence[str], what: str) -> str:
        """The output of a read-only command (a listing, an inspect), tried again when an object it
        came across was removed meanwhile by another process on the host: Podman then fails the
        whole listing with "image not known" (a shared agent runs several builds at once)."""
        for attempt in range(READ_ATTEMPTS):
            done = self.run(args, what, check=False)
            if done.returncode == 0:
                return _text(done.stdout).strip()
            if attempt + 1 < READ_ATTEMPTS and any(race in _text(done.stderr) for race in VANISHED):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise EngineError(f"{self.command} {args[0]} failed while {what} (exit status {done.returncode}): "
                              f"{_text(done.stderr)[-STDERR_TAIL:].strip() or 'no message'}")
        raise AssertionError("unreachable")

    def json(self, args: Sequence[str], what: str) -> list | dict:
        text = self.read(args, what)
        if not text:
            return []
        try:
            return json.loads(text)
        except ValueError:
            raise EngineError(f"{self.command} {args[0]} gave output that is not JSON while {what}") from None

    @property
    def podman(self) -> bool:
        return self.command == "podman"

    def commit(self, container: str, image: str, changes: Sequence[str], what: str) -> None:
        self.run(["commit", *(["-q"] if self.podman else []), *changes, container, image], what)

    def remove(self, containers: Sequence[str], what: str, check: bool = True) -> None:
        """Remove containers at once (no graceful stop: they are thrown away)."""
        self.run(["rm", "-f", *(["-t", "0"] if self.podman else []), *containers], what, check=check)

    def push(self, image: str, target: str, tls: Sequence[str], what: str) -> str:
        """Push ``image`` as ``target``; returns the registry's manifest digest ("" if unknown)."""
        self.run(["tag", image, target], what)
        try:
            if self.podman:
                with tempfile.TemporaryDirectory(prefix="envdelivery-push-") as tmp:
                    digest_file = Path(tmp) / "digest"
                    self.run(["push", "-q", *tls, "--digestfile", str(digest_file), target], what)
                    return digest_file.read_text().strip() if digest_file.exists() else ""
            self.run(["push", "-q", target], what)
            found = self.out(["image", "inspect", "--format", "{{json .RepoDigests}}", target], what)
            repository = target.rpartition(":")[0]
            return next((d.partition("@")[2] for d in json.loads(found or "[]") if d.startswith(repository + "@")), "")
        finally:
            self.run(["rmi", target], f"untagging {target}", check=False)

    def inspect_listed(self, kind: str, listing: Sequence[str], what: str) -> list[dict]:
        """``<kind> inspect`` of what ``listing`` (``ps -a -q ...``) finds; listed again when one
        of them was removed between the two commands."""
        for attempt in range(READ_ATTEMPTS):
            ids = self.ids(listing, what)
            if not ids:
                return []
            done = self.run([kind, "inspect", *ids], what, check=False)
            if done.returncode == 0:
                found = json.loads(_text(done.stdout) or "[]")
                return found if isinstance(found, list) else []
            if attempt + 1 == READ_ATTEMPTS or not any(race in _text(done.stderr) for race in VANISHED):
                raise EngineError(f"{self.command} {kind} inspect failed while {what}: "
                                  f"{_text(done.stderr)[-STDERR_TAIL:].strip() or 'no message'}")
            time.sleep(0.2 * (attempt + 1))
        return []

    def labelled_inspect(self, kind: str, labels: dict[str, str], what: str) -> list[dict]:
        """The inspect output of the containers, images, networks or volumes that carry every label
        in ``labels``. Repeated ``--filter label=...`` options are ANDed by Docker and by Podman's
        ``ps`` and ``network ls``, but ORed by Podman 4.3's ``images`` and ``volume ls`` (Debian
        12's podman; seen here: a template's gc removed every template's images, and the containers
        running from them). So: list by the first label alone, then keep what inspect shows
        carrying them all (for every kind alike)."""
        (key, value), *rest = labels.items()
        listing = {"container": ["ps", "-a", "-q"], "image": ["images", "-q"], "network": ["network", "ls", "-q"],
                   "volume": ["volume", "ls", "-q"]}[kind]
        found = self.inspect_listed(kind, [*listing, "--filter", f"label={key}={value}"], what)
        keep = []
        for item in found:
            config = item.get("Config") if isinstance(item.get("Config"), dict) else {}
            carried = item.get("Labels") or item.get("labels") or config.get("Labels") or {}
            if all(carried.get(k) == v for k, v in [(key, value), *rest]):
                keep.append(item)
        return keep

    def labelled(self, kind: str, labels: dict[str, str], what: str) -> list[str]:
        """The ids (names, for volumes) of what ``labelled_inspect`` finds."""
        keep = []
        for item in self.labelled_inspect(kind, labels, what):
            name = item.get("Name") if kind == "volume" else item.get("Id") or item.get("id") or item.get("ID")
            if name:
                keep.append(str(name))
        return list(dict.fromkeys(keep))

    def ids(self, args: Sequence[str], what: str) -> list[str]:
        """One id or name per output line (``ps -q``, ``images -q``, ``network ls -q``)."""
        return list(dict.fromkeys(line for line in self.read(args, what).splitlines() if line.strip()))


def _text(data) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")
