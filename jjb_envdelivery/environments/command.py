"""The ``command`` provider: the organisation's own provisioning tool (the paper's Jenga) does
the work, one configured command per operation, exchanging JSON.

Settings (every operation is required)::

    environments:
      provider:
        name: command
        settings:
          timeout: 1800                            # seconds per command (default 3600)
          provision: jenga provision
          run: jenga run
          save: jenga save
          deploy: jenga deploy
          destroy: jenga destroy
          update-environment: jenga update-environment
          list-environments: jenga environments
          list-templates: jenga templates
          update-template: jenga update-template
          delete-template: jenga delete-template

The provider reads no credential itself (``credential-id`` is refused): the commands are the
organisation's, and find theirs as the agent provides them.

The protocol is the JSON Schema ``command_protocol.json`` beside this module (``$defs``
``<operation>.request`` and ``<operation>.answer``); ``examples/command-provider/`` holds a
complete provider that follows it. Each command runs through the shell in a process group of its
own (killed whole on timeout or interruption), gets one JSON request on stdin and, on success,
exits 0 printing one JSON answer on stdout; stderr goes to the log. A failing command exits
non-zero and may print ``{"error": MESSAGE}``, with ``"not-found": true`` when the object the
request names does not exist. Requests are checked before they are sent (a failure is our bug),
answers strictly: a missing field is an error, never a default.

Durability rests on leases (``process.new_lease``): provision, deploy and save requests carry the
lease of the process doing the work; the tool records it on the environment or the ``saving``
template and shows it in its lists until ``update-environment`` drops it (the environment is
kept) or the save completes. ``recover`` removes what a gone owner left. Deleting a template is
``update-template`` to ``deleting`` under a lease (compare-and-set on ``expect-status``), then
``list-environments``, then ``delete-template`` (``Provider.delete_unused_template``); the tool
registers a deployed environment with its template before copying the template's data, and
refuses, atomically with that registration, a template already marked deleting: so gc sees the
deploy, or the deploy sees gc's mark.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
from importlib import resources

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ..model.settings import Setting
from .catalog import DELETING, SAVING, STATUSES, Template, TemplateMeta, now
from .process import communicate, lease_held, new_lease, process_group, request_file
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError, TemplateGone

PROTOCOL_FILE = "command_protocol.json"
REQUIRED = ("provision", "run", "save", "deploy", "destroy", "update-environment", "list-environments",
            "list-templates", "update-template", "delete-template")
LONGEST_DETAIL = 200  # characters of a tool's answer or message quoted in an error


@functools.cache
def protocol() -> dict:
    """The protocol's JSON Schema, as shipped in the package."""
    return json.loads(resources.files(__package__).joinpath(PROTOCOL_FILE).read_text(encoding="utf-8"))


@functools.cache
def _validator(definition: str) -> Draft202012Validator:
    schema = protocol()
    return Draft202012Validator({"$schema": schema["$schema"], "$defs": schema["$defs"],
                                 "$ref": f"#/$defs/{definition}"})


def _described(schema) -> str:
    """A schema's ``description``, following one ``$ref`` when it has none of its own."""
    if not isinstance(schema, dict):
        return ""
    if schema.get("description"):
        return str(schema["description"])
    ref = str(schema.get("$ref", ""))
    return _described(protocol()["$defs"].get(ref.removeprefix("#/$defs/"))) if ref else ""


def _expected(error: ValidationError) -> str:
    message = error.message
    if len(message) > LONGEST_DETAIL:
        message = message[:LONGEST_DETAIL] + "..."
    if error.validator == "required":
        missing = message.split("'")[1] if message.count("'") >= 2 else ""
        detail = _described(error.schema.get("properties", {}).get(missing))
    elif error.validator == "additionalProperties":
        detail = ""  # the message names the field
    else:
        detail = _described(error.schema)
    return f"{message} ({detail})" if detail else message


def _json_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def problem(definition: str, value) -> str | None:
    """The first problem of ``value`` against ``$defs[definition]``, as ``PATH: what was expected``
    (``: what was expected`` for the value itself), or None."""
    error = best_match(_validator(definition).iter_errors(value))
    if error is None:
        return None
    path = _json_path(error.absolute_path)
    return f"{' ' + path if path else ''}: {_expected(error)}"


