"""The REST calls a scoped update makes, on top of python-jenkins.

python-jenkins supplies the session, Basic auth and the CSRF crumb. Its high-level calls
are not used for writes: ``create_job`` alone costs three requests (an existence check, the
POST, a check again) and ``delete_job`` follows the redirect and checks again, while a
scoped update already knows what exists from one listing. Every call here is one HTTP
request, with a timeout and bounded retries with backoff on transient failures (the CSRF
crumb's too, fetched once before the first).

A retried write may meet its own earlier attempt whose response was lost: a delete answered
404 is then done, and PushError carries ``attempts`` so callers can tell "already exists" to a
retry from "already exists" to a first attempt. 401 and 403 say the credentials were refused.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import quote

import jenkins
import requests

from .. import jenkins_items
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
FOLDER_CLASSES = frozenset({jenkins_items.FOLDER})
# 401: the Basic header failed (bad user or token); 403: the user lacks a permission, or
# anonymous lacks Overall/Read because no credentials were sent (reference/jenkins-rest.md §3).
REFUSED_HINT = ": the server refused the credentials (check the user and API token in the JJB ini)"


class PushError(EnvDeliveryError):
    """A request Jenkins refused or that kept failing; says which request and why.

    `status`: the HTTP status of the last answer (None: no answer); `attempts`: how many times
    the request was sent. An answer after a retry (attempts > 1) may be the server meeting the
    effect of an earlier attempt whose response was lost: "already exists", a 404 on a delete.
    """

    def __init__(self, message: str, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class ServerItem:
    name: str  # full name, folder/child
    kind: ItemKind
    description: str | None
    cls: str | None = None  # the item's Java class (`_class`); None when unknown


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
        self._count_lock = threading.Lock()
        self._crumb_lock = threading.Lock()
        # Lower-cased full names of the jobs and folders the server holds, as far as this client
        # knows: the last inventory(), plus what it created or deleted since (None: never listed).
        self.known_items: set[str] | None = None

    # -- one request, retried while the failure is transient ---------------------------------
    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             ok=(200,)) -> requests.Response:
        return self._send(method, path, body, headers, ok, crumb=True)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict | None, ok,
              crumb: bool) -> requests.Response:
        """One request (`crumb`: with the CSRF crumb, fetched first if need be), retried on a
        connection error, a timeout or a 502/503/504; PushError with the attempts it took."""
        url = self.server + path
        for attempt in range(1, self.attempts + 1):
            request = requests.Request(method, url, data=body, headers=dict(headers or {}))
            try:
                self._maybe_add_auth()  # one request only when several auth mechanisms are configured
            except jenkins.JenkinsException as exc:
                raise PushError(f"{method} {path}: {exc}") from None
            if crumb:
                self.maybe_add_crumb(request)
            try:
                prepared = self._session.prepare_request(request)
                settings = self._session.merge_environment_settings(prepared.url, {}, None,
                                                                    self._session.verify, None)
                with self._count_lock:
                    self.requests_sent += 1
                response = self._session.send(prepared, timeout=self.timeout, allow_redirects=False,
                                              **settings)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.attempts:
                    raise PushError(f"{method} {path}: no answer after {attempt} attempts ({exc})",
                                    attempts=attempt) from None
                self._pause(attempt, None)
                continue
            if response.status_code in ok:
                return response
            if response.status_code in TRANSIENT_STATUSES and attempt < self.attempts:
                self._pause(attempt, response.headers.get("Retry-After"))
                continue
            hint = REFUSED_HINT if response.status_code in (401, 403) else ""
            raise PushError(f"{method} {path}: {response.status_code} {response.reason}{_detail(response)}{hint}",
                            response.status_code, attempt)
        raise AssertionError("unreachable")

    def maybe_add_crumb(self, req: requests.Request) -> None:
        """python-jenkins's, with the crumb GET retried like every request: there a 502/503
        escapes as a raw HTTPError and a stall as a JenkinsException (reference/jenkins-rest.md
        §1, "Crumb", pj:379-392). Fetched once, under a lock, however many workers send; 404
        (CSRF protection off: Jenkins.java:4061-4064) or an empty body means no crumb is needed."""
        with self._crumb_lock:
            if self.crumb is None:
                response = self._send("GET", "crumbIssuer/api/json", None, None, (200, 404), crumb=False)
                if response.status_code == 404 or not response.content:
                    self.crumb = False
                else:
                    try:
                        self.crumb = json.loads(response.text)
                    except ValueError:
                        raise PushError("GET crumbIssuer/api/json: the answer is not JSON") from None
            crumb = self.crumb
        if crumb:
            req.headers[crumb["crumbRequestField"]] = crumb["crumb"]

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
        self.known_items = {s.name.lower() for s in items.values() if s.kind != ItemKind.VIEW}
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
        """PushError 400 "already exists" with `attempts` > 1: an earlier attempt whose answer
        was lost created it; on the first attempt someone else did (the caller decides)."""
        parent, short = parent_path(full_name)
        try:
            self.send("POST", f"{parent}createItem?name={quote(short, safe='')}", xml, XML_HEADERS)
        except PushError as exc:
            if already_exists(exc):
                self._known(full_name, True)
            raise
        self._known(full_name, True)

    def reconfigure_item(self, full_name: str, xml: bytes) -> None:
        self.send("POST", f"{item_path(full_name)}config.xml", xml, XML_HEADERS)

    def delete_item(self, full_name: str) -> None:
        self._delete(f"{item_path(full_name)}doDelete")
        self._known(full_name, False)

    def create_view(self, name: str, xml: bytes) -> None:
        """Create the view. "Already exists" (Jenkins: 400 "A view already exists with the name …",
        View.create, hudson/model/View.java:1155-1205, reference/jenkins-rest.md §2.8) to a retry
        means an earlier attempt whose answer was lost created it: done. To the first attempt it is
        raised: someone created it after the plan, and the caller judges whose it is."""
        try:
            self.send("POST", f"createView?name={quote(name, safe='')}", xml, XML_HEADERS)
        except PushError as exc:
            if not already_exists(exc) or exc.attempts == 1:
                raise
            log.info("createView %s: a retry found it: the earlier attempt created it", name)

    def reconfigure_view(self, name: str, xml: bytes) -> None:
        self.send("POST", f"view/{quote(name, safe='')}/config.xml", xml, XML_HEADERS)

    def delete_view(self, name: str) -> None:
        self._delete(f"view/{quote(name, safe='')}/doDelete")

    def _delete(self, path: str) -> None:
        """doDelete answers 302 (AbstractItem.doDoDelete, View.doDoDelete); a 404 to a retry
        means an earlier attempt whose answer was lost deleted it (reference/jenkins-rest.md §2.5)."""
        try:
            self.send("POST", path, ok=(200, 302))
        except PushError as exc:
            if exc.status != 404 or exc.attempts == 1:
                raise
            log.info("POST %s: 404 on attempt %d: an earlier attempt deleted it", path, exc.attempts)

    def _known(self, full_name: str, exists: bool) -> None:
        if self.known_items is not None:
            with self._count_lock:
                (self.known_items.add if exists else self.known_items.discard)(full_name.lower())

    def rename_item(self, old: str, new: str) -> None:
        """Rename a job or folder in its parent (a folder moves with everything in it):
        ``POST job/OLD/confirmRename?newName=NEW`` (AbstractItem.doConfirmRename, core/src/main/
        java/hudson/model/AbstractItem.java: needs Item/Configure, or Create on the parent and
        Delete; 302 to the new item; a name in use or a bad name is a Failure, 400 with X-Error).
        A 404 to a retry means an earlier attempt whose answer was lost renamed it."""
        old_parent, _ = parent_path(old)
        new_parent, short = parent_path(new)
        if old_parent != new_parent:
            raise PushError(f"rename {old} to {new}: Jenkins renames an item within its folder only")
        try:
            self.send("POST", f"{item_path(old)}confirmRename?newName={quote(short, safe='')}", ok=(200, 302))
        except PushError as exc:
            if exc.status != 404 or exc.attempts == 1:
                raise
        self._known(old, False)
        self._known(new, True)


def already_exists(exc: PushError) -> bool:
    """createItem/createView's 400 for an existing name (Hudson.JobAlreadyExists,
    Hudson.ViewAlreadyExists in hudson/model/Messages.properties; reference/jenkins-rest.md §2.2, §2.8)."""
    return exc.status == 400 and "already exists" in str(exc)


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
    be all that is missing. Any other entry with a ``jobs`` list is an ItemGroup too, except
    the groups Jenkins fills itself (multibranch projects, organisation folders): those are
    jobs to an updater, and their branch jobs are theirs, not listed."""
    cls = entry.get("_class")
    if cls in jenkins_items.COMPUTED_GROUPS:
        return False
    return cls in FOLDER_CLASSES or isinstance(entry.get("jobs"), list)


def _collect(entries: list | None, prefix: str, items: dict[str, ServerItem]) -> list[str]:
    """Record the listed `entries` (and their listed children) under `prefix` in `items`;
    return the folders whose children this listing did not name."""
    unlisted: list[str] = []
    for entry in entries or []:
        if "name" not in entry:
            continue
        name = f"{prefix}{entry['name']}"
        folder = _is_folder(entry)
        items[name] = ServerItem(name, ItemKind.FOLDER if folder else ItemKind.JOB, entry.get("description"),
                                 entry.get("_class"))
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
