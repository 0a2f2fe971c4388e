"""shopctl's seeding plan and version parsing, and its version answer served over real HTTP."""

from __future__ import annotations

import threading
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer

from shopctl.seed import STOCK, ProvisioningError, fetch_version, parse_version, seed_commands, services

CONFIG = {"name": "minimal-current", "hosts": [{"name": "catalog", "services": ["catalog"]},
                                               {"name": "stock", "services": ["stock"]},
                                               {"name": "storefront", "services": ["storefront", "stock"]}]}


class SeedTest(unittest.TestCase):
    def test_services_keep_the_configuration_order_once_each(self):
        self.assertEqual(services(CONFIG), ["catalog", "stock", "storefront"])

    def test_stock_and_banner_are_seeded_in_their_containers(self):
        commands = seed_commands("podman", "build-x-1", CONFIG)
        self.assertEqual(commands[0], ["podman", "exec", "build-x-1-stock", "set-level", "widget", "25"])
        self.assertEqual(len(commands), len(STOCK) + 1)
        self.assertEqual(commands[-1], ["podman", "exec", "build-x-1-storefront", "set-banner",
                                        "minimal-current (build-x-1)"])

    def test_an_environment_without_stock_gets_no_stock(self):
        config = {"hosts": [{"name": "catalog", "services": ["catalog"]}]}
        self.assertEqual(seed_commands("podman", "e", config), [])

    def test_version_answers(self):
        self.assertEqual(parse_version("catalog", "catalog 1.2.0\n"), "1.2.0")
        with self.assertRaises(ProvisioningError):
            parse_version("catalog", "stock 1.2.0\n")


class _Version(BaseHTTPRequestHandler):
    def do_GET(self):  # the http.server API names it
        body = b"catalog 3.1.4\n" if self.path == "/cgi-bin/version" else b""
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class FetchTest(unittest.TestCase):
    def test_the_version_is_asked_over_http(self):
        server = HTTPServer(("127.0.0.1", 0), _Version)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            self.assertEqual(fetch_version("catalog", f"127.0.0.1:{server.server_port}"), "3.1.4")
        finally:
            server.shutdown()
            server.server_close()

    def test_a_service_that_does_not_answer_is_an_error(self):
        with self.assertRaises(ProvisioningError):
            fetch_version("catalog", "127.0.0.1:1", timeout=2)


if __name__ == "__main__":
    unittest.main()