class CommandProvider(Provider):
    name = "command"
    SETTINGS = (
        *(Setting(operation, str, required=True, help=f"the shell command that does {operation}")
          for operation in REQUIRED),
        Setting("timeout", float, default=3600.0, help="seconds per command"),
    )
    CREDENTIAL = None  # it reads none; the organisation's commands find their own

    def __init__(self, settings: dict, org_dir):
        super().__init__(settings, org_dir)
        self.timeout = float(self.settings["timeout"])

    # -- the protocol -------------------------------------------------------------------------
    def call(self, operation: str, request: dict, timeout: float | None = None):
        """Run the operation's command with ``request``; returns its answer, checked."""
        wrong = problem(f"{operation}.request", request)
        if wrong is not None:
            raise ProviderError(f"command provider: {operation} request{wrong} "
                                "(a bug of jjb-envdelivery: the request breaks command_protocol.json)")
        command = str(self.settings[operation])
        timeout = timeout or self.timeout
        try:
            # The tool and its children die with us if we are interrupted (SIGTERM from Jenkins).
            with request_file(json.dumps(request)) as stdin, process_group(
                    command, cwd=self.org_dir, stdin=stdin, stdout=subprocess.PIPE, text=True) as process:
                out, _ = communicate(process, timeout=timeout)
        except OSError as exc:
            raise ProviderError(f"command provider: cannot run {operation} ({command!r}): {exc}") from None
        except subprocess.TimeoutExpired:
            raise ProviderError(f"command provider: {operation} ({command!r}) did not finish within "
                                f"{timeout:g}s and was killed") from None
        if process.returncode != 0:
            self._failed(operation, command, process.returncode, out)
        try:
            answer = json.loads(out)
        except ValueError:
            raise ProviderError(f"command provider: {operation} ({command!r}) printed something that is not "
                                f"JSON: {out.strip()[:LONGEST_DETAIL]!r}") from None
        wrong = problem(f"{operation}.answer", answer)
        if wrong is not None:
            raise ProviderError(f"command provider: {operation} answer{wrong}")
        return answer

    @staticmethod
    def _failed(operation: str, command: str, status: int, out: str):
        try:
            answer = json.loads(out)
        except ValueError:
            answer = None
        message = ""
        if problem("error", answer) is None:
            message = " ".join(str(answer["error"]).split())[:LONGEST_DETAIL]
            if answer.get("not-found"):
                raise NotFound(f"{operation}: {message or 'not found'}")
        raise ProviderError(f"command provider: {operation} ({command!r}) failed with exit status "
                            f"{status}{': ' + message if message else ''}")

    @staticmethod
    def _environment(item: dict) -> Environment:
        return Environment(id=item["id"], variant=item["variant"], release=item["release"], purpose=item["purpose"],
                           template_id=item["template"], state=item["state"], created_at=item["created_at"],
                           access=dict(item["access"]), versions=dict(item["versions"]))

    @staticmethod
    def _template(item: dict) -> Template:
        return Template.from_metadata(item["id"], item, item.get("detail"))

    # -- environments -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _leased(self):
        """A fresh lease for one operation. When the operation does not finish (the tool failed, timed
        out, or this process is being stopped), what the tool recorded under the lease goes now, not
        at the next command's recover()."""
        lease = new_lease()
        try:
            yield lease
        except BaseException:
            self._abandon(lease)
            raise

    def _abandon(self, lease: dict) -> None:
        try:
            for item in self.call("list-environments", {}):
                if item["lease"] == lease:
                    self._ignore_missing(self.destroy, item["id"])
            for item in self.call("list-templates", {}):
                if item["status"] == SAVING and item["lease"] == lease:
                    self._ignore_missing(self.delete_template, item["id"])
        except ProviderError as exc:
            print(f"warning: could not clean up after a failed operation ({exc}); "
                  "the next command's recovery will", flush=True)

    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        with self._leased() as lease:
            answer = self.call("provision", {
                "config": spec.config, "variant": spec.variant, "release": spec.release, "purpose": spec.purpose,
                "artifacts": str(spec.artifacts_dir.resolve()), "tool-command": spec.tool_command, "lease": lease})
            env = Environment(id=answer["id"], variant=spec.variant, release=spec.release, purpose=spec.purpose,
                              template_id=None, state="running", created_at=now(), access=answer["access"],
                              versions=answer["versions"])
            if not ephemeral:
                self.keep_environment(env)
        return env

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        print(f"+ {command}", flush=True)
        answer = self.call("run", {"environment": env.id, "command": command}, timeout=timeout)
        # Always shown: when validation fails, the output says why.
        if answer["output"]:
            print(answer["output"], end="" if answer["output"].endswith("\n") else "\n", flush=True)
        return answer["exit-status"]

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        with self._leased() as lease:
            # The tool registers the environment with the template (and the lease) before copying.
            try:
                answer = self.call("deploy", {"template": template.id, "purpose": purpose, "lease": lease})
            except NotFound as exc:
                raise TemplateGone(f"template {template.id} was deleted while being deployed ({exc})") from None
            env = Environment(id=answer["id"], variant=template.variant, release=template.release,
                              purpose=purpose, template_id=template.id, state="running", created_at=now(),
                              access=answer["access"], versions=answer["versions"])
            self.check_deployable(template.id)  # TemplateGone: _leased removes the environment
            if not ephemeral:
                self.keep_environment(env)
        return env

    def check_deployable(self, template_id: str) -> None:
        """Only that the template still exists. The protocol has the tool refuse, atomically with the
        registration, a template already marked deleting; so a template marked since was marked by a
        gc that lists this environment and keeps the template. Backing out here as well would let
        both sides back out (the deploy fails and the template stays)."""
        try:
            self.get_template(template_id)
        except NotFound:
            raise TemplateGone(f"template {template_id} was deleted while being deployed") from None

    def keep_environment(self, env: Environment) -> None:
        self.call("update-environment", {"environment": env.id, "lease": None})

    def destroy(self, env_id: str) -> None:
        self.call("destroy", {"environment": env_id})

    def list_environments(self) -> list[Environment]:
        return [self._environment(item) for item in self.call("list-environments", {})]

    # -- templates ----------------------------------------------------------------------------
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        sent = {"variant": meta.variant, "release": meta.release, "artifacts": meta.artifacts, "build": meta.build}
        with self._leased() as lease:
            answer = self.call("save", {"environment": env.id, "template": sent, "lease": lease})
        for key, value in sent.items():
            if answer[key] != json.loads(json.dumps(value)):
                raise ProviderError(f"command provider: save answer {key}: {json.dumps(answer[key])[:LONGEST_DETAIL]}"
                                    f" is not what the request gave ({json.dumps(value)[:LONGEST_DETAIL]})")
        return self._template(answer)

    def list_templates(self) -> list[Template]:
        # Half-saved templates are the tool's to show and recover()'s to clean, never anyone's to use.
        return [self._template(item) for item in self.call("list-templates", {}) if item["status"] != SAVING]

    def _usable(self, template_id: str) -> Template:
        template = self.get_template(template_id)
        if template.status not in STATUSES:
            raise NotFound(f"template {template_id} is being deleted (env gc)")
        return template

    def _update(self, template_id: str, expect: str, **changes) -> Template:
        request = {"template": template_id, "expect-status": expect,
                   **{key.replace("_", "-"): value for key, value in changes.items()}}
        return self._template(self.call("update-template", request))

    def set_status(self, template_id: str, status: str) -> Template:
        return self._update(template_id, self._usable(template_id).status, status=str(status))

    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        return self._update(template_id, self._usable(template_id).status, pinned=bool(pinned))

    def delete_template(self, template_id: str) -> None:
        self.call("delete-template", {"template": template_id})

    def begin_delete(self, template_id: str) -> Template:
        before = self._usable(template_id)
        self._update(template_id, before.status, status=DELETING, lease=new_lease(),
                     previous_status=str(before.status))
        return before

    def cancel_delete(self, template: Template) -> None:
        self._update(template.id, DELETING, status=str(template.status), lease=None, previous_status=None)

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Remove environments and half-saved templates whose owner's lease is no longer held; finish
        (or, if an environment uses the template, undo) deletes whose owner is gone. Nothing else:
        whatever has no lease, or a lease still held, is left alone."""
        cleaned = []
        for item in self.call("list-environments", {}):
            if item["lease"] is not None and not lease_held(item["lease"]):
                self._ignore_missing(self.destroy, item["id"])
                cleaned.append(f"environment {item['id']} ({item['purpose']}, its process ended)")
        for item in self.call("list-templates", {}):
            if item["status"] not in (SAVING, DELETING) or lease_held(item["lease"]):
                continue
            users = [] if item["status"] == SAVING else sorted(
                env.id for env in self.list_environments() if env.template_id == item["id"])
            if users:
                self._update(item["id"], DELETING, status=item["previous-status"], lease=None, previous_status=None)
                cleaned.append(f"template {item['id']}: delete undone, in use by {', '.join(users)}")
            else:
                self._ignore_missing(self.delete_template, item["id"])
                cleaned.append(f"template {item['id']} ({item['status']} when its process ended)")
        return cleaned

    @staticmethod
    def _ignore_missing(action, object_id: str) -> None:
        try:
            action(object_id)
        except NotFound:
            pass  # another command's recovery got there first

