"""The ``command`` provider: the organisation's own provisioning tool (the paper's Jenga) does
the work, one configured command per operation, exchanging JSON.

Settings::

    environments:
      provider:
        name: command
        settings:
          timeout: 1800                            # seconds per command (default 3600)
          provision: jenga provision               # required, like every command below
          run: jenga run
          save: jenga save
          deploy: jenga deploy
          destroy: jenga destroy
          list-templates: jenga templates
          update-template: jenga update-template
          delete-template: jenga delete-template
          list-environments: jenga environments    # optional (gc then sees no environment in use)

The provider reads no credential itself (``credential-id`` is refused): the commands are the
organisation's, and find theirs as the agent provides them.

Each command runs through the shell, gets one JSON request on stdin and must exit 0 printing one
JSON value on stdout (stderr goes to the log). Requests and answers:

* provision ``{"config": {...}, "variant", "release", "purpose", "artifacts": DIR, "tool-command": CMD}``
  -> ``{"id": ENV, "access"?: {...}, "versions"?: {service: version}}``
* run ``{"environment": ENV, "command": CMD}`` -> ``{"exit-status": N}``
* save ``{"environment": ENV, "template": {variant, release, version, status, artifacts, build, ...}}``
  -> ``{"id": TEMPLATE}``; it must register the template atomically (all or nothing)
* deploy ``{"template": TEMPLATE, "purpose": P}`` -> ``{"id": ENV, "access"?: {...}}``
* destroy ``{"environment": ENV}``; delete-template ``{"template": TEMPLATE}`` -> anything
* list-templates ``{}`` -> ``[{"id": TEMPLATE, variant, release, version, status, pinned, ...}]``
* update-template ``{"template": TEMPLATE, "status"?: S, "pinned"?: B}`` -> anything
* list-environments ``{}`` -> ``[{"id", "variant", "release", "purpose", "template", "state", "created_at", "access"}]``

An answer ``{"error": MESSAGE, "not-found": true}`` (any exit status) means the object does not exist.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from ..model.settings import Setting
from . import catalog
from .catalog import Template, TemplateMeta, now
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError

REQUIRED = ("provision", "run", "save", "deploy", "destroy", "list-templates", "update-template",
            "delete-template")


class CommandProvider(Provider):
    name = "command"
    SETTINGS = (
        *(Setting(operation, str, required=True, help=f"the shell command that does {operation}")
          for operation in REQUIRED),
        Setting("list-environments", str, help="the shell command listing environments (else gc sees none in use)"),
        Setting("timeout", float, default=3600.0, help="seconds per command"),
    )
    CREDENTIAL = None  # it reads none; the organisation's commands find their own

    def __init__(self, settings: dict, org_dir: Path):
        super().__init__(settings, org_dir)
        self.timeout = float(self.settings["timeout"])

    def call(self, operation: str, request: dict):
        command = str(self.settings[operation])
        try:
            process = subprocess.Popen(command, shell=True, cwd=self.org_dir, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, start_new_session=True)
        except OSError as exc:
            raise ProviderError(f"command provider: cannot run {operation} ({command!r}): {exc}") from None
        try:
            out, _ = process.communicate(json.dumps(request), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ProviderError(f"command provider: {operation} ({command!r}) did not finish within "
                                f"{self.timeout:g}s and was killed") from None
        try:
            answer = json.loads(out) if out.strip() else None
        except ValueError:
            answer = ValueError
        if isinstance(answer, dict) and answer.get("not-found"):
            raise NotFound(f"{operation}: {answer.get('error') or 'not found'}")
        if process.returncode != 0:
            detail = answer.get("error") if isinstance(answer, dict) and answer.get("error") else ""
            raise ProviderError(f"command provider: {operation} ({command!r}) failed with exit status "
                                f"{process.returncode}{': ' + detail if detail else ''}")
        if answer is ValueError:
            raise ProviderError(f"command provider: {operation} ({command!r}) printed something that is not "
                                f"JSON: {out.strip()[:200]!r}")
        return answer

    def _expect(self, operation: str, answer, kind: type):
        if not isinstance(answer, kind):
            raise ProviderError(f"command provider: {operation} answered {json.dumps(answer)[:200]}, "
                                f"expected a JSON {'object' if kind is dict else 'array'}")
        return answer

    def _environment(self, data: dict, **defaults) -> Environment:
        fields = {**defaults, **data}
        try:
            return Environment(id=str(fields["id"]), variant=str(fields.get("variant", "")),
                               release=str(fields.get("release", "")), purpose=str(fields.get("purpose", "")),
                               template_id=fields.get("template"), state=str(fields.get("state", "running")),
                               created_at=str(fields.get("created_at", "")), access=dict(fields.get("access") or {}),
                               versions=dict(fields.get("versions") or {}))
        except (KeyError, TypeError, ValueError):
            raise ProviderError(f"command provider: not an environment: {json.dumps(data)[:200]}") from None

    # -- environments -------------------------------------------------------------------------
    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        answer = self._expect("provision", self.call("provision", {
            "config": spec.config, "variant": spec.variant, "release": spec.release, "purpose": spec.purpose,
            "artifacts": str(Path(spec.artifacts_dir).resolve()), "tool-command": spec.tool_command}), dict)
        return self._environment(answer, variant=spec.variant, release=spec.release, purpose=spec.purpose,
                                 created_at=now())

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        print(f"+ {command}", flush=True)
        answer = self._expect("run", self.call("run", {"environment": env.id, "command": command}), dict)
        try:
            return int(answer["exit-status"])
        except (KeyError, TypeError, ValueError):
            raise ProviderError("command provider: run must answer {\"exit-status\": N}") from None

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        answer = self._expect("deploy", self.call("deploy", {"template": template.id, "purpose": purpose}), dict)
        return self._environment(answer, variant=template.variant, release=template.release, purpose=purpose,
                                 template=template.id, created_at=now())

    def destroy(self, env_id: str) -> None:
        self.call("destroy", {"environment": env_id})

    def list_environments(self) -> list[Environment]:
        if not self.settings.get("list-environments"):
            return []
        answer = self._expect("list-environments", self.call("list-environments", {}), list)
        return [self._environment(item) for item in answer]

    # -- templates ----------------------------------------------------------------------------
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        stamp = now()
        template = Template(id="", variant=meta.variant, release=meta.release,
                            version=catalog.next_version(self.list_templates(), meta.variant, meta.release),
                            status=catalog.BUILT, artifacts=meta.artifacts, build=meta.build, created_at=stamp,
                            updated_at=stamp)
        answer = self._expect("save", self.call("save", {"environment": env.id, "template": template.metadata()}),
                              dict)
        if not answer.get("id"):
            raise ProviderError("command provider: save must answer {\"id\": TEMPLATE}")
        template.id = str(answer["id"])
        return template

    def list_templates(self) -> list[Template]:
        answer = self._expect("list-templates", self.call("list-templates", {}), list)
        try:
            return [Template.from_metadata(item["id"], item, item.get("detail")) for item in answer]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"command provider: list-templates answered a template without {exc}") from None

    def set_status(self, template_id: str, status: str) -> Template:
        self.get_template(template_id)
        self.call("update-template", {"template": template_id, "status": status})
        return self.get_template(template_id)

    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        self.get_template(template_id)
        self.call("update-template", {"template": template_id, "pinned": pinned})
        return self.get_template(template_id)

    def delete_template(self, template_id: str) -> None:
        self.call("delete-template", {"template": template_id})
