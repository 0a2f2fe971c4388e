"""Credentials from a local file, and credentials-binding's SecretBuildWrapper.

The credential file (YAML or JSON) stands in for Jenkins's credential stores::

    credentials:
      - id: platform-git-read            # the Jenkins credential ID the jobs reference
        type: usernamePassword           # usernamePassword | string | file | sshUserPrivateKey
        username: ci
        password: s3cret
        folder: platform                 # optional: a folder's store (FolderCredentialsProvider),
                                         # visible only to jobs inside that folder
      - {id: registry-token, type: string, secret: abc123}
      - {id: jjb-updater-config, type: file, content: "[jenkins]\\n…"}   # or path: FILE
      - {id: deploy-ssh, type: sshUserPrivateKey, username: deploy,
         private-key: "-----BEGIN …"}    # or private-key-file: FILE; optional passphrase

``username-secret: true`` masks a username too (credentials' ``isUsernameSecret``).

Lookup is ``CredentialsProvider.findCredentialById`` as a build running as SYSTEM sees it
(jenkins-plugin-semantics.md §4): the enclosing folders' stores, nearest first
(cloudbees-folder FolderCredentialsProvider.java:106-140), then the global store.

Bindings follow credentials-binding (cb:src/main/java/org/jenkinsci/plugins/credentialsbinding/):
``MultiBinding.getCredentials`` (MultiBinding.java:194-210) fails the build with "Could not find
credentials entry with ID 'x'" or "Credentials 'x' is of type '…' where '…' was expected";
secret values are masked as ``****`` in the console (masking/SecretPatterns.java:62-75,
99-110); key and secret files go to ``<workspace>@tmp/secretFiles/<random>/`` with mode 0400
and are removed when the build's environments are torn down (impl/UnbindableDir.java:49-65,
impl/FileBinding.java:52-57, impl/SSHUserPrivateKeyBinding.java:99-131).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RunnerError, StepAbort
from .xml_fields import text

_TYPES = {
    # type: (the credential class's descriptor display name, fields one of which is required)
    "usernamePassword": "Username with password",
    "string": "Secret text",
    "file": "Secret file",
    "sshUserPrivateKey": "SSH Username with private key",
}
# Interfaces a binding asks for; ``Jenkins.getDescriptor(interface)`` is null, so the plugin's
# message names the interface (MultiBinding.java:203-207).
_EXPECTED = {
    "usernamePassword": "com.cloudbees.plugins.credentials.common.StandardUsernamePasswordCredentials",
    "string": "org.jenkinsci.plugins.plaincredentials.StringCredentials",
    "file": "org.jenkinsci.plugins.plaincredentials.FileCredentials",
    "sshUserPrivateKey": "com.cloudbees.jenkins.plugins.sshcredentials.SSHUserPrivateKey",
}


@dataclass(frozen=True)
class Credential:
    id: str
    type: str
    folder: str | None
    username: str | None = None
    username_secret: bool = False
    password: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    content: bytes | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    @property
    def display_type(self) -> str:
        return _TYPES[self.type]


class CredentialStore:
    """The credentials of one file, looked up as a job running as SYSTEM sees them."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[Credential] = [] if path is None else load_credentials(path)

    def find(self, credential_id: str, job: str) -> Credential | None:
        folders = job.split("/")[:-1]
        # nearest enclosing folder first, then outwards, then the global store
        for depth in range(len(folders), -1, -1):
            folder = "/".join(folders[:depth]) or None
            for entry in self.entries:
                if entry.id == credential_id and entry.folder == folder:
                    return entry
        return None

    def require(self, credential_id: str, job: str, wanted: str) -> Credential:
        """``MultiBinding.getCredentials``: the credential or the plugin's AbortException."""
        found = self.find(credential_id, job)
        if found is None:
            raise StepAbort(f"Could not find credentials entry with ID '{credential_id}'")
        if found.type != wanted:
            raise StepAbort(f"Credentials '{credential_id}' is of type '{found.display_type}' "
                            f"where '{_EXPECTED[wanted]}' was expected")
        return found


