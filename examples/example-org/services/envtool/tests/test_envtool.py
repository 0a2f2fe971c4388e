"""envtool's unit tests (standard library unittest: the CI's validate step runs them)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from envtool import __version__, checks
from envtool.cli import BAD_INPUT, CHECK_FAILED, run
from envtool.environment import ConfigurationError, assign_addresses, provision

CONFIG = {
    "name": "minimal-current",
    "release": "current",
    "networks": [{"name": "default", "subnet": "10.0.0.0/29"}],
    "hosts": [
        {"name": "auth", "services": ["auth-service"], "network": "default", "cpus": 1, "memory-mb": 1024},
        {"name": "api", "services": ["public-api"], "network": "default", "cpus": 1, "memory-mb": 1024},
    ],
}


class Workdir(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.target = self.dir / "env"
        self.target.mkdir()

    def envtool(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                mock.patch.dict(os.environ, {"ENVDELIVERY_ENV": str(self.target)}):
            status = run(list(argv))
        return status, out.getvalue(), err.getvalue()

    def provision(self, config: dict = CONFIG) -> dict:
        path = self.dir / "config.json"
        report = self.dir / "versions.json"
        path.write_text(json.dumps({**config, "report-file": str(report)}))
        status, out, err = self.envtool("provision", "--config", str(path), "--artifacts", str(self.dir),
                                        "--target", str(self.target))
        self.assertEqual(status, 0, err)
        self.assertIn(f"envtool {__version__}: provisioned {len(config['hosts'])} hosts", out)
        return json.loads(report.read_text())


class ProvisionTest(Workdir):
    def test_writes_one_directory_per_host_with_its_services(self) -> None:
        versions = self.provision()
        self.assertEqual(versions, {"envtool": __version__})
        service = json.loads((self.target / "api" / "services" / "public-api.json").read_text())
        self.assertEqual((service["state"], service["address"], service["port"]), ("running", "10.0.0.2", 8000))
        environment = json.loads((self.target / "environment.json").read_text())
        self.assertNotIn("report-file", environment)
        self.assertEqual([h["address"] for h in environment["hosts"]], ["10.0.0.1", "10.0.0.2"])

    def test_refuses_a_target_that_is_not_empty(self) -> None:
        (self.target / "left-over").write_text("x")
        with self.assertRaisesRegex(ConfigurationError, "is not empty"):
            provision(CONFIG, self.target)

    def test_a_subnet_too_small_is_an_error_naming_the_host(self) -> None:
        hosts = [{"name": f"h{i}", "services": [f"s{i}"], "network": "default"} for i in range(7)]
        with self.assertRaisesRegex(ConfigurationError, "no address left for host h6"):
            assign_addresses({**CONFIG, "hosts": hosts})

    def test_a_configuration_without_hosts_is_a_usage_error(self) -> None:
        path = self.dir / "config.json"
        path.write_text(json.dumps({"release": "current", "hosts": []}))
        status, _, err = self.envtool("provision", "--config", str(path), "--artifacts", str(self.dir),
                                      "--target", str(self.target))
        self.assertEqual(status, BAD_INPUT)
        self.assertIn("hosts: expected a list of at least one host", err)


class CheckTest(Workdir):
    def test_every_check_passes_on_a_fresh_environment(self) -> None:
        self.provision()
        status, out, err = self.envtool("check", "--smoke", "--integration", "--ha")
        self.assertEqual(status, 0, err)
        for name in checks.CHECKS:
            self.assertIn(f"check --{name} ok (2 hosts)", out)

    def test_smoke_finds_a_stopped_service(self) -> None:
        self.provision()
        path = self.target / "auth" / "services" / "auth-service.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "state": "stopped"}))
        status, _, err = self.envtool("check", "--smoke")
        self.assertEqual(status, CHECK_FAILED)
        self.assertIn("service auth-service on host auth is not running", err)

    def test_integration_finds_a_file_changed_since_provisioning(self) -> None:
        self.provision()
        (self.target / "api" / "host.json").write_text("{}")
        status, _, err = self.envtool("check", "--integration")
        self.assertEqual(status, CHECK_FAILED)
        self.assertIn("api/host.json changed since it was provisioned", err)

    def test_ha_finds_two_services_on_one_host(self) -> None:
        self.provision({**CONFIG, "hosts": [{"name": "both", "services": ["auth-service", "public-api"]}]})
        status, out, err = self.envtool("check", "--ha")
        self.assertEqual(status, CHECK_FAILED)
        self.assertIn("check --smoke ok", out)
        self.assertIn("host both runs 2 services", err)

    def test_outside_an_environment_is_a_usage_error(self) -> None:
        status, _, err = self.envtool("check", "--smoke")
        self.assertEqual(status, BAD_INPUT)
        self.assertIn("is not an environment", err)


if __name__ == "__main__":
    unittest.main()
