"""A Skytap REST API emulator on 127.0.0.1, for the skytap provider's tests.

It follows the checklist of shared/reference/skytap-api.md §5: Basic auth (401), ``Accept``
required (406), ``/v2/`` prefix and ``.json`` suffix accepted; environments ("configurations")
created from a template are ``busy`` for ``busy_polls`` GETs and then ``stopped``; creating one
from a template that does not exist is a 404; a runstate PUT answers at once and the environment
is ``busy`` before settling (``halted`` settles as ``stopped``; invalid transitions are 422);
saving an environment as a template (``POST /templates {configuration_id, name?}``, §1.3) makes a
template with ``busy: true`` for ``busy_polls`` GETs; lists page with ``count``/``offset`` and
``Content-Range``; deletes answer 200 and then 404; mutations of a busy resource are 423.

Limits: names up to 255 characters, descriptions up to 1000 (help.skytap.com/API_Documentation.html,
environments resource model: "Limited to 255 characters" / "Limited to 1000 characters"; the
template model is assumed to be the same). Longer values are refused with a 422 (the documented
code for a semantic error, §2.2), and nothing is changed.

Faults, seeded or counted:
- refusals (§2.2): every mutation is refused with a 423, a 429 (with ``Retry-After``) or a 422
  "busy" with probability ``storm_rate``; ``storm(n)`` refuses the next n mutations;
  ``conflict_next`` / ``conflicts(n)`` answer the next mutation(s) with 409;
- ``server_errors(n, applied=...)``: the next n requests of the given methods answer 500, either
  refused (nothing happened) or after taking effect (the answer is lost, §2.4 item 6);
- ``drops(n)``: the next n mutations take effect and the connection closes without an answer;
- ``unapplied(n)``: the next n PUTs answer 200 and change nothing (§2.1: "the API may return a
  200 status code for a PUT or POST request even if the VM is busy and can't be edited");
- ``hold(method, path)``: a request is held (before or after it takes effect) until the test
  releases it: the kill tests stop a CLI process exactly there. One held before taking effect
  can be dropped on release, as if its client had died before sending it.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME_LIMIT = 255
DESCRIPTION_LIMIT = 1000
MUTATIONS = ("POST", "PUT", "DELETE")


@dataclass
class Hold:
    """A request held by the emulator: ``reached`` is set when it arrives, and it is answered once
    ``release`` is set. ``after``: it has already taken effect when held."""

    method: str
    pattern: str
    after: bool
    skip: int = 0  # matching requests to let through first
    # Held before taking effect, then dropped unanswered: the client died before it sent it.
    dropped: bool = False
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.pattern, path) is not None


class SkytapEmulator:
    def __init__(self, user="ci", token="tok-123", busy_polls=2, storm_rate=0.0, retry_after="0", seed=0):
        self.user, self.token = user, token
        self.busy_polls = busy_polls
        self.storm_rate = storm_rate
        self.retry_after = retry_after
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.configurations: dict[str, dict] = {}
        self.templates: dict[str, dict] = {}
        self.next_id = 1000
        self.pending_storm = 0
        self.storm_kind = None
        self.conflict_next = False
        self.pending_conflicts = 0
        self.pending_errors: list[tuple[tuple[str, ...], bool]] = []
        self.pending_drops = 0
        self.pending_unapplied = 0
        self.holds: list[Hold] = []
        self.log: list[tuple[str, str, int]] = []
        self.add_template("base", description="the base image")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- test controls ------------------------------------------------------------------------
    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        for hold in self.holds:
            hold.release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def storm(self, count: int, kind: str | None = None) -> None:
        """Refuse the next `count` mutations with `kind` ("423", "429", "422"), or a random one."""
        self.pending_storm += count
        self.storm_kind = kind

    def conflicts(self, count: int) -> None:
        self.pending_conflicts += count

    def server_errors(self, count: int, applied: bool = False, methods: tuple[str, ...] = MUTATIONS) -> None:
        """The next `count` requests of `methods` answer 500; `applied`: after taking effect."""
        self.pending_errors += [(methods, applied)] * count

    def drops(self, count: int) -> None:
        """The next `count` mutations take effect, then the connection closes unanswered."""
        self.pending_drops += count

    def unapplied(self, count: int) -> None:
        """The next `count` PUTs answer 200 without changing anything."""
        self.pending_unapplied += count

    def hold(self, method: str, pattern: str, after: bool = False, skip: int = 0) -> Hold:
        """Hold the request `method` on a path matching `pattern` (without /v2 and .json) that
        comes after `skip` matching ones."""
        hold = Hold(method, pattern, after, skip)
        self.holds.append(hold)
        return hold

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def add_template(self, name: str, description: str = "") -> str:
        tid = self.new_id()
        self.templates[tid] = {"id": tid, "name": name, "description": description, "busy_left": 0,
                               "vm_count": 1, "region": "US-West", "created_at": "2024/01/01 00:00:00 +0000"}
        return tid

    def statuses(self, code: int) -> int:
        return sum(1 for _, _, status in self.log if status == code)

    # -- behaviour ----------------------------------------------------------------------------
    def fault(self, method: str):
        """A refused mutation (status, body, headers), or None."""
        if method == "GET":
            return None
        if self.conflict_next or self.pending_conflicts:
            self.conflict_next = False
            self.pending_conflicts = max(0, self.pending_conflicts - 1)
            return 409, {"error": "conflict"}, {}
        if self.pending_storm > 0 or self.rng.random() < self.storm_rate:
            kind = (self.pending_storm and self.storm_kind) or self.rng.choice(("423", "429", "422"))
            self.pending_storm = max(0, self.pending_storm - 1)
            if kind == "429":
                return 429, {"error": "Too many requests"}, {"Retry-After": self.retry_after}
            if kind == "422":
                return 422, {"error": "The environment is busy. Try again later."}, {}
            return 423, {"error": "Resource is locked"}, {}
        return None

    def server_error(self, method: str):
        """(applied,) when this request is to answer 500, else None."""
        for index, (methods, applied) in enumerate(self.pending_errors):
            if method in methods:
                del self.pending_errors[index]
                return applied
        return None

    @staticmethod
    def _settle(resource: dict) -> None:
        """One GET observed: count busy polls down."""
        if resource.get("busy_left", 0) > 0:
            resource["busy_left"] -= 1

    def env_view(self, env: dict) -> dict:
        runstate = "busy" if env["busy_left"] else env["runstate"]
        return {"id": env["id"], "url": f"{self.url}/configurations/{env['id']}", "name": env["name"],
                "description": env["description"], "runstate": runstate, "rate_limited": False, "errors": [],
                "vm_count": 1, "template_id": env["template_id"], "undocumented_field": 1}

    def template_view(self, t: dict) -> dict:
        return {k: v for k, v in t.items() if k != "busy_left"} | {"busy": True if t["busy_left"] else None}

    @staticmethod
    def too_long(body) -> tuple | None:
        """The 422 Skytap gives a name or description over its limit, or None. Environments and
        templates alike: the environment model documents description "Limited to 1000 characters"
        (help.skytap.com/API_Documentation.html); the template model is assumed to be the same."""
        body = body or {}
        if len(str(body.get("name") or "")) > NAME_LIMIT:
            return 422, {"error": f"Name is too long (maximum is {NAME_LIMIT} characters)"}, {}
        if len(str(body.get("description") or "")) > DESCRIPTION_LIMIT:
            return 422, {"error": f"Description is too long (maximum is {DESCRIPTION_LIMIT} characters)"}, {}
        return None

    def handle(self, method: str, path: str, query: dict, body):
        """(status, body, headers); a 500 raised by ``server_errors`` is decided here too."""
        applied = self.server_error(method)
        if applied is False:
            return 500, {"error": "Internal server error"}, {}
        answer = self._handle(method, path, query, body)
        if applied:
            return 500, {"error": "Internal server error"}, {}
        return answer

    def _handle(self, method: str, path: str, query: dict, body):
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("configurations", "templates"):
            return 404, {"error": "not found"}, {}
        kind, rid = parts[0], parts[1] if len(parts) > 1 else None
        store = self.configurations if kind == "configurations" else self.templates
        if rid is None and method == "GET":
            return self.list(store, query)
        fault = self.fault(method)
        if fault:
            return fault
        if method in ("POST", "PUT") and self.too_long(body):
            return self.too_long(body)
        if rid is None and method == "POST":
            return self.create_env(body) if kind == "configurations" else self.create_template(body)
        resource = store.get(rid)
        if resource is None:
            return 404, {"error": f"{kind} {rid} not found"}, {}
        view = self.env_view if kind == "configurations" else self.template_view
        if method == "GET":
            answer = view(resource)
            self._settle(resource)
            return 200, answer, {}
        if resource.get("busy_left"):
            return 423, {"error": "Resource is busy"}, {}
        if method == "DELETE":
            del store[rid]
            return 200, {}, {}
        if method != "PUT":
            return 405, {"error": "method not allowed"}, {}
        if self.pending_unapplied:
            self.pending_unapplied -= 1
            return 200, view(resource), {}
        body = body or {}
        if kind == "configurations" and "runstate" in body:
            target = body["runstate"]
            if target not in ("running", "stopped", "suspended", "halted", "reset"):
                return 422, {"error": f"invalid runstate {target!r}"}, {}
            if (resource["runstate"], target) in (("stopped", "suspended"), ("suspended", "stopped")):
                return 422, {"error": f"cannot go from {resource['runstate']} to {target}"}, {}
            resource["runstate"] = {"halted": "stopped", "reset": "running"}.get(target, target)
            resource["busy_left"] = self.busy_polls
        for key in ("name", "description"):
            if key in body:
                resource[key] = body[key]
        return 200, view(resource), {}

    def create_env(self, body):
        template = self.templates.get(str((body or {}).get("template_id")))
        if template is None:
            return 404, {"error": "template_id: no such template"}, {}
        if template["busy_left"]:
            return 422, {"error": "The template is busy"}, {}
        eid = self.new_id()
        self.configurations[eid] = {"id": eid, "name": body.get("name", template["name"]),
                                    "description": body.get("description", ""), "runstate": "stopped",
                                    "busy_left": self.busy_polls, "template_id": template["id"]}
        return 200, self.env_view(self.configurations[eid]), {}

    def create_template(self, body):
        env = self.configurations.get(str((body or {}).get("configuration_id")))
        if env is None:
            return 422, {"error": "configuration_id: no such environment"}, {}
        if env["busy_left"]:
            return 423, {"error": "The environment is busy"}, {}
        tid = self.add_template(body.get("name") or env["name"], "")
        self.templates[tid]["busy_left"] = self.busy_polls
        return 200, self.template_view(self.templates[tid]), {}

    def list(self, store: dict, query: dict):
        items = list(store.values())
        match = re.match(r"name:(.*)\*$", query.get("query", [""])[0])
        if match:
            items = [i for i in items if i["name"].startswith(match.group(1))]
        count, offset = int(query.get("count", ["100"])[0]), int(query.get("offset", ["0"])[0])
        page = items[offset:offset + count]
        views = [self.env_view(i) if store is self.configurations else self.template_view(i) for i in page]
        last = offset + len(page) - 1
        return 200, views, {"Content-Range": f"items {offset}-{max(last, offset)}/{len(items)}"}


def _handler(emu: SkytapEmulator):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _hold(self, method: str, path: str, after: bool) -> bool:
            """Hold a matching request until released; False: drop it (``Hold.dropped``)."""
            for hold in list(emu.holds):
                if hold.after == after and hold.matches(method, path):
                    if hold.skip:
                        hold.skip -= 1
                        continue
                    emu.holds.remove(hold)
                    hold.reached.set()
                    hold.release.wait()
                    return not hold.dropped
            return True

        def _any(self, method: str):
            split = urlsplit(self.path)
            path = re.sub(r"\.json$", "", re.sub(r"^/v2", "", split.path))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            expected = "Basic " + base64.b64encode(f"{emu.user}:{emu.token}".encode()).decode()
            dropped = False
            if self.headers.get("Authorization") != expected:
                status, body, headers = 401, {"error": "Unauthorized"}, {}
            elif "json" not in (self.headers.get("Accept") or ""):
                status, body, headers = 406, {"error": "Accept a JSON type"}, {}
            else:
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                if not self._hold(method, path, after=False):
                    self.close_connection = True
                    return
                with emu.lock:
                    status, body, headers = emu.handle(method, path, parse_qs(split.query), payload)
                    if method != "GET" and status < 300 and emu.pending_drops:
                        emu.pending_drops -= 1
                        dropped = True
                self._hold(method, path, after=True)
            emu.log.append((method, split.path, status))
            if dropped:
                self.close_connection = True
                return
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client was killed while its request was held

        def do_GET(self):
            self._any("GET")

        def do_POST(self):
            self._any("POST")

        def do_PUT(self):
            self._any("PUT")

        def do_DELETE(self):
            self._any("DELETE")

    return Handler
