"""The ``skytap`` provider: environments ("configurations") and templates in Skytap, over its REST API
(shared/reference/skytap-api.md). The catalog is Skytap itself: a template's metadata (variant,
release line, version, status, pin, artifact versions, build) is JSON in its description.

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
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from pathlib import Path

import requests

from ..model.settings import CredentialNeed, Setting
from . import catalog
from .catalog import Template, TemplateMeta, now
from .provider import Environment, EnvSpec, NotFound, Provider, ProviderError
from .tool import run_tool

TEMPLATE_MARK = "jjb-envdelivery-template:"
ENV_MARK = "jjb-envdelivery-environment:"
SECRETS = {"user", "token", "password", "api-token"}
SETTLED = {"running", "stopped", "suspended"}


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
        """One API call. 423, 429 and 422 'busy' are retried after Retry-After (or retry-delay, with
        jitter), capped and within retry-timeout; they mean the request was refused, so even a POST
        is safe to resend. Connection errors are retried only for GET (a POST may have happened)."""
        deadline = time.monotonic() + self.retry_timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(method, self.url + path, json=body, params=params,
                                                timeout=self.request_timeout)
            except requests.RequestException as exc:
                if method != "GET" or time.monotonic() >= deadline:
                    raise ProviderError(f"skytap: {method} {path}: {type(exc).__name__}") from None
                self._pause(attempt, None)
                continue
            status = response.status_code
            if status < 300:
                return response
            if status == 404:
                if not_found_ok:
                    return None
                raise NotFound(f"skytap: {method} {path}: not found")
            busy = status == 422 and "busy" in response.text.lower()
            if (status in (423, 429) or busy) and time.monotonic() < deadline:
                self._pause(attempt, response.headers.get("Retry-After"))
                continue
            if status == 401:
                raise ProviderError(f"skytap: {method} {path}: 401 unauthorized (check the user and API token)")
            raise ProviderError(f"skytap: {method} {path}: {status} {_error_text(response)}")

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        if retry_after is not None and retry_after.strip().isdigit():
            delay = float(retry_after)
        else:
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
            self.request("PUT", f"/configurations/{env_id}", {"runstate": "running"})
            self.wait_env(env_id, {"running"})

    # -- environments -------------------------------------------------------------------------
    def _create_env(self, template_id: str, name: str, info: dict) -> str:
        body = {"template_id": str(template_id), "name": name, "description": ENV_MARK + json.dumps(info)}
        env_id = str(self.request("POST", "/configurations", body).json()["id"])
        try:
            self.start(env_id)
        except BaseException:
            self._delete_env(env_id)
            raise
        return env_id

    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        info = {"variant": spec.variant, "release": spec.release, "purpose": spec.purpose, "template": None,
                "created_at": now()}
        env_id = self._create_env(self.settings["base-template"],
                                  f"{self.prefix}-{spec.purpose}-{spec.config['name']}", info)
        env = self._environment({"id": env_id, "description": ENV_MARK + json.dumps(info), "runstate": "running"})
        try:
            env.versions = run_tool(spec.tool_command, spec.config, spec.artifacts_dir, env_id, cwd=None,
                                    env=self._env_vars(env), timeout=self.command_timeout)
        except BaseException:
            self._delete_env(env_id)
            raise
        return env

    def _env_vars(self, env: Environment) -> dict:
        return {**os.environ, "ENVDELIVERY_ENV": env.id,
                "SKYTAP_ENVIRONMENT_URL": f"{self.url}/configurations/{env.id}"}

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        timeout = timeout or self.command_timeout
        print(f"+ {command}", flush=True)
        try:
            return subprocess.run(command, shell=True, env=self._env_vars(env), timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{command!r} did not finish within {timeout:g}s") from None

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        info = {"variant": template.variant, "release": template.release, "purpose": purpose,
                "template": template.id, "created_at": now()}
        env_id = self._create_env(template.id, f"{self.prefix}-{purpose}-{template.variant}-{template.release}", info)
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

    def _environment(self, data: dict) -> Environment:
        info = json.loads(data["description"][len(ENV_MARK):])
        return Environment(id=str(data["id"]), variant=info["variant"], release=info["release"],
                           purpose=info["purpose"], template_id=info.get("template"), state=data.get("runstate", ""),
                           created_at=info.get("created_at", ""),
                           access={"url": f"{self.url}/configurations/{data['id']}"})

    def list_environments(self) -> list[Environment]:
        return [self._environment(d) for d in self.list_all("configurations")
                if str(d.get("description") or "").startswith(ENV_MARK)]

    # -- templates ----------------------------------------------------------------------------
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        version = catalog.next_version(self.list_templates(), meta.variant, meta.release)
        stamp = now()
        self.wait_env(env.id)
        # Saved without metadata: until the PUT below it is not in the catalog (list_templates skips it).
        template_id = str(self.request("POST", "/templates", {"configuration_id": env.id}).json()["id"])
        try:
            self.wait_template(template_id)
            template = Template(id=template_id, variant=meta.variant, release=meta.release, version=version,
                                status=catalog.BUILT, artifacts=meta.artifacts, build=meta.build, created_at=stamp,
                                updated_at=stamp)
            self._put_metadata(template, name=f"{self.prefix}-{meta.variant}-{meta.release}-v{version}")
        except BaseException:
            self.request("DELETE", f"/templates/{template_id}", not_found_ok=True)
            raise
        return template

    def _put_metadata(self, template: Template, name: str | None = None) -> None:
        body = {"description": TEMPLATE_MARK + catalog.encode_metadata(template)}
        if name:
            body["name"] = name
        self.request("PUT", f"/templates/{template.id}", body)

    def _template(self, data: dict) -> Template | None:
        description = str(data.get("description") or "")
        if not description.startswith(TEMPLATE_MARK) or data.get("busy"):
            return None
        try:
            return Template.from_metadata(data["id"], json.loads(description[len(TEMPLATE_MARK):]),
                                          {"url": f"{self.url}/templates/{data['id']}"})
        except (KeyError, TypeError, ValueError):
            return None  # not ours, or edited by hand beyond recognition

    def list_templates(self) -> list[Template]:
        return [t for t in map(self._template, self.list_all("templates")) if t is not None]

    def get_template(self, template_id: str) -> Template:
        data = self.get_json(f"/v2/templates/{template_id}", not_found_ok=True)
        template = self._template(data) if data else None
        if template is None:
            raise NotFound(f"no template {template_id!r} (env list shows the existing ones)")
        return template

    def set_status(self, template_id: str, status: str) -> Template:
        template = self.get_template(template_id)
        template.status, template.updated_at = status, now()
        self._put_metadata(template)
        return template

    def set_pinned(self, template_id: str, pinned: bool) -> Template:
        template = self.get_template(template_id)
        template.pinned, template.updated_at = pinned, now()
        self._put_metadata(template)
        return template

    def delete_template(self, template_id: str) -> None:
        self.request("DELETE", f"/templates/{template_id}", not_found_ok=True)


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
