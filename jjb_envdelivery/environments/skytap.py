"""The ``skytap`` provider: environments ("configurations") and templates in Skytap, over its REST API
(shared/reference/skytap-api.md). The catalog is Skytap itself: a template's metadata (variant,
release line, version, status, pin, artifact versions, build) is JSON in its description, and an
environment's (variant, release line, purpose, template, lease) in its own; either is compressed
when over Skytap's 1000 characters, and refused before anything is written if even that is over.

Settings::

    environments:
      provider:
        name: skytap
        credential-id: skytap-api      # required: the Jenkins username/password credential (user
                                       #   name and API token) that the environment jobs bind
                                       #   to the variables user-env and token-env name
        settings:
          base-template: "1234567"     # the template build environments start from (required)
          user-env: SKYTAP_USER        # environment variables holding the user name and API token;
          token-env: SKYTAP_TOKEN      #   the org file never holds credentials (defaults shown)
          url: https://cloud.skytap.com
          name-prefix: envdelivery     # names of the templates and environments this provider owns
          wait-timeout: 1800           # seconds to wait for busy/runstate (default 1800)
          poll-interval: 10            # seconds between polls
          request-timeout: 30          # seconds per HTTP request
          retry-delay: 10              # pause after 423/429/busy 422 without Retry-After
          max-retry-delay: 60          # cap on any pause, Retry-After included
          retry-timeout: 600           # give up retrying a refused request after this long
          page-size: 100               # list page size
          command-timeout: 3600        # provisioning tool and validation commands

The provisioning tool and the validation commands run on this machine with ``{target}`` /
``ENVDELIVERY_ENV`` = the Skytap environment id (``SKYTAP_ENVIRONMENT_URL`` is set too): they
reach the environment over the network.

Durability (issue 15). Skytap has no transactions, so every step is a mark that the next command
can judge (``recover``), and nothing unmarked is ever touched:

- Ephemeral environments (build, verify, custom until handed over) carry the creating process's
  lease (``process.new_lease``) in their description from the ``POST`` on; ``keep_environment``
  drops it. ``recover`` deletes environments whose lease is no longer held.
- A template is created with the name ``<prefix>-saving~<nonce>~<owner>~<expiry>``, so a process
  killed before it wrote any metadata still leaves a template that names its owner. It is then
  marked ``saving`` with a candidate version and the lease; the line is listed again, and when any
  other template of the line holds the same version this save takes the next one and repeats (a
  write-then-read reservation: of two saves, the one that writes last reads the other's mark). Only
  then is it renamed and marked ``built``.
- gc marks a template ``deleting`` (with its previous status and a lease) before it lists the
  environments; a deploy names its template in its environment's description at ``POST`` time and
  checks the mark afterwards (``Provider.delete_unused_template``, ``check_deployable``).
- Requests are retried as Skytap's SDK does (shared/reference/skytap-api.md §2.2-§2.4): 409, 423,
  429 and 422 "busy" always (409 not on ``POST /templates``, where a conflict may be permanent),
  5xx and connection errors only on GET, PUT and DELETE; a ``POST`` whose answer was lost is looked
  up by its unique name before it is sent again. After a 200 on a PUT the resource is read back
  until it shows the change (§2.1: a busy resource may answer 200 and change nothing).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import secrets
import subprocess
import time
import zlib
from contextlib import suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests

from ..model.settings import CredentialNeed, Setting
from .catalog import BUILT, DELETING, SAVING, STATUSES, Template, TemplateMeta, now
from .process import lease_held, new_lease, run_shell, signals_deferred
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError, TemplateGone
from .tool import run_tool

TEMPLATE_MARK = "jjb-envdelivery-template:"
ENV_MARK = "jjb-envdelivery-environment:"
# Metadata too long for the description as JSON is stored zlib-compressed in base85 after this.
PACKED = "z85:"
SAVING_NAME = "saving~"
SECRETS = {"user", "token", "password", "api-token"}
SETTLED = {"running", "stopped", "suspended"}
IDEMPOTENT = {"GET", "PUT", "DELETE"}
# help.skytap.com/API_Documentation.html (environments resource model): name "Limited to 255
# characters", description "Limited to 1000 characters". No limit is documented for templates:
# we assume the same.
NAME_LIMIT = 255
DESCRIPTION_LIMIT = 1000
# Concurrent saves of one line that picked the same version: how often to yield, and the base of
# the jittered pause between tries (seconds, doubled each try).
RESERVE_TRIES = 30
RESERVE_PAUSE = 0.05


class OutcomeUnknown(ProviderError):
    """A POST that may or may not have happened (a 5xx or a lost connection)."""


class SkytapProvider(Provider):
    name = "skytap"
    # Credentials are named, never given: user-env and token-env name environment variables.
    SETTINGS = (
        Setting("base-template", (str, int), required=True, help="the template build environments start from"),
        Setting("user-env", str, default="SKYTAP_USER", help="environment variable holding the user name"),
        Setting("token-env", str, default="SKYTAP_TOKEN", help="environment variable holding the API token"),
        Setting("url", str, default="https://cloud.skytap.com", help="the Skytap API"),
        Setting("name-prefix", str, default="envdelivery",
                help="names of the templates and environments this provider owns"),
        Setting("wait-timeout", float, default=1800.0, help="seconds to wait for busy/runstate"),
        Setting("poll-interval", float, default=10.0, help="seconds between polls"),
        Setting("request-timeout", float, default=30.0, help="seconds per HTTP request"),
        Setting("retry-delay", float, default=10.0, help="pause after 423/429/busy 422 without Retry-After"),
        Setting("max-retry-delay", float, default=60.0, help="cap on any pause, Retry-After included"),
        Setting("retry-timeout", float, default=600.0, help="give up retrying a refused request after this long"),
        Setting("page-size", int, default=100, help="list page size"),
        Setting("command-timeout", float, default=3600.0, help="provisioning tool and validation commands"),
    )
    # What the constructor reads from the environment: a user name and an API token.
    CREDENTIAL = CredentialNeed("username-password-separated", {"username": "user-env", "password": "token-env"},
                                help="the Skytap user name and API token")

    def __init__(self, settings: dict, org_dir: Path):
        if SECRETS & set(settings or {}):
            raise ProviderError("skytap provider: credentials never go in the org file; name the environment "
                                "variables that hold them with user-env and token-env")
        super().__init__(settings, org_dir)
        s = self.settings
        user_env, token_env = s["user-env"], s["token-env"]
        user, token = os.environ.get(user_env), os.environ.get(token_env)
        if not (user and token):
            raise ProviderError(f"skytap provider: set the environment variables {user_env} and {token_env} "
                                "(user name and API token)")
        self.url = s["url"].rstrip("/")
        self.prefix = s["name-prefix"]
        self.wait_timeout = s["wait-timeout"]
        self.poll = s["poll-interval"]
        self.request_timeout = s["request-timeout"]
        self.retry_delay = s["retry-delay"]
        self.max_retry_delay = s["max-retry-delay"]
        self.retry_timeout = s["retry-timeout"]
        self.page_size = s["page-size"]
        self.command_timeout = s["command-timeout"]
        self.session = requests.Session()
        self.session.auth = (user, token)
        self.session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        self.sleep = time.sleep  # tests record pauses instead of taking them
        self.retries = 0

    def close(self) -> None:
        self.session.close()

    # -- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict | None = None, params: dict | None = None,
                not_found_ok: bool = False) -> requests.Response | None:
        """One API call, retried within retry-timeout as Skytap's SDK does (reference §2.3, §2.4):
        409, 423, 429 and 422 "busy" mean the request was refused, so even a POST is safe to resend
        (except a 409 on ``POST /templates``, which may be permanent); 5xx and connection errors are
        retried only on GET, PUT and DELETE. A POST that may have happened raises ``OutcomeUnknown``
        (``create`` looks it up). Pauses follow Retry-After (seconds or an HTTP date) or a jittered
        backoff, capped by max-retry-delay."""
        deadline = time.monotonic() + self.retry_timeout
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                response = self.session.request(method, self.url + path, json=body, params=params,
                                                timeout=self.request_timeout)
            except requests.RequestException as exc:
                problem = type(exc).__name__
                if method not in IDEMPOTENT:
                    raise OutcomeUnknown(f"skytap: {method} {path}: {problem} (it may have happened)") from None
            else:
                status = response.status_code
                if status < 300:
                    return response
                if status == 404:
                    if not_found_ok:
                        return None
                    raise NotFound(f"skytap: {method} {path}: not found")
                if status == 401:
                    raise ProviderError(f"skytap: {method} {path}: 401 unauthorized (check the user and API token)")
                problem = f"{status} {_error_text(response)}"
                busy = status == 422 and "busy" in response.text.lower()
                refused = status in (423, 429) or busy or (status == 409 and (method, path) != ("POST", "/templates"))
                if status >= 500 and method not in IDEMPOTENT:
                    raise OutcomeUnknown(f"skytap: {method} {path}: {problem} (it may have happened)")
                if status < 500 and not refused:
                    raise ProviderError(f"skytap: {method} {path}: {problem}")
                retry_after = response.headers.get("Retry-After")
            if time.monotonic() >= deadline:
                raise ProviderError(f"skytap: {method} {path}: {problem} (still failing after "
                                    f"{self.retry_timeout:g}s of retries)")
            self._pause(attempt, retry_after)

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = self.retry_delay * (1 + random.random() / 4) * min(2 ** (attempt - 1), 8)
        self.sleep(min(delay, self.max_retry_delay))

    def get_json(self, path: str, not_found_ok: bool = False):
        response = self.request("GET", path, not_found_ok=not_found_ok)
        return None if response is None else response.json()

    def list_all(self, resource: str) -> list[dict]:
        """Every page of /v2/<resource> whose name starts with our prefix (Content-Range paging)."""
        items, offset = [], 0
        while True:
            params = {"scope": "me", "count": self.page_size, "offset": offset, "query": f"name:{self.prefix}-*"}
            response = self.request("GET", f"/v2/{resource}", params=params)
            page = response.json()
            items += page
            total = _content_range_total(response.headers.get("Content-Range"))
            offset += len(page)
            if not page or len(page) < self.page_size or (total is not None and offset >= total):
                return items

    def create(self, resource: str, body: dict) -> dict:
        """POST /<resource> with a unique ``name``. When the outcome is unknown (5xx, connection
        lost) the resource is looked up by that name before the POST is sent again (§2.4 item 6)."""
        deadline = time.monotonic() + self.retry_timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.request("POST", f"/{resource}", body).json()
            except OutcomeUnknown:
                found = [d for d in self.list_all(resource) if d.get("name") == body["name"]]
                if found:
                    return found[0]
                if time.monotonic() >= deadline:
                    raise
                self._pause(attempt, None)

    def put_confirmed(self, resource: str, resource_id: str, body: dict, done=None) -> dict:
        """PUT, then read back until the resource shows the change (``done(data)``, by default the
        fields of ``body``), re-sending the PUT while it is not busy and still unchanged: a busy
        resource may answer 200 without changing (§2.1; the Jenkins plugin does the same)."""
        done = done or (lambda data: all(data.get(key) == value for key, value in body.items()))
        path = f"/{resource}/{resource_id}"
        deadline = time.monotonic() + self.wait_timeout
        self.request("PUT", path, body)
        while True:
            data = self.get_json(f"/v2{path}")
            if done(data):
                return data
            if time.monotonic() >= deadline:
                raise ProviderError(f"skytap: {resource} {resource_id} did not take the change "
                                    f"({', '.join(sorted(body))}) within {self.wait_timeout:g}s")
            self.sleep(self.poll)
            if not _busy(data):
                self.request("PUT", path, body)

    # -- waits --------------------------------------------------------------------------------
    def _wait(self, what: str, check) -> dict:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            data = check()
            if data is not None:
                return data
            if time.monotonic() >= deadline:
                raise ProviderError(f"skytap: gave up waiting for {what} after {self.wait_timeout:g}s")
            self.sleep(self.poll)

    def wait_env(self, env_id: str, runstates=SETTLED) -> dict:
        def check():
            data = self.get_json(f"/v2/configurations/{env_id}")
            if data.get("errors"):
                raise ProviderError(f"skytap: environment {env_id}: {'; '.join(map(str, data['errors']))}")
            ok = data.get("runstate") in runstates and not data.get("rate_limited")
            return data if ok else None
        return self._wait(f"environment {env_id} to be {'/'.join(sorted(runstates))}", check)

    def wait_template(self, template_id: str) -> dict:
        def check():
            data = self.get_json(f"/v2/templates/{template_id}")
            return None if data.get("busy") else data
        return self._wait(f"template {template_id} to stop being busy", check)

    def start(self, env_id: str) -> None:
        data = self.wait_env(env_id)
        if data.get("runstate") != "running":
            self.put_confirmed("configurations", env_id, {"runstate": "running"},
                               lambda d: d.get("runstate") == "running" and not d.get("rate_limited"))

    # -- environments -------------------------------------------------------------------------
    def _unique_name(self, *parts: str) -> str:
        # Unique, so that a POST whose answer was lost can be found again (create).
        return f"{self.prefix}-{'-'.join(parts)}"[:NAME_LIMIT - 9] + f"-{secrets.token_hex(4)}"

    def _register_env(self, template_id: str, name: str, info: dict, ephemeral: bool) -> str:
        """Create the environment, its description naming what it is (and, if ephemeral, our lease)
        from the first moment it exists; start it. Whatever fails, nothing is left."""
        if ephemeral:
            info = {**info, "lease": new_lease()}
        # Checked before the POST: nothing exists yet when the description cannot fit.
        body = {"template_id": str(template_id), "name": name, "description": _env_description(info)}
        return str(self.create("configurations", body)["id"])

    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        info = {"variant": spec.variant, "release": spec.release, "purpose": spec.purpose, "template": None,
                "created_at": now()}
        env_id = None
        try:
            # A SIGTERM held until the id is in hand: raised between Skytap's answer and here it would
            # leave an environment nobody deletes until the next command's recover().
            with signals_deferred():
                env_id = self._register_env(self.settings["base-template"],
                                            self._unique_name(spec.purpose, spec.config["name"]), info, ephemeral)
            env = self._environment({"id": env_id, "description": ENV_MARK + json.dumps(info),
                                     "runstate": "running"})
            self.start(env_id)
            env.versions = run_tool(spec.tool_command, spec.config, spec.artifacts_dir, env_id, cwd=None,
                                    env=self._env_vars(env), timeout=self.command_timeout)
        except BaseException:
            if env_id is not None:
                self._delete_env_quietly(env_id)
            raise
        return env

    def keep_environment(self, env: Environment) -> None:
        """The environment is the user's now: its description loses our lease (recover keeps it)."""
        data = self.get_json(f"/v2/configurations/{env.id}")
        info = _decode_env(data)
        if info is not None and "lease" in info:
            info.pop("lease")
            self.put_confirmed("configurations", env.id, {"description": _env_description(info)})

    def _env_vars(self, env: Environment) -> dict:
        return {**os.environ, "ENVDELIVERY_ENV": env.id,
                "SKYTAP_ENVIRONMENT_URL": f"{self.url}/configurations/{env.id}"}

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        timeout = timeout or self.command_timeout
        print(f"+ {command}", flush=True)
        try:
            # Its own process group, killed whole on a timeout (a grandchild must not act later).
            return run_shell(command, env=self._env_vars(env), timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{command!r} did not finish within {timeout:g}s") from None

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        """Register first (the description names the template from the POST on), check second
        (``check_deployable``): gc, which marks first and lists second, sees one or the other."""
        info = {"variant": template.variant, "release": template.release, "purpose": purpose,
                "template": template.id, "created_at": now()}
        env_id = None
        try:
            with signals_deferred():  # as in provision: no SIGTERM between Skytap's answer and the id
                try:
                    env_id = self._register_env(template.id, self._unique_name(purpose, template.variant,
                                                                               template.release), info, ephemeral)
                except NotFound:
                    # Skytap answers 404 for an environment from a template that no longer exists.
                    raise TemplateGone(f"template {template.id} was deleted while being deployed") from None
            self.check_deployable(template.id)
            self.start(env_id)
        except BaseException:
            if env_id is not None:
                self._delete_env_quietly(env_id)
            raise
        return self._environment({"id": env_id, "description": ENV_MARK + json.dumps(info), "runstate": "running"})

    def destroy(self, env_id: str) -> None:
        if self.get_json(f"/v2/configurations/{env_id}", not_found_ok=True) is None:
            raise NotFound(f"no environment {env_id!r} in Skytap")
        self._delete_env(env_id)

    def _delete_env(self, env_id: str) -> None:
        if self.get_json(f"/v2/configurations/{env_id}", not_found_ok=True) is None:
            return
        self.wait_env(env_id, SETTLED | {"halted"})
        self.request("DELETE", f"/configurations/{env_id}", not_found_ok=True)
        self._wait(f"environment {env_id} to be deleted",
                   lambda: {} if self.get_json(f"/v2/configurations/{env_id}", not_found_ok=True) is None else None)

    def _delete_env_quietly(self, env_id: str) -> None:
        # Cleanup while another error propagates: that error is the one to report; if this fails
        # too, the environment still carries our lease and the next command's recover() removes it.
        with suppress(ProviderError):
            self._delete_env(env_id)

    def _environment(self, data: dict) -> Environment:
        info = _decode_env(data) or {}
        return Environment(id=str(data["id"]), variant=info["variant"], release=info["release"],
                           purpose=info["purpose"], template_id=info.get("template"), state=data.get("runstate", ""),
                           created_at=info.get("created_at", ""),
                           access={"url": f"{self.url}/configurations/{data['id']}"})

    def list_environments(self) -> list[Environment]:
        return [self._environment(d) for d in self.list_all("configurations") if _decode_env(d) is not None]

    # -- templates ----------------------------------------------------------------------------
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        stamp = now()
        template = Template(id="new", variant=meta.variant, release=meta.release, version=0, status=SAVING,
                            artifacts=meta.artifacts, build=meta.build, created_at=stamp, updated_at=stamp)
        lease = new_lease()
        # Checked before anything is written: the largest description this template will ever need.
        self._description(template, status=DELETING, version=10 ** 6, pinned=True, lease=lease, previous="verified")
        self.wait_env(env.id)
        name = f"{self.prefix}-{SAVING_NAME}{secrets.token_hex(4)}~{lease['owner']}~{lease['expires']}"
        if len(name) > NAME_LIMIT:  # cut, it would no longer name its owner for recover()
            raise ProviderError(f"skytap: name-prefix {self.prefix!r} is too long: template names are limited "
                                f"to {NAME_LIMIT} characters and need {len(name) - len(self.prefix)} of their own")
        template.id = str(self.create("templates", {"configuration_id": env.id, "name": name})["id"])
        try:
            self.wait_template(template.id)
            self._reserve_version(template, lease)
            template.status, template.updated_at = BUILT, now()
            self._write(template, name=f"{self.prefix}-{meta.variant}-{meta.release}-v{template.version}")
        except BaseException:
            # Left behind if this fails too: its name and lease let recover() remove it.
            with suppress(ProviderError):
                self.delete_template(template.id)
            raise
        return template

    def _reserve_version(self, template: Template, lease: dict) -> None:
        """Mark the template ``saving`` with the next free version of its line, then list the line
        again until no other template holds that version. It commits only after a list without a
        rival, so two saves never both keep one version: of two marks, the later writer's list shows
        the earlier one. On a tie the younger save (higher id) moves to the next free version and the
        older one waits for it, which keeps versions dense; it yields too to a rival that is already
        saved, or after waiting half its tries (a rival that died keeps its mark until recover)."""
        template.version = self._free_version(template)
        self._write(template, lease=lease)
        for attempt in range(1, RESERVE_TRIES + 1):
            rivals = [(rid, status) for rid, version, status in self._line_marks(template)
                      if version == template.version]
            if not rivals:
                return
            senior = all(status == SAVING and _id_order(rid) > _id_order(template.id) for rid, status in rivals)
            if not senior or attempt > RESERVE_TRIES // 2:
                template.version = self._free_version(template)
                self._write(template, lease=lease)
            self.sleep(random.uniform(0, min(RESERVE_PAUSE * 2 ** min(attempt, 6), self.max_retry_delay)))
        raise ProviderError(f"skytap: no free version for {template.variant}/{template.release} after "
                            f"{RESERVE_TRIES} tries (too many concurrent saves of the line)")

    def _free_version(self, template: Template) -> int:
        """The first version after the newest saved one of the line that no other save holds."""
        marks = self._line_marks(template)
        taken = {version for _, version, _ in marks}
        newest_saved = max((version for _, version, status in marks if status != SAVING), default=0)
        return next(v for v in itertools.count(newest_saved + 1) if v not in taken)

    def _line_marks(self, template: Template) -> list[tuple[str, int, str]]:
        """(id, version, status) of the other templates of the line, half-saved and busy ones included."""
        marks = []
        for data in self.list_all("templates"):
            meta = _decode_template(data)
            if (meta and str(data["id"]) != template.id and meta.get("variant") == template.variant
                    and meta.get("release") == template.release and isinstance(meta.get("version"), int)):
                marks.append((str(data["id"]), meta["version"], str(meta.get("status"))))
        return marks

    def _description(self, template: Template, **overrides) -> str:
        """The description holding the template's metadata: JSON, or compressed when JSON is too
        long; a one-line error (before anything is written) when even that is over the limit."""
        which = "the new template" if template.id == "new" else f"template {template.id}"
        return _fit(TEMPLATE_MARK, {**template.metadata(), **overrides},
                    f"the metadata of {which} ({template.variant}/{template.release})",
                    "record fewer or shorter artifacts")

    def _write(self, template: Template, name: str | None = None, **marks) -> None:
        """Store the metadata (plus marks: lease, previous status) and confirm it was taken."""
        body = {"description": self._description(template, **marks)}
        if name:
            body["name"] = name[:NAME_LIMIT]
        self.put_confirmed("templates", template.id, body)

    def _template(self, data: dict) -> Template | None:
        """A registered template (any status but saving), or None: not ours, half-saved, or edited by
        hand beyond recognition."""
        meta = _decode_template(data)
        if meta is None or meta.get("status") == SAVING:
            return None
        try:
            return Template.from_metadata(data["id"], meta, {"url": f"{self.url}/templates/{data['id']}"})
        except (KeyError, TypeError, ValueError):
            return None

    def list_templates(self) -> list[Template]:
        return [t for t in map(self._template, self.list_all("templates")) if t is not None]

    def get_template(self, template_id: str) -> Template:
        data = self.get_json(f"/v2/templates/{template_id}", not_found_ok=True)
        template = self._template(data) if data else None
        if template is None:
            raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")
        return template

    def _settled_template(self, template_id: str) -> Template:
        template = self.get_template(template_id)
        if template.status == DELETING:
            raise ProviderError(f"template {template_id} is being deleted (env gc)")
        return template

    def set_status(self, template_id: str, status: str) -> Template:
        template = self._settled_template(template_id)
        template.status, template.updated_at = status, now()
        self._write(template)
        return template

    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        template = self._settled_template(template_id)
        template.pinned, template.updated_at = pinned, now()
        self._write(template)
        return template

    def begin_delete(self, template_id: str) -> Template:
        data = self.get_json(f"/v2/templates/{template_id}", not_found_ok=True)
        before = self._template(data) if data else None
        if before is None:
            raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")
        meta = _decode_template(data)
        if before.status == DELETING:
            if lease_held(meta.get("lease")):
                raise ProviderError(f"template {template_id} is being deleted by {meta['lease'].get('owner')}")
            before.status = meta.get("previous") or before.status  # a dead gc's mark: take it over
        marked = Template.from_metadata(before.id, before.metadata(), before.detail)
        marked.status = DELETING
        self._write(marked, lease=new_lease(), previous=str(before.status))
        return before

    def cancel_delete(self, template: Template) -> None:
        self._write(template)

    def delete_template(self, template_id: str) -> None:
        # A busy template refuses a DELETE (423): wait it out first (reference §2.4 item 3).
        def settled():
            data = self.get_json(f"/v2/templates/{template_id}", not_found_ok=True)
            return None if data and data.get("busy") else {}
        self._wait(f"template {template_id} to stop being busy", settled)
        self.request("DELETE", f"/templates/{template_id}", not_found_ok=True)
        self._wait(f"template {template_id} to be deleted",
                   lambda: {} if self.get_json(f"/v2/templates/{template_id}", not_found_ok=True) is None else None)

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Remove what dead processes left, judged only by our own marks: environments whose lease
        is no longer held, templates half-saved by such an owner (by their name alone when no
        metadata was written yet); finish or undo deletes whose gc died. Nothing else is touched."""
        done = []
        for data in self.list_all("configurations"):
            info = _decode_env(data)
            if info is not None and "lease" in info and not lease_held(info["lease"]):
                self._delete_env(str(data["id"]))
                done.append(f"environment {data['id']} ({info.get('purpose')}, its process ended)")
        for data in self.list_all("templates"):
            template_id, meta = str(data["id"]), _decode_template(data)
            status = meta.get("status") if meta else None
            if status == SAVING or (meta is None and _saving_lease(data.get("name"), self.prefix)):
                lease = meta.get("lease") if meta else _saving_lease(data.get("name"), self.prefix)
                if not lease_held(lease):
                    self.delete_template(template_id)
                    done.append(f"template {template_id} (saving when its process ended)")
            elif status == DELETING and not lease_held(meta.get("lease")):
                done.append(self._finish_delete(data, meta))
        return done

    def _finish_delete(self, data: dict, meta: dict) -> str:
        template_id = str(data["id"])
        users = sorted(env.id for env in self.list_environments() if env.template_id == template_id)
        if not users:
            self.delete_template(template_id)
            return f"template {template_id} (deleted: its gc ended mid-delete)"
        previous = str(meta.get("previous") or "")
        template = Template.from_metadata(template_id, meta)
        template.status = previous if previous in STATUSES else template.status
        self._write(template)
        return f"template {template_id} (kept, {template.status}: in use by {', '.join(users)})"


def _compact(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _fit(mark: str, data: dict, what: str, remedy: str) -> str:
    """``data`` as a description after ``mark``: JSON, or compressed when JSON is too long; a
    one-line error (raised before anything is written) when even that is over Skytap's limit."""
    text = _compact(data)
    description = mark + text
    if len(description) > DESCRIPTION_LIMIT:
        description = mark + PACKED + base64.b85encode(zlib.compress(text.encode(), 9)).decode()
    if len(description) > DESCRIPTION_LIMIT:
        raise ProviderError(f"skytap: {what} needs {len(description)} characters compressed, over Skytap's "
                            f"limit of {DESCRIPTION_LIMIT} for a description: {remedy}")
    return description


def _env_description(info: dict) -> str:
    return _fit(ENV_MARK, info, f"the description of a {info['purpose']} environment of {info['variant']}/"
                f"{info['release']}", "use shorter variant and release line names")


def _unpack(data: dict | None, mark: str) -> dict | None:
    """The JSON object (plain or packed) after ``mark`` in a description, or None."""
    description = str((data or {}).get("description") or "")
    if not description.startswith(mark):
        return None
    text = description[len(mark):]
    try:
        if text.startswith(PACKED):
            text = zlib.decompress(base64.b85decode(text[len(PACKED):])).decode()
        value = json.loads(text)
    except (ValueError, zlib.error):
        return None
    return value if isinstance(value, dict) else None


def _decode_template(data: dict | None) -> dict | None:
    """Our metadata in a template's description (plain or packed JSON), or None."""
    return _unpack(data, TEMPLATE_MARK)


def _decode_env(data: dict | None) -> dict | None:
    """What an environment is, from its description (plain or packed JSON), or None."""
    info = _unpack(data, ENV_MARK)
    return info if info is not None and {"variant", "release", "purpose"} <= set(info) else None


def _saving_lease(name: str | None, prefix: str) -> dict | None:
    """The lease in the name a template is created with (``<prefix>-saving~nonce~owner~expiry``)."""
    head = f"{prefix}-{SAVING_NAME}"
    if not name or not name.startswith(head):
        return None
    parts = name[len(head):].split("~")
    return {"owner": parts[1], "expires": parts[2]} if len(parts) == 3 else None


def _id_order(resource_id: str) -> tuple[int, str]:
    # Skytap ids are decimal strings: shorter is older.
    return len(resource_id), resource_id


def _busy(data: dict) -> bool:
    return bool(data.get("busy") or data.get("runstate") == "busy" or data.get("rate_limited"))


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110 §10.2.3); None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _content_range_total(header: str | None) -> int | None:
    # "items 0-99/250"
    if header and "/" in header:
        total = header.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    return None


def _error_text(response: requests.Response) -> str:
    try:
        data = response.json()
        message = data.get("error") or data.get("errors") if isinstance(data, dict) else data
    except ValueError:
        message = response.text[:200]
    return str(message or response.reason)
