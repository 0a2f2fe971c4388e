"""An emulator of Jenkins's REST layer, over real HTTP on loopback.

It answers the calls python-jenkins 1.8.3 and Jenkins Job Builder 6.5 make the way
shared/reference/jenkins-rest.md says Jenkins does (statuses, messages, check order, crumbs,
401 vs 403, ``api/json`` pruning). It stores and checks configuration; it never runs builds:
a scheduled build leaves the queue after its quiet period as a finished build record, unless a
``job_runner.JobRunner`` is attached, which takes queued builds and runs them on this machine
(its builds answer at ``job/…/<n>/api/json``, ``consoleText`` and ``artifact/…``).

Example::

    import jenkins
    from jjb_envdelivery.testing.jenkins_emulator import Fault, JenkinsEmulator

    with JenkinsEmulator(users={"admin": "secret"}, tokens={"admin": "11aa"},
                         roles={"viewer": "reader"}, seed=7,
                         faults=[Fault("503", rate=0.1, pattern="POST */createItem")]) as emu:
        server = jenkins.Jenkins(emu.url, "admin", "11aa")
        server.create_job("top", "<project/>")
        assert emu.jobs() == ["top"]
        assert emu.job_config("top") == '<?xml version="1.0" encoding="UTF-8"?><project/>'
        writes = [r for r in emu.request_log if r.write]

Constructor keywords: ``host`` (loopback only by default), ``port`` (0 = free port),
``users`` {name: password}, ``tokens`` {name: token or [tokens]}, ``roles`` {name: "admin" |
"editor" | "reader"} (default admin; editor = everything but Overall/SystemRead and
Credentials/View, so ``pluginManager`` answers 403 and the credential stores 404),
``anonymous_read`` (anonymous gets Overall/Read), ``csrf`` (crumbs on, as Jenkins by default),
``faults`` (list of ``Fault`` or their text form, see ``emulator_faults``), ``seed``,
``plugins`` (list of {shortName, version, longName}),
``state_dir`` (persist to ``state_dir/state.json`` after every write and load it at start),
``credentials`` (list of {id, folder?, type?, scope?, description?}: credential IDs, never
secrets, in the system store or a folder's; see ``emulator_credentials``),
``quiet_period`` (seconds before a queued build "runs"), ``build_result``, ``version``
(``X-Jenkins``; also what ``GET config.xml`` answers: before 2.568 the stored file, from 2.568 a
re-serialisation, see ``emulator_xmlfile``). With neither users nor tokens, security is off:
anonymous may do everything.

Beyond python-jenkins' calls (``emulator_forms``): ``api/xml`` and ``api/python`` wherever
``api/json`` answers (``emulator_flavors``), HTTP ``DELETE`` on an item, ``doRename``, ``move/move``,
``submitDescription``, ``checkJobName``, form-mode ``createView``, a ListView's ``addJobToView`` /
``removeJobFromView``, ``createItem?mode=copy`` with a relative ``from``, ``user/<id>/api/json``,
``view/<v>/job/<j>/…``; item types include WorkflowMultiBranchProject and OrganizationFolder.

Properties and methods: ``url``, ``port``, ``request_log`` (list of ``RequestRecord``:
method, path, query, status, write, user, fault), ``clear_log()``, ``jobs()`` (full names,
folders included, depth-first), ``job_config(full_name)`` (exactly what ``GET config.xml``
returns), ``views(folder="")``, ``view_config(name, folder="")``,
``add_credential(id, folder=None, …)``, ``credential_ids(folder=None)``, ``faults`` (the
``FaultPlan``), ``state`` + ``lock`` for direct inspection, ``start()``/``stop()``.

Command line: ``main(["--port", "8080", "--user", "admin:secret", "--token", "admin:11aa"])``
prints ``Jenkins REST emulator listening on http://127.0.0.1:8080/`` and serves until
SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import mimetypes
import secrets
import signal
import socket
import struct
import sys
import threading
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..usage import UsageErrorParser
from . import emulator_forms as forms
from .emulator_api import Beans, Exported, export_tree, make_pruner
from .emulator_credentials import (
    GLOBAL_DOMAIN,
    credential_bean,
    credential_from_dict,
    domain_bean,
    store_bean,
)
from .emulator_faults import Decision, Fault, FaultPlan
from .emulator_flavors import CONTENT_TYPES, UnsupportedXPath, to_json, to_python, to_xml, xml_answer
from .emulator_http import (
    Reply,
    Response,
    _html,
    failure,
    method_not_allowed,
    not_found,
    oops,
    redirect,
)
from .emulator_state import (
    LIST_VIEW,
    XML_DECLARATION,
    Failure,
    Group,
    Item,
    ServerError,
    State,
    View,
    check_good_name,
    raw_encode,
    serialise,
)
from .emulator_xmlfile import serves_stored_file

__all__ = ["Fault", "JenkinsEmulator", "RequestRecord", "main"]

DEFAULT_VERSION = "2.492.3"
MAX_BODY = 64 * 1024 * 1024
REASONS = {500: "Server Error"}  # Jetty's phrase; python-jenkins puts it in its message

# Permalinks of a job's builds (core PermalinkProjectAction.java: Permalink.BUILTIN); builds are
# newest first.
PERMALINKS = {
    "lastBuild": lambda b: True,
    "lastCompletedBuild": lambda b: not b.building,
    "lastSuccessfulBuild": lambda b: b.result in ("SUCCESS", "UNSTABLE"),
    "lastStableBuild": lambda b: b.result == "SUCCESS",
    "lastFailedBuild": lambda b: b.result == "FAILURE",
    "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
    "lastUnsuccessfulBuild": lambda b: b.result not in (None, "SUCCESS"),
}

# Permission → (X-Required-Permission id, name on the access-denied page)
PERMISSIONS = {
    "read": ("hudson.model.Hudson.Read", "Overall/Read"),
    "system_read": ("jenkins.model.Jenkins.SystemRead", "Overall/SystemRead"),
    "extended_read": ("hudson.model.Item.ExtendedRead", "Job/ExtendedRead"),
    "create": ("hudson.model.Item.Create", "Job/Create"),
    "configure": ("hudson.model.Item.Configure", "Job/Configure"),
    "delete": ("hudson.model.Item.Delete", "Job/Delete"),
    "build": ("hudson.model.Item.Build", "Job/Build"),
    "view_create": ("hudson.model.View.Create", "View/Create"),
    "view_configure": ("hudson.model.View.Configure", "View/Configure"),
    "view_delete": ("hudson.model.View.Delete", "View/Delete"),
    # CredentialsProvider.VIEW ([cred] CredentialsProvider.java:186-187): without it a store is
    # not found (404), not forbidden (ViewCredentialsAction.java:184-192).
    "credentials_view": ("com.cloudbees.plugins.credentials.CredentialsProvider.View", "Credentials/View"),
    # RelocationAction.RELOCATE, in Item's permission group (folder@b72f4d5
    # relocate/RelocationAction.java:54-59)
    "move": ("hudson.model.Item.Move", "Job/Move"),
    "administer": ("hudson.model.Hudson.Administer", "Overall/Administer"),
}
ROLES = {
    "admin": set(PERMISSIONS),
    # like a child updater's token: items and views, neither the plugins nor the credential stores
    "editor": set(PERMISSIONS) - {"system_read", "credentials_view", "administer"},
    "reader": {"read"},
}


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # as sent (percent-encoded)
    query: str  # percent-decoded, "" when absent
    status: int | None  # None when a fault sent no response
    write: bool  # the request changed stored state
    user: str = "anonymous"
    fault: str | None = None


# --- the request dispatcher ------------------------------------------------------------------


class Dispatch:
    """One request: authentication, crumbs, permissions, then the URL (§3 of the reference)."""

    def __init__(self, emu: JenkinsEmulator, method: str, raw_path: str, query: str,
                 headers: Any, body: bytes, host: str) -> None:
        self.emu = emu
        self.method = method
        self.raw_path = raw_path
        self.headers = headers
        self.body = body
        self.params: dict[str, str] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            self.params.setdefault(k, v)  # query before form, like getParameter
        self.query = query
        self.content_type = headers.get("Content-Type")
        if (self.content_type or "").startswith("application/x-www-form-urlencoded"):
            for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                self.params.setdefault(k, v)
        self.base = f"http://{host}/"
        self.user = "anonymous"
        self.via_token = False
        self.perms: set[str] = set()
        self.beans = Beans(emu.state, self.base, emu.version)
        self.flavor = "json"  # of api/json, api/xml, api/python (run)
        # what the request went through before the item it ends at (model)
        self.previous: Group | tuple[Group, View] = emu.state.root
        self.beans.use_crumbs = emu.csrf
        self.beans.use_security = emu.security

    # auth ---------------------------------------------------------------------------------

    def authenticate(self) -> None:
        emu = self.emu
        if not emu.security:
            self.perms = set(ROLES["admin"])
            return
        header = self.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            name, sep, secret = decoded.partition(":")
            if sep and secret and secret in emu.tokens.get(name, ()):
                self.user, self.via_token = name, True
            elif sep and name in emu.users and emu.users[name] == secret:
                self.user = name
            else:
                raise Reply(Response(
                    401, _html("Unauthorized", f"Invalid password/token for user: {name}"),
                    "text/html;charset=utf-8", [("WWW-Authenticate", 'Basic realm="Jenkins"')]))
            self.perms = set(ROLES[emu.roles.get(self.user, "admin")])
        elif emu.anonymous_read:
            self.perms = set(ROLES["reader"])

    def need(self, perm: str) -> None:
        if perm in self.perms:
            return
        perm_id, perm_name = PERMISSIONS[perm]
        headers = [("X-You-Are-Authenticated-As", self.user),
                   ("X-You-Are-In-Group-Disabled", "JENKINS-39402: use -Dhudson.security."
                    "AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to "
                    "diagnose"),
                   ("X-Required-Permission", perm_id)]
        if self.user == "anonymous":
            body = _html("Authentication required", "Authentication required")
            headers.append(("Refresh", "0; url=" + self.base + "login"))
        else:
            body = _html("Access Denied", f"{self.user} is missing the {perm_name} permission")
        raise Reply(Response(403, body, "text/html;charset=utf-8", headers))

    def session_id(self) -> str | None:
        cookies = self.headers.get_all("Cookie") or []
        for cookie in cookies:
            for part in cookie.split(";"):
                key, _, value = part.strip().partition("=")
                if key == self.emu.cookie_name and value in self.emu.sessions:
                    return value
        return None

    def crumb(self, session: str) -> str:
        text = f"{self.user};{session}{self.emu.crumb_salt}"
        return hashlib.sha256(text.encode()).hexdigest()

    def check_crumb(self) -> None:
        if self.method != "POST" or not self.emu.csrf or self.via_token:
            return
        sent = self.headers.get("Jenkins-Crumb") or self.params.get("Jenkins-Crumb")
        session = self.session_id()
        if sent and session and secrets.compare_digest(sent, self.crumb(session)):
            return
        raise Reply(Response(403, _html("Forbidden", "No valid crumb was included in the request"),
                             "text/html;charset=utf-8"))

    # dispatch -----------------------------------------------------------------------------

    def run(self) -> Response:
        self.authenticate()
        self.check_crumb()
        raw = self.raw_path.split("/")[1:]
        if raw and raw[-1] == "":
            raw.pop()
        segs = [unquote(s) for s in raw]
        # Api.doJson / doXml / doPython (core hudson/model/Api.java:104-296): one bean, three
        # flavours (emulator_flavors); below, every "api/json" also stands for the other two.
        self.flavor = "json"
        if segs[-2:] in (["api", "xml"], ["api", "python"]):
            self.flavor, segs[-1] = segs[-1], "json"
        if segs == ["login"]:
            return self.page("Log in")
        self.need("read")
        if self.emu.state.advance_queue():
            self.emu.dirty = True
        head = segs[:1]
        if segs == ["crumbIssuer", "api", "json"]:
            return self.crumb_issuer()
        if segs == ["pluginManager", "api", "json"]:
            self.need("system_read")
            return self.json(self.beans.plugins())
        if segs in (["me", "api", "json"], ["whoAmI", "api", "json"]):
            return self.json(self.beans.user(self.user, "administer" in self.perms))
        if head == ["user"] and len(segs) >= 2:
            return forms.user(self, segs[1], segs[2:])
        if head == ["queue"]:
            return self.queue(segs[1:])
        return self.model(segs, raw)

    def page(self, title: str) -> Response:
        return Response(200, _html(title, title), "text/html;charset=utf-8",
                        [("X-Hudson", "1.395")])

    def json(self, bean: Any) -> Response:
        """The bean in the request's flavour: api/json, api/xml (with xpath, wrapper, exclude)
        or api/python."""
        if self.method not in ("GET", "HEAD", "POST"):
            raise not_found()
        try:
            pruner = make_pruner(self.params)
            tree = export_tree(bean, pruner)
        except ValueError:
            raise oops() from None  # malformed tree/depth → ServletException → 500
        if self.flavor == "python":
            return Response(200, to_python(tree).encode("utf-8"), CONTENT_TYPES["python"])
        if self.flavor == "xml":
            xml = to_xml(tree, bean.cls)
            excludes = [v for k, v in parse_qsl(self.query, keep_blank_values=True) if k == "exclude"]
            if "xpath" not in self.params and not excludes:
                return Response(200, xml.encode("utf-8"), CONTENT_TYPES["xml"])
            try:
                answer = xml_answer(xml, self.params, excludes)
            except UnsupportedXPath:
                raise oops() from None  # Jenkins: an XPath it cannot compile is a 500 too
            return Response(answer.status, answer.body.encode("utf-8"), answer.content_type)
        return Response(200, to_json(tree).encode("utf-8"), CONTENT_TYPES["json"])

    def crumb_issuer(self) -> Response:
        if not self.emu.csrf:
            raise not_found()
        headers = []
        session = self.session_id()
        if session is None:  # req.getSession() creates one and sets the cookie
            session = f"node0{secrets.token_hex(12)}"
            self.emu.sessions.add(session)
            headers.append(("Set-Cookie", f"{self.emu.cookie_name}={session}; Path=/; "
                                          "HttpOnly"))
        # CrumbIssuer's exports (core hudson/security/csrf/CrumbIssuer.java:55-75)
        bean = Exported("hudson.security.csrf.DefaultCrumbIssuer", [
            ("crumb", 1, self.crumb(session)), ("crumbRequestField", 1, "Jenkins-Crumb")])
        response = self.json(bean)
        response.headers.extend(headers)
        return response

    def queue(self, rest: list[str]) -> Response:
        if rest == ["api", "json"]:
            return self.json(self.beans.queue())
        if len(rest) >= 2 and rest[0] == "item" and rest[1].isdigit():
            q = self.emu.state.queue.get(int(rest[1])) or self.emu.state.cancelled.get(int(rest[1]))
            if q is None:
                raise not_found()
            if rest[2:] == ["api", "json"]:
                return self.json(self.beans.queue_item(q))
            if rest[2:] == []:
                return self.page(f"Queue item {q.id}")
        raise not_found()

    def model(self, segs: list[str], raw: list[str]) -> Response:
        state = self.emu.state
        group: Group = state.root
        item: Item | None = None
        # What the request went through before the item it ends at: the root, a folder, or a
        # (owner, view) when it came as view/V/job/J (View.getJob: the owner's item, core
        # View.java:221-230); doDelete redirects there (AbstractItem.java:716-735).
        last: Group | tuple[Group, View] = group
        self.previous = last
        i = 0
        while i < len(segs) and (item is None or item.is_folder):
            if segs[i] == "job":
                if i + 1 >= len(segs):
                    raise not_found()
                found = group.get_item(segs[i + 1])
                if found is None:
                    raise not_found()
                self.previous, last, item = last, found, found
                self.beans.ancestors[id(found)] = "/".join(raw[:i + 2]) + "/"
                if found.is_folder:
                    group = found
                i += 2
            elif segs[i] == "view" and segs[i + 2:i + 3] == ["job"]:
                last = (group, self.find_view(group, segs[i + 1]))
                i += 2
            else:
                break
        rest = segs[i:]
        is_group = item is None or item.is_folder
        if rest[:1] == ["view"] and len(rest) >= 2 and is_group:
            return self.view(group, rest[1], rest[2:])
        if rest == ["createItem"] and is_group:
            return self.create_item(group)
        if rest == ["createView"] and is_group:
            return self.create_view(group)
        if rest == ["checkJobName"] and is_group:  # the primary view's, via StaplerFallback
            return forms.check_job_name(self, group)
        if rest == ["api", "json"]:
            return self.json(self.beans.item(item) if item else self.beans.root())
        if rest == [] and item is not None and self.method == "DELETE":
            return self.http_delete(item)
        if rest == [] or (rest == ["configure"] and item is not None):
            return self.page(item.full_name if item else "Dashboard")
        if rest[:2] == ["credentials", "store"] and is_group:
            return self.credential_store(item, rest[2:])
        if item is None:
            raise not_found()
        if rest == ["config.xml"]:
            return self.item_config(item)
        if rest == ["doDelete"]:
            return self.delete_item(item)
        if rest == ["confirmRename"] or (rest == ["doRename"] and not item.is_folder):
            return self.rename_item(item)
        if rest in (["enable"], ["disable"]):
            return self.enable(item, rest[0] == "enable")
        if rest == ["submitDescription"]:
            return forms.submit_description(self, item)
        if rest[:1] == ["move"] and not (isinstance(item.parent, Item) and item.parent.type.computed):
            return forms.move(self, item, rest[1:])
        if rest in (["build"], ["buildWithParameters"]) and not item.is_folder:
            return self.build(item, rest[0])
        if rest and not item.is_folder and (rest[0].isdigit() or rest[0] in PERMALINKS):
            build = self.find_build(item, rest[0])
            if build is None:
                raise not_found()
            if rest[1:] == ["api", "json"]:
                return self.json(self.beans.build(item, build))
            if rest[1:] == []:
                return self.page(f"{item.full_name} #{build.number}")
            if rest[1:] == ["consoleText"]:
                return self.console_text(build)
            if rest[1:2] == ["artifact"] and len(rest) > 2:
                return self.artifact(build, rest[2:])
        raise not_found()

    def credential_store(self, folder: Item | None, rest: list[str]) -> Response:
        """``credentials/store/<system|folder>/[domain/<d>/[credential/<id>/]]api/json`` of the
        root or a folder (emulator_credentials). IDs, scopes and types only: there is no secret
        to give away."""
        kind = "system" if folder is None else "folder"
        # ViewCredentialsAction.getStore: no store by that name, or no Credentials/View -> null -> 404
        if rest[:1] != [kind] or "credentials_view" not in self.perms:
            raise not_found()
        credentials = self.emu.state.credentials_of(folder)
        full_name = kind if folder is None else f"{folder.full_name}/{kind}"
        rest = rest[1:]
        if rest == ["api", "json"]:
            return self.json(store_bean(kind, credentials, full_name, Exported))
        if len(rest) >= 2 and rest[0] == "domain":
            domain = rest[1]
            if domain not in {GLOBAL_DOMAIN} | {c.domain for c in credentials}:
                raise not_found()
            if rest[2:] == ["api", "json"]:
                return self.json(domain_bean(domain, credentials, full_name, Exported))
            if len(rest) == 6 and rest[2] == "credential" and rest[4:] == ["api", "json"]:
                found = next((c for c in credentials if c.domain == domain and c.id == rest[3]), None)
                if found is not None:
                    return self.json(credential_bean(found, f"{full_name}/{domain}", Exported))
        raise not_found()

    @staticmethod
    def find_build(item: Item, ref: str):
        """A build by number or permalink (core PermalinkProjectAction.Permalink.BUILTIN)."""
        if ref.isdigit():
            return next((b for b in item.builds if b.number == int(ref)), None)
        return next((b for b in item.builds if PERMALINKS[ref](b)), None)

    def console_text(self, build) -> Response:
        if build.log_path is None:  # a simulated build: nothing ran
            text = (f"The REST emulator simulated this build; nothing ran.\n"
                    f"Finished: {build.result}\n")
            return Response(200, text.encode(), "text/plain;charset=UTF-8")
        try:
            body = build.log_path.read_bytes()
        except OSError:
            raise not_found() from None
        return Response(200, body, "text/plain;charset=UTF-8")

    def artifact(self, build, parts: list[str]) -> Response:
        root = build.archive_dir
        relative = "/".join(parts)
        if root is None or relative not in build.artifacts or ".." in parts:
            raise not_found()
        try:
            body = (root / relative).read_bytes()
        except OSError:
            raise not_found() from None
        ctype = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        return Response(200, body, ctype)

    # items --------------------------------------------------------------------------------

    def create_item(self, parent: Group) -> Response:
        if self.method != "POST":
            raise method_not_allowed()
        if isinstance(parent, Item) and parent.type.computed:
            # No Folder.doCreateItem: Stapler falls back to the primary view, whose doCreateItem
            # returns null when the group is not a ModifiableItemGroup (core AllView.java:95-103):
            # 200, empty, nothing created.
            return Response(200)
        self.need("create")
        mode = self.params.get("mode")
        ctype = self.content_type
        if ctype is None and mode != "copy":
            raise failure("No Content-Type header set")
        is_xml = ctype is not None and ctype.startswith(("application/xml", "text/xml"))
        name = self.params.get("name")
        if name is None:
            raise failure("Query parameter 'name' is required")
        try:
            name = check_good_name(name)
        except Failure as exc:
            raise failure(str(exc)) from None
        if parent.get_item(name) is not None:
            raise failure(f"A job already exists with the name ‘{name}’")
        state = self.emu.state
        if mode == "copy":
            # Jenkins.getItem(from, parent): relative to the target folder, then by full name
            # (core ItemGroupMixIn.java:174-188, Jenkins.java:3018-3060)
            source = forms.resolve_item(state, self.params.get("from"), parent)
            if source is None:
                if not self.params.get("from"):
                    raise failure("Specify which job to copy")
                raise failure(f"No such job: {self.params['from']}")
            self.need("extended_read")
            created = state.copy_item(parent, name, source)
        elif is_xml:
            try:
                state.create_item(parent, name, self.body)
            except ServerError:
                raise oops() from None  # nothing was stored
            return Response(200, write=True)
        else:
            if not mode:
                raise failure("No mode given")
            try:
                created = state.create_item_of_class(parent, name, mode)
            except Failure as exc:
                raise failure(str(exc)) from None
        return redirect(self.base + created.path + "configure")

    def item_config(self, item: Item) -> Response:
        if self.method == "GET":
            self.need("extended_read")
            body = self.emu.config_file(item).encode("utf-8")
            return Response(200, body, "application/xml")
        if self.method == "POST":
            self.need("configure")
            try:
                self.emu.state.update_item(item, self.body)
            except ServerError:
                raise oops() from None  # old config kept
            return Response(200, write=True)
        return Response(400, _html("Bad Request", "Bad Request"), "text/html;charset=utf-8")

    def delete_item(self, item: Item) -> Response:
        """doDoDelete: 302 to what the request came through before the item, a view or a
        folder or the root (core AbstractItem.java:716-735)."""
        if self.method != "POST":
            raise method_not_allowed()
        self.need("delete")
        self.emu.state.delete_item(item)
        before = self.previous
        if isinstance(before, tuple):
            return redirect(self.beans.view_url(*before))
        return redirect(self.base + self.beans.path_of(before))

    def http_delete(self, item: Item) -> Response:
        """HTTP DELETE on the item's URL: AbstractItem is HttpDeletable, whose dispatcher calls
        delete(req, rsp) when no URL token is left (stapler@135bbbc8 HttpDeletable.java:75-87);
        Item/Delete, then 204 (core AbstractItem.java:741-760). CrumbFilter checks POST only
        (core hudson/security/csrf/CrumbFilter.java:125), so no crumb is needed."""
        self.need("delete")
        self.emu.state.delete_item(item)
        return Response(204, write=True)

    def rename_item(self, item: Item) -> Response:
        """AbstractItem.doConfirmRename (@RequirePOST): Item/Configure, or Create on the parent and
        Delete; the trimmed new name checked like a created one, then "unchanged" and "in use"
        as Failures (400 with X-Error); the item moves with everything in it; 302 to "../NEW"."""
        if self.method != "POST":
            raise method_not_allowed()
        if "configure" not in self.perms:
            self.need("create")
            self.need("delete")
        new = self.params.get("newName")
        try:
            new = check_good_name(new)
        except Failure as exc:
            raise failure(str(exc)) from None
        if new == item.name:
            raise failure("The new name is the same as the current name.")
        if item.parent.get_item(new) is not None:
            raise failure(f"The name “{new}” is already in use.")
        if not item.is_folder and item.builds and item.builds[0].building:
            raise failure("Unable to rename a job while it is building.")  # Job.checkRename, Job.java:1689-1694
        old_path = self.beans.path_of(item)
        self.emu.state.rename_item(item, new)
        # redirectTo("../" + newName), relative to the item's URL as requested
        return redirect(self.base + old_path[:old_path.rstrip("/").rfind("/") + 1] + raw_encode(new))

    def enable(self, item: Item, enable: bool) -> Response:
        """ParameterizedJobMixIn.doEnable/doDisable (core ParameterizedJobMixIn.java:539-553) and
        AbstractFolder's (folder@b72f4d5 AbstractFolder.java:1069-1093): Configure, makeDisabled
        (nothing on a plain Folder, which cannot be disabled), 302 to ".". Disabling a job
        cancels its waiting queue item (ParameterizedJobMixIn.java:525-527)."""
        if self.method != "POST":
            raise method_not_allowed()
        self.need("configure")
        changed = item.set_disabled(not enable)
        if changed and not enable and not item.is_folder:
            self.emu.state.cancel_queued(item)
        return redirect(self.base + self.beans.path_of(item), write=changed)

    def build(self, item: Item, endpoint: str) -> Response:
        if self.method != "POST":
            raise method_not_allowed()
        token = item.root().findtext("authToken")
        if not (token and self.params.get("token") == token):
            self.need("build")
        if not item.buildable:  # disabled, or copied and not saved since (Job.holdOffBuildUntilSave)
            bang = "!" if endpoint == "buildWithParameters" else ""  # ParameterizedJobMixIn.java:203-241
            return Response(409, _html("Conflict", f"{item.full_name} is not buildable{bang}"),
                            "text/html;charset=utf-8")
        if endpoint == "build" and item.parameterized:
            # Unconfirmed: /build of a parameterized job wants the form submission.
            raise failure("This page expects a form submission but had only {}")
        if endpoint == "buildWithParameters" and not item.parameterized:
            raise oops()  # IllegalStateException: "This build is not parameterized!"
        delay = self.params.get("delay", "").removesuffix("sec")
        quiet = item.quiet_period()
        try:
            seconds = float(delay) if delay else (quiet if quiet is not None
                                                  else self.emu.quiet_period)
        except ValueError:
            seconds = self.emu.quiet_period
        # A ParametersAction of one value per definition (forms.queued_parameters); a plain build
        # has none. Queue.schedule2 folds this into a waiting item with equal values.
        params, values = ("", {}) if endpoint == "build" else forms.queued_parameters(self, item)
        before = self.emu.state.next_queue_id
        # Cause.UserIdCause of the requesting user (core Cause.java; "Started by user {0}")
        cause = {"_class": "hudson.model.Cause$UserIdCause",
                 "shortDescription": f"Started by user {self.user}",
                 "userId": None if self.user == "anonymous" else self.user,
                 "userName": self.user}
        q = self.emu.state.schedule(item, params, seconds, causes=[cause], parameters=values)
        merged = q.id < before
        location = f"{self.base}queue/item/{q.id}/"
        if endpoint == "buildWithParameters" and merged:
            # ParametersDefinitionProperty.buildWithParameters: a folded request is 303 to the
            # waiting item, a new one 201 (core ParametersDefinitionProperty.java:216-227)
            return redirect(location, 303, write=False)
        return Response(201, headers=[("Location", location)], write=not merged)

    # views --------------------------------------------------------------------------------

    def find_view(self, owner: Group, name: str) -> View:
        view = owner.get_view(name)
        if view is None and owner is self.emu.state.root and name == "All":
            view = owner.get_view("all")  # AllView: the localised "All" finds "all"
        if view is None:
            raise not_found()
        return view

    def view(self, owner: Group, name: str, rest: list[str]) -> Response:
        view = self.find_view(owner, name)
        if rest == ["api", "json"]:
            return self.json(self.beans.view(owner, view))
        if rest == []:
            return self.page(view.name)
        if rest == ["config.xml"]:
            return self.view_config(view)
        if rest == ["checkJobName"]:
            return forms.check_job_name(self, owner)
        if rest in (["addJobToView"], ["removeJobFromView"]) and view.type.root == LIST_VIEW:
            return forms.list_view_job(self, owner, view, rest[0] == "addJobToView")
        if rest == ["doDelete"]:
            if self.method != "POST":
                raise method_not_allowed()
            self.need("view_delete")
            try:
                self.emu.state.delete_view(owner, view)
            except ServerError:
                raise oops() from None
            return redirect(self.base + owner.path)
        raise not_found()

    def view_config(self, view: View) -> Response:
        if self.method == "GET":
            self.need("read")
            return Response(200, (XML_DECLARATION + view.config).encode("utf-8"),
                            "application/xml")
        if self.method == "POST":
            self.need("view_configure")
            try:
                self.emu.state.update_view(view, self.body)
            except ServerError:
                raise oops() from None
            return Response(200, write=True)
        return Response(400, _html("Bad Request", "Bad Request"), "text/html;charset=utf-8")

    def create_view(self, owner: Group) -> Response:
        if self.method != "POST":
            raise not_found()  # @POST: GET does not match at all
        self.need("view_create")
        mode = self.params.get("mode")
        ctype = self.content_type
        if ctype is None and mode != "copy":
            raise failure("No Content-Type header set")
        is_xml = ctype is not None and ctype.startswith(("application/xml", "text/xml"))
        name = self.params.get("name")
        try:
            name = check_good_name(name)
        except Failure as exc:
            raise failure(str(exc)) from None
        if owner.get_view(name) is not None:
            raise failure(f'A view already exists with the name "{name}"')
        if not mode:
            if not is_xml:
                raise failure("No view type is specified")
            try:
                self.emu.state.create_view(owner, name, self.body)
            except ServerError:
                raise oops() from None
            return Response(200, write=True)
        return forms.create_view_of_mode(self, owner, name, mode)


# --- HTTP plumbing ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emu: JenkinsEmulator) -> None:
        self.emu = emu
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so Content-Length on every response
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
    # client's delayed ACK add about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "jjb-envdelivery-rest-emulator"
    sys_version = ""
    timeout = 60  # bounds idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emu.verbose:
            sys.stderr.write("rest-emulator: " + (format % args) + "\n")

    def do_GET(self) -> None:
        self.handle_any("GET")

    def do_POST(self) -> None:
        self.handle_any("POST")

    def do_PUT(self) -> None:
        self.handle_any("PUT")

    def do_DELETE(self) -> None:
        self.handle_any("DELETE")

    def do_HEAD(self) -> None:
        self.handle_any("HEAD")

    def handle_any(self, method: str) -> None:
        emu = self.server.emu
        split = urlsplit(self.path)
        raw_path, query = split.path or "/", split.query
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self.send(Response(413, b"Too large"))
            return
        body = self.rfile.read(length) if length else b""
        decision = emu.faults.decide(method, raw_path)
        if decision.delay and emu.stopping.wait(decision.delay):
            self.close_connection = True
            return
        if decision.action in ("reset", "stall"):
            self.fault_close(decision)
            emu.record(RequestRecord(method, raw_path, unquote(query), None, False,
                                     fault=decision.label))
            return
        if decision.action == "status":
            response = Response(decision.status or 503,
                                _html("Service Unavailable", "Injected fault"),
                                "text/html;charset=utf-8")
            user = "anonymous"
        else:
            host = self.headers.get("Host") or f"{emu.host}:{emu.port}"
            dispatch = Dispatch(emu, method, raw_path, query, self.headers, body, host)
            with emu.lock:
                try:
                    response = dispatch.run()
                except Reply as reply:
                    response = reply.response
                except Exception:  # noqa: BLE001 - a bug here must look like Jenkins's Oops page, not hang
                    traceback.print_exc(file=sys.stderr)
                    response = oops().response
                if response.write or emu.dirty:
                    emu.dirty = False
                    emu.persist()
            user = dispatch.user
        if decision.action == "lost":
            # Handled and persisted above; the answer never leaves: RST instead of the response.
            self.fault_close(decision)
            emu.record(RequestRecord(method, raw_path, unquote(query), None, response.write, user,
                                     decision.label))
            return
        emu.record(RequestRecord(method, raw_path, unquote(query), response.status,
                                 response.write, user, decision.label))
        self.send(response, head=method == "HEAD")

    def fault_close(self, decision: Decision) -> None:
        self.close_connection = True
        if decision.action == "stall":
            self.server.emu.stopping.wait(decision.seconds)  # bounded; stop() cuts it short
        # SO_LINGER 0: the final close sends RST, so the client sees a reset, not an EOF.
        # close() now, before socketserver's shutdown(SHUT_WR) could send a FIN first.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def send(self, response: Response, head: bool = False) -> None:
        emu = self.server.emu
        reason = REASONS.get(response.status)
        self.send_response(response.status, reason)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Jenkins", emu.version)
        self.send_header("X-Jenkins-Session", emu.session_tag)
        self.send_header("X-Frame-Options", "deny")
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)


# --- public API -------------------------------------------------------------------------------


class JenkinsEmulator:
    """The emulator as a context manager; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: dict[str, str] | None = None,
        tokens: dict[str, str | list[str]] | None = None,
        roles: dict[str, str] | None = None,
        anonymous_read: bool = False,
        csrf: bool = True,
        faults: list[Fault | str] | None = None,
        seed: int = 0,
        plugins: list[dict[str, Any]] | None = None,
        state_dir: str | Path | None = None,
        quiet_period: float = 5.0,
        build_result: str = "SUCCESS",
        version: str = DEFAULT_VERSION,
        verbose: bool = False,
        credentials: list[dict[str, Any]] | None = None,
    ) -> None:
        self.host = host
        self.users = dict(users or {})
        self.tokens = {k: [v] if isinstance(v, str) else list(v)
                       for k, v in (tokens or {}).items()}
        self.roles = dict(roles or {})
        for name, role in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"role of {name}: {role!r} is not one of {sorted(ROLES)}")
        self.security = bool(self.users or self.tokens)
        self.anonymous_read = anonymous_read
        self.csrf = csrf
        self.faults = FaultPlan([f if isinstance(f, Fault) else Fault.parse(f)
                                 for f in faults or []], seed)
        self.quiet_period = quiet_period
        self.version = version
        self.verbose = verbose
        self.state_dir = Path(state_dir) if state_dir else None
        self.state = State(plugins=list(plugins) if plugins is not None else State().plugins,
                           build_result=build_result)
        if self.state_dir:
            self.state.load(self.state_dir)
        for entry in credentials or []:
            folder, credential = credential_from_dict(entry)
            self.state.add_credential(folder, credential)
        self.lock = threading.RLock()
        self.dirty = False
        self.stopping = threading.Event()
        self.sessions: set[str] = set()
        self.crumb_salt = secrets.token_hex(16)
        self.session_tag = secrets.token_hex(4)
        self.cookie_name = f"JSESSIONID.{secrets.token_hex(4)}"
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = port

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> JenkinsEmulator:
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _Server((self.host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"rest-emulator-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()  # wakes stalls and latencies
        server.shutdown()
        with server.conn_lock:
            for conn in list(server.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> JenkinsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # inspection ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}/"

    def record(self, rec: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(rec)

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def jobs(self) -> list[str]:
        with self.lock:
            return [i.full_name for i in self.state.all_items()]

    def job_config(self, full_name: str) -> str:
        """What ``GET job/…/config.xml`` returns; KeyError when there is no such item."""
        with self.lock:
            item = self.state.find(full_name)
            if item is None:
                raise KeyError(full_name)
            return self.config_file(item)

    def config_file(self, item: Item) -> str:
        """``GET config.xml`` as the reported version answers it (emulator_xmlfile): before 2.568
        the stored file (AbstractItem.writeConfigDotXml, core AbstractItem.java:881-897 at
        jenkins-2.492.3), from 2.568 an XStream re-serialisation (SECURITY-3744)."""
        if serves_stored_file(self.version):
            return item.file_text
        return XML_DECLARATION + serialise(item.root())

    def _owner(self, folder: str) -> Group:
        owner = self.state.find(folder) if folder else self.state.root
        if owner is None or (isinstance(owner, Item) and not owner.is_folder):
            raise KeyError(folder)
        return owner

    def views(self, folder: str = "") -> list[str]:
        with self.lock:
            return [v.name for v in self._owner(folder).sorted_views()]

    def view_config(self, name: str, folder: str = "") -> str:
        with self.lock:
            view = self._owner(folder).get_view(name)
            if view is None:
                raise KeyError(name)
            return XML_DECLARATION + view.config

    def add_credential(self, credential_id: str, folder: str | None = None, type: str = "file",
                       scope: str = "GLOBAL", description: str = "") -> None:
        """Seed a credential (an ID, never a secret) into the system store (`folder` None) or the
        store of the folder with that full name; a folder created later gets it on creation."""
        folder, credential = credential_from_dict({"id": credential_id, "folder": folder, "type": type,
                                                   "scope": scope, "description": description})
        with self.lock:
            self.state.add_credential(folder, credential)
            self.dirty = True

    def credential_ids(self, folder: str | None = None) -> list[str]:
        """The IDs in the system store (None) or in the folder's store; KeyError for no folder."""
        with self.lock:
            owner = None if folder is None else self._owner(folder)
            return [c.id for c in self.state.credentials_of(owner)]  # type: ignore[arg-type]

    def persist(self) -> None:
        if self.state_dir:
            self.state.save(self.state_dir)


# --- command line -----------------------------------------------------------------------------


def _pair(text: str) -> tuple[str, str]:
    name, sep, secret = text.partition(":")
    if not sep or not name or not secret:
        raise argparse.ArgumentTypeError(f"expected NAME:SECRET, got {text!r}")
    return name, secret


def _role(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("=")
    if not sep or role not in ROLES:
        raise argparse.ArgumentTypeError(f"expected NAME={'|'.join(ROLES)}, got {text!r}")
    return name, role


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _credential(text: str) -> dict[str, str]:
    """``ID[@FOLDER][:SCOPE]``: the system store unless a folder is named; GLOBAL scope unless
    SYSTEM is given (Jenkins allows neither '@' nor ':' in item names)."""
    rest, _, scope = text.partition(":")
    credential_id, _, folder = rest.partition("@")
    entry = {"id": credential_id, "scope": scope or "GLOBAL"}
    if folder:
        entry["folder"] = folder
    try:
        credential_from_dict(entry)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return entry


def _load_plugins(path: str) -> list[dict[str, Any]]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, list) or not all(isinstance(p, dict) and "shortName" in p
                                             for p in data):
        raise ValueError(f"{path}: expected a list of {{shortName, version, longName}}")
    return data


def build_parser() -> argparse.ArgumentParser:
    p = UsageErrorParser(prog="jjb-envdelivery emulator",
                         description="Serve a Jenkins REST emulator on loopback.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    p.add_argument("--state-dir", help="persist state here (state.json) across restarts")
    p.add_argument("--user", action="append", type=_pair, default=[], metavar="NAME:PASSWORD")
    p.add_argument("--token", action="append", type=_pair, default=[], metavar="NAME:TOKEN",
                   help="API token (exempt from crumbs)")
    p.add_argument("--role", action="append", type=_role, default=[],
                   metavar="NAME=admin|editor|reader", help="default admin")
    p.add_argument("--anonymous-read", action="store_true", help="anonymous has Overall/Read")
    p.add_argument("--no-csrf", action="store_true", help="crumbs off (crumbIssuer answers 404)")
    p.add_argument("--fault", action="append", type=_fault, default=[],
                   metavar="KIND:RATE[:SECONDS][:xLIMIT][@PATTERN]",
                   help="KIND: a status (500, 502, 503...), reset, latency, stall or lost; "
                        "PATTERN: glob on 'METHOD /path'")
    p.add_argument("--seed", type=int, default=0, help="fault seed")
    p.add_argument("--plugins", help="YAML/JSON list of {shortName, version, longName}")
    p.add_argument("--credential", action="append", type=_credential, default=[],
                   metavar="ID[@FOLDER][:SCOPE]",
                   help="a credential ID (no secret) in the system store, or in FOLDER's store; "
                        "scope GLOBAL (default) or SYSTEM")
    p.add_argument("--quiet-period", type=float, default=5.0)
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    users, tokens = dict(args.user), {}
    for name, token in args.token:
        tokens.setdefault(name, []).append(token)
    try:
        plugins = _load_plugins(args.plugins) if args.plugins else None
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1  # an unreadable file, not a usage error (64)
    emu = JenkinsEmulator(host=args.host, port=args.port, users=users, tokens=tokens,
                          roles=dict(args.role), anonymous_read=args.anonymous_read,
                          csrf=not args.no_csrf, faults=args.fault, seed=args.seed,
                          plugins=plugins, state_dir=args.state_dir,
                          quiet_period=args.quiet_period, verbose=args.verbose,
                          credentials=args.credential)
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with emu:
            print(f"Jenkins REST emulator listening on {emu.url}", flush=True)
            while not done.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Jenkins REST emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
