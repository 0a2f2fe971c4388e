"""The REST calls a scoped update makes, on top of python-jenkins.

python-jenkins supplies the session, Basic auth and the CSRF crumb. Its high-level calls
are not used for writes: ``create_job`` alone costs three requests (an existence check, the
POST, a check again) and ``delete_job`` follows the redirect and checks again, while a
scoped update already knows what exists from one listing. Every call here is one HTTP
request, with a timeout and bounded retries with backoff on transient failures.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from urllib.parse import quote

import jenkins
import requests

from ..errors import EnvDeliveryError
from ..jjb.rendered import ItemKind

log = logging.getLogger(__name__)

XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
TRANSIENT_STATUSES = {502, 503, 504}
# Folders nest deeper than this are not listed (python-jenkins lists ten levels per request too).
LIST_DEPTH = 10


class PushError(EnvDeliveryError):
    """A request Jenkins refused or that kept failing; says which request and why."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServerItem:
    name: str  # full name, folder/child
    kind: ItemKind
    description: str | None


def item_path(full_name: str) -> str:
    """``a/b/c`` -> ``job/a/job/b/job/c/``."""
    return "".join(f"job/{quote(part, safe='')}/" for part in full_name.split("/"))


def parent_path(full_name: str) -> tuple[str, str]:
    """The URL path of the item's parent group and the item's short name."""
    parent, _, short = full_name.rpartition("/")
    return (item_path(parent) if parent else ""), short


class JenkinsClient(jenkins.Jenkins):
    def __init__(self, url: str, username: str | None, password: str | None, timeout: float = 30.0,
                 attempts: int = 4, backoff: float = 0.5):
        super().__init__(url, username, password, timeout=timeout)
        self.attempts = attempts
        self.backoff = backoff
        self.requests_sent = 0

    # -- one request, retried while the failure is transient ---------------------------------
    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             ok=(200,)) -> requests.Response:
        url = self.server + path
        for attempt in range(1, self.attempts + 1):
            request = requests.Request(method, url, data=body, headers=dict(headers or {}))
            try:
                self._maybe_add_auth()
                self.maybe_add_crumb(request)
                prepared = self._session.prepare_request(request)
                settings = self._session.merge_environment_settings(prepared.url, {}, None,
                                                                    self._session.verify, None)
                self.requests_sent += 1
                response = self._session.send(prepared, timeout=self.timeout, allow_redirects=False,
                                              **settings)
            except jenkins.JenkinsException as exc:
                # Raised while fetching the crumb: bad credentials are not worth a retry.
                raise PushError(f"{method} {path}: {exc}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.attempts:
                    raise PushError(f"{method} {path}: no answer after {attempt} attempts ({exc})") from None
                self._pause(attempt, None)
                continue
            if response.status_code in ok:
                return response
            if response.status_code in TRANSIENT_STATUSES and attempt < self.attempts:
                self._pause(attempt, response.headers.get("Retry-After"))
                continue
            raise PushError(f"{method} {path}: {response.status_code} {response.reason}{_detail(response)}",
                            response.status_code)
        raise AssertionError("unreachable")

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 2)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        log.info("transient failure, retrying in %.1fs (attempt %d of %d)", delay, attempt + 1, self.attempts)
        time.sleep(delay)

    # -- reads -------------------------------------------------------------------------------
    def inventory(self) -> dict[str, ServerItem]:
        """Every job and folder (with descriptions) and every top-level view, in one request."""
        tree = "name,description"
        for _ in range(LIST_DEPTH):
            tree = f"name,description,jobs[{tree}]"
        response = self.send("GET", f"api/json?tree=jobs[{tree}],views[name,description]")
        data = json.loads(response.text)
        items: dict[str, ServerItem] = {}

        def walk(entries, prefix):
            for entry in entries or []:
                if "name" not in entry:
                    continue
                name = f"{prefix}{entry['name']}"
                kind = ItemKind.FOLDER if isinstance(entry.get("jobs"), list) else ItemKind.JOB
                items[name] = ServerItem(name, kind, entry.get("description"))
                if kind == ItemKind.FOLDER:
                    walk(entry["jobs"], f"{name}/")

        walk(data.get("jobs"), "")
        for view in data.get("views") or []:
            items[f"view:{view['name']}"] = ServerItem(view["name"], ItemKind.VIEW, view.get("description"))
        return items

    def installed_plugins(self) -> dict[str, str]:
        response = self.send("GET", "pluginManager/api/json?depth=1&tree=plugins[shortName,version]")
        return {p["shortName"]: p["version"] for p in json.loads(response.text).get("plugins", [])}

    def job_config(self, full_name: str) -> str:
        return self.send("GET", f"{item_path(full_name)}config.xml").text

    def view_config(self, name: str) -> str:
        return self.send("GET", f"view/{quote(name, safe='')}/config.xml").text

    # -- writes ------------------------------------------------------------------------------
    def create_item(self, full_name: str, xml: bytes) -> None:
        parent, short = parent_path(full_name)
        self.send("POST", f"{parent}createItem?name={quote(short, safe='')}", xml, XML_HEADERS)

    def reconfigure_item(self, full_name: str, xml: bytes) -> None:
        self.send("POST", f"{item_path(full_name)}config.xml", xml, XML_HEADERS)

    def delete_item(self, full_name: str) -> None:
        self.send("POST", f"{item_path(full_name)}doDelete", ok=(200, 302))

    def create_view(self, name: str, xml: bytes) -> None:
        self.send("POST", f"createView?name={quote(name, safe='')}", xml, XML_HEADERS)

    def reconfigure_view(self, name: str, xml: bytes) -> None:
        self.send("POST", f"view/{quote(name, safe='')}/config.xml", xml, XML_HEADERS)

    def delete_view(self, name: str) -> None:
        self.send("POST", f"view/{quote(name, safe='')}/doDelete", ok=(200, 302))


def _detail(response: requests.Response) -> str:
    message = response.headers.get("X-Error")
    return f": {message.strip()}" if message else ""