def load_credentials(path: Path) -> list[Credential]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunnerError(f"{path}: cannot read the credential file: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        import yaml

        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise RunnerError(f"{path}{where}: not YAML or JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("credentials"), list):
        raise RunnerError(f"{path}: expected a mapping with a list 'credentials'")
    out: list[Credential] = []
    seen: set[tuple[str, str | None]] = set()
    for index, entry in enumerate(data["credentials"]):
        credential = _entry(path, index, entry)
        key = (credential.id, credential.folder)
        if key in seen:
            store = f"folder {credential.folder}" if credential.folder else "the global store"
            raise RunnerError(f"{path}: credentials[{index}]: ID {credential.id!r} is already "
                              f"defined in {store}")
        seen.add(key)
        out.append(credential)
    return out


def _entry(path: Path, index: int, entry: Any) -> Credential:
    where = f"{path}: credentials[{index}]"
    if not isinstance(entry, dict):
        raise RunnerError(f"{where}: expected a mapping with id and type")
    cid, ctype = entry.get("id"), entry.get("type")
    if not isinstance(cid, str) or not cid.strip():
        raise RunnerError(f"{where}: 'id' must be a non-empty string")
    where = f"{where} ({cid})"
    if ctype not in _TYPES:
        raise RunnerError(f"{where}: 'type' must be one of {', '.join(_TYPES)}, got {ctype!r}")
    folder = entry.get("folder")
    if folder is not None and (not isinstance(folder, str) or not folder.strip("/")):
        raise RunnerError(f"{where}: 'folder' must be a folder's full name")
    known = {"id", "type", "folder", "description", "username", "username-secret", "password",
             "secret", "content", "path", "private-key", "private-key-file", "passphrase"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise RunnerError(f"{where}: unknown keys {', '.join(unknown)} (known: "
                          f"{', '.join(sorted(known))})")

    def string(key: str, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise RunnerError(f"{where}: {key!r} is required (a string) for type {ctype}")
        return str(value)

    def one_of(inline: str, from_file: str) -> str:
        if (inline in entry) == (from_file in entry):
            raise RunnerError(f"{where}: give exactly one of {inline!r} or {from_file!r} for "
                              f"type {ctype}")
        if inline in entry:
            return string(inline) or ""
        file = Path(string(from_file) or "")
        file = file if file.is_absolute() else path.parent / file
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise RunnerError(f"{where}: {from_file}: cannot read {file}: {exc.strerror}") \
                from None

    common = {"id": cid.strip(), "type": ctype, "folder": folder.strip("/") if folder else None,
              "username_secret": entry.get("username-secret") is True}
    if ctype == "usernamePassword":
        return Credential(**common, username=string("username"), password=string("password"))
    if ctype == "string":
        return Credential(**common, secret=string("secret"))
    if ctype == "file":
        return Credential(**common, content=one_of("content", "path").encode("utf-8"))
    return Credential(**common, username=string("username"),
                      private_key=one_of("private-key", "private-key-file"),
                      passphrase=string("passphrase", required=False))


# --- bindings ---------------------------------------------------------------------------------

BINDINGS = "org.jenkinsci.plugins.credentialsbinding.impl."


@dataclass
class Bound:
    """One binding's variables: secret ones are masked, public ones are not."""

    secret: dict[str, str] = field(default_factory=dict)
    public: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    element: str  # the binding's class, e.g. …impl.StringBinding
    credentials_id: str
    variables: dict[str, str | None]  # field → variable name (None = not bound)

    @property
    def kind(self) -> str:
        return self.element.rsplit(".", 1)[-1]


def parse_secret_build_wrapper(el: ET.Element, job: str) -> list[Binding]:
    """``SecretBuildWrapper``: ``bindings`` (impl/SecretBuildWrapper.java:57; null → none,
    :133-138), each with ``credentialsId`` (MultiBinding.java:58)."""
    out: list[Binding] = []
    holder = el.find("bindings")
    for b in list(holder) if holder is not None else []:
        fields = _BINDING_FIELDS.get(b.tag)
        if fields is None:
            raise RunnerError(f"{job}: buildWrappers/{el.tag}/bindings/{b.tag}: this "
                              f"credentials binding is not implemented by the job runner "
                              f"(implemented: {', '.join(sorted(_BINDING_FIELDS))})")
        out.append(Binding(b.tag, text(b, "credentialsId") or "",
                           {f: text(b, f) for f in fields}))
    return out


_BINDING_FIELDS = {
    BINDINGS + "UsernamePasswordMultiBinding": ("usernameVariable", "passwordVariable"),
    BINDINGS + "UsernamePasswordBinding": ("variable",),
    BINDINGS + "StringBinding": ("variable",),
    BINDINGS + "FileBinding": ("variable",),
    BINDINGS + "SSHUserPrivateKeyBinding": ("keyFileVariable", "usernameVariable",
                                            "passphraseVariable"),
}


def bind(binding: Binding, store: CredentialStore, job: str, workspace: Path,
         cleanups: list[Callable[[], None]]) -> Bound:
    """``MultiBinding.bind`` of each implemented binding (the impl/*.java cited above)."""
    v = binding.variables
    kind = binding.kind
    if kind == "UsernamePasswordMultiBinding":  # UsernamePasswordMultiBinding.java:69-79
        c = store.require(binding.credentials_id, job, "usernamePassword")
        out = Bound(secret={v["passwordVariable"] or "": c.password or ""})
        (out.secret if c.username_secret else out.public)[v["usernameVariable"] or ""] = \
            c.username or ""
        return out
    if kind == "UsernamePasswordBinding":  # UsernamePasswordBinding.java:53-59
        c = store.require(binding.credentials_id, job, "usernamePassword")
        return Bound(secret={v["variable"] or "": f"{c.username}:{c.password}"})
    if kind == "StringBinding":  # StringBinding.java:53-58
        c = store.require(binding.credentials_id, job, "string")
        return Bound(secret={v["variable"] or "": c.secret or ""})
    if kind == "FileBinding":  # AbstractOnDiskBinding.java:30-40, FileBinding.java:52-57
        c = store.require(binding.credentials_id, job, "file")
        path = _secret_file(workspace, c.content or b"", cleanups)
        return Bound(secret={v["variable"] or "": str(path)})
    # SSHUserPrivateKeyBinding.java:99-131
    c = store.require(binding.credentials_id, job, "sshUserPrivateKey")
    key = (c.private_key or "").rstrip("\n") + "\n"
    out = Bound(secret={v["keyFileVariable"] or "": str(_secret_file(workspace, key.encode(),
                                                                        cleanups))})
    if v["passphraseVariable"] is not None:
        out.secret[v["passphraseVariable"]] = c.passphrase or ""
    if v["usernameVariable"] is not None:
        (out.secret if c.username_secret else out.public)[v["usernameVariable"]] = \
            c.username or ""
    return out


def _secret_file(workspace: Path, content: bytes, cleanups: list[Callable[[], None]]) -> Path:
    secrets_dir = workspace.parent / (workspace.name + "@tmp") / "secretFiles"
    directory = secrets_dir / secrets.token_hex(16)
    directory.mkdir(parents=True, mode=0o700)
    os.chmod(secrets_dir, 0o700)
    path = directory / f"file{secrets.randbelow(10**18)}.tmp"
    path.write_bytes(content)
    os.chmod(path, 0o400)
    cleanups.append(lambda: shutil.rmtree(directory, ignore_errors=True))
    return path
