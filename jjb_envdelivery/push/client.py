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
from collections import deque
from dataclasses import dataclass
from urllib.parse import quote

import jenkins
import requests

from ..errors import EnvDeliveryError
from ..jjb.rendered import ItemKind

log = logging.getLogger(__name__)

XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
TRANSIENT_STATUSES = {502, 503, 504}
# Levels of items one listing request returns (python-jenkins lists ten per request too); a
# folder at the last level that has children is listed by a further request of its own.
LIST_DEPTH = 10
# Jenkins bounds nesting only by path length; past this many levels listing stops with an error.
MAX_LIST_DEPTH = 100
# Classes whose entries are folders even when the listing shows no `jobs` for them.
FOLDER_CLASSES = frozenset({"com.cloudbees.hudson.plugins.folder.Folder"})


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
        """Every job and folder (with descriptions), at any depth, and every top-level view.

        One request lists LIST_DEPTH levels; each folder at the last level that has children
        is listed by a further request on its own ``job/…/api/json``, so the requests grow with
        the depth, not with the number of folders.
        """
        response = self.send("GET", f"api/json?tree={_listing_tree()},views[name,description]")
        data = json.loads(response.text)
        items: dict[str, ServerItem] = {}
        unlisted = deque(_collect(data.get("jobs"), "", items))
        while unlisted:
            folder = unlisted.popleft()
            depth = folder.count("/") + 1
            if depth >= MAX_LIST_DEPTH:
                raise PushError(f"listing {_shorten(folder)}: items nest more than {MAX_LIST_DEPTH} "
                                f"folder levels deep; not listing further")
            response = self.send("GET", f"{item_path(folder)}api/json?tree={_listing_tree()}")
            unlisted.extend(_collect(json.loads(response.text).get("jobs"), f"{folder}/", items))
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

    def credential_ids(self, folder: str | None = None) -> set[str]:
        """The credential IDs in the system store (`folder` None) or in the folder's own store,
        every domain; one request, asking for IDs only, so no secret is ever fetched.

        URLs and fields per the credentials plugin (jenkinsci/credentials-plugin@d96751bc):
        ``credentials`` is ViewCredentialsAction's URL name on the root and on every item
        (ViewCredentialsAction.java:206-208, 395-440), ``store/<name>`` its stores
        (:184-192); a store's name comes from its provider's class, ``system`` and ``folder``
        (CredentialsStoreAction.java:280-294); a store exports ``domains``, a map by domain
        (:391-405), a domain its ``credentials`` (:715-719), a credential its ``id``
        (:1038-1041). A store the user may not view is not found: 404
        (ViewCredentialsAction.java:184-192)."""
        where = f"{item_path(folder)}credentials/store/folder/" if folder else "credentials/store/system/"
        response = self.send("GET", f"{where}api/json?tree=domains[credentials[id]]")
        domains = json.loads(response.text).get("domains") or {}
        return {credential["id"] for domain in domains.values() for credential in domain.get("credentials") or []
                if isinstance(credential, dict) and "id" in credential}

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


def _listing_tree() -> str:
    """``jobs[name,description,jobs[…]]``, LIST_DEPTH levels of items. The last level asks
    for a bare ``jobs``: Jenkins then writes each child as ``{"_class": …}`` alone, which tells
    a folder with children (to list further) from an empty one (reference/jenkins-rest.md
    §2.11). ``_class`` itself needs no asking: Jenkins writes it on every ``jobs`` entry,
    whatever the tree (§2.11, "_class")."""
    tree = "jobs"
    for _ in range(LIST_DEPTH):
        tree = f"jobs[name,description,{tree}]"
    return tree


def _is_folder(entry: dict) -> bool:
    """By class, not by a ``jobs`` key alone: at the last listed level a folder's ``jobs`` may
    be all that is missing. Any entry with a ``jobs`` list is an ItemGroup too (organisation
    folders, multibranch projects)."""
    return entry.get("_class") in FOLDER_CLASSES or isinstance(entry.get("jobs"), list)


def _collect(entries: list | None, prefix: str, items: dict[str, ServerItem]) -> list[str]:
    """Record the listed `entries` (and their listed children) under `prefix` in `items`;
    return the folders whose children this listing did not name."""
    unlisted: list[str] = []
    for entry in entries or []:
        if "name" not in entry:
            continue
        name = f"{prefix}{entry['name']}"
        folder = _is_folder(entry)
        items[name] = ServerItem(name, ItemKind.FOLDER if folder else ItemKind.JOB, entry.get("description"))
        if not folder:
            continue
        children = entry.get("jobs")
        if children is None or any("name" not in child for child in children):
            unlisted.append(name)  # past the listed levels: its children come from a further request
        else:
            unlisted.extend(_collect(children, f"{name}/", items))
    return unlisted


def _shorten(full_name: str, keep: int = 3) -> str:
    """A deep full name cut to its first and last segments, for a one-line message."""
    parts = full_name.split("/")
    if len(parts) <= 2 * keep:
        return full_name
    return "/".join(parts[:keep] + [f"…({len(parts) - 2 * keep} more)…"] + parts[-keep:])


def _detail(response: requests.Response) -> str:
    message = response.headers.get("X-Error")
    return f": {message.strip()}" if message else ""
