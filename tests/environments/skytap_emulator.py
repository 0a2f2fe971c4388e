"""A Skytap REST API emulator on 127.0.0.1, for the skytap provider's tests.

It follows the checklist of shared/reference/skytap-api.md §5: Basic auth (401), ``Accept``
required (406), ``/v2/`` prefix and ``.json`` suffix accepted; environments ("configurations")
created from a template are ``busy`` for ``busy_polls`` GETs and then ``stopped``; a runstate
PUT answers at once and the environment is ``busy`` before settling (``halted`` settles as
``stopped``; invalid transitions are 422); saving an environment as a template makes a template
with ``busy: true`` for ``busy_polls`` GETs; lists page with ``count``/``offset`` and
``Content-Range``; deletes answer 200 and then 404; mutations of a busy resource are 423.

Faults, seeded: every mutation is refused with a 423, a 429 (with ``Retry-After``) or a 422
"busy" with probability ``storm_rate``; ``storm(n)`` refuses the next n mutations;
``conflict_next`` answers the next mutation with 409.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


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
        self.log: list[tuple[str, str, int]] = []
        self.add_template("base", description="the base image")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- test controls ------------------------------------------------------------------------
    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def storm(self, count: int, kind: str | None = None) -> None:
        """Refuse the next `count` mutations with `kind` ("423", "429", "422"), or a random one."""
        self.pending_storm += count
        self.storm_kind = kind

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
        if self.conflict_next:
            self.conflict_next = False
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

    def handle(self, method: str, path: str, query: dict, body):
        path = re.sub(r"\.json$", "", re.sub(r"^/v2", "", path))
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
        if rid is None and method == "POST":
            return self.create_env(body) if kind == "configurations" else self.create_template(body)
        resource = store.get(rid)
        if resource is None:
            return 404, {"error": f"{kind} {rid} not found"}, {}
        if method == "GET":
            view = self.env_view(resource) if kind == "configurations" else self.template_view(resource)
            self._settle(resource)
            return 200, view, {}
        if resource.get("busy_left"):
            return 423, {"error": "Resource is busy"}, {}
        if method == "DELETE":
            del store[rid]
            return 200, {}, {}
        if method == "PUT" and kind == "configurations":
            target = (body or {}).get("runstate")
            if target not in ("running", "stopped", "suspended", "halted", "reset"):
                return 422, {"error": f"invalid runstate {target!r}"}, {}
            if (resource["runstate"], target) in (("stopped", "suspended"), ("suspended", "stopped")):
                return 422, {"error": f"cannot go from {resource['runstate']} to {target}"}, {}
            resource["runstate"] = {"halted": "stopped", "reset": "running"}.get(target, target)
            resource["busy_left"] = self.busy_polls
            return 200, self.env_view(resource), {}
        if method == "PUT":
            for key in ("name", "description"):
                if key in (body or {}):
                    resource[key] = body[key]
            return 200, self.template_view(resource), {}
        return 405, {"error": "method not allowed"}, {}

    def create_env(self, body):
        template = self.templates.get(str((body or {}).get("template_id")))
        if template is None:
            return 422, {"error": "template_id: no such template"}, {}
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
        tid = self.add_template(env["name"], "")
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

        def _any(self, method: str):
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            expected = "Basic " + base64.b64encode(f"{emu.user}:{emu.token}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                status, body, headers = 401, {"error": "Unauthorized"}, {}
            elif "json" not in (self.headers.get("Accept") or ""):
                status, body, headers = 406, {"error": "Accept a JSON type"}, {}
            else:
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                with emu.lock:
                    status, body, headers = emu.handle(method, split.path, parse_qs(split.query), payload)
            emu.log.append((method, split.path, status))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._any("GET")

        def do_POST(self):
            self._any("POST")

        def do_PUT(self):
            self._any("PUT")

        def do_DELETE(self):
            self._any("DELETE")

    return Handler
