"""Running the generated custom-environment job (``<root-folder>/env-custom-<release>``) on Jenkins
with an engineer's configuration, and waiting for its result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jenkins
import requests

from ..errors import EnvDeliveryError
from .connection import read_connection

PARAMETER = "ENV_CONFIG"


@dataclass(frozen=True)
class JobRun:
    job: str
    number: int
    url: str
    result: str


def run_custom_job(conf: Path, job: str, config_text: str, timeout: float = 3600.0, poll: float = 5.0,
                   say: Callable[[str], None] = print, sleep=time.sleep, clock=time.monotonic) -> JobRun:
    """Queue the job with ENV_CONFIG, follow the queue item to its build and the build to its end."""
    connection = read_connection(conf)
    server = jenkins.Jenkins(connection.url, connection.user, connection.password, timeout=connection.timeout)
    deadline = clock() + timeout
    try:
        queue_id = server.build_job(job, parameters={PARAMETER: config_text})
        say(f"queued {job} (queue item {queue_id})")
        number = url = None
        while number is None:
            item = server.get_queue_item(queue_id)
            if item.get("cancelled"):
                raise EnvDeliveryError(f"{job}: the queued build was cancelled")
            executable = item.get("executable")
            if executable:
                number, url = executable["number"], executable.get("url", "")
                say(f"started {job} #{number}: {url}")
                break
            _wait(job, deadline, poll, sleep, clock)
        while True:
            info = server.get_build_info(job, number)
            if not info.get("building") and info.get("result"):
                return JobRun(job=job, number=number, url=url or info.get("url", ""), result=info["result"])
            _wait(job, deadline, poll, sleep, clock)
    except jenkins.NotFoundException:
        raise EnvDeliveryError(f"no job {job} on {connection.url} (has the root updater generated it?)") from None
    except (jenkins.JenkinsException, requests.RequestException) as exc:
        raise EnvDeliveryError(f"{job} on {connection.url}: {exc}") from None


def _wait(job: str, deadline: float, poll: float, sleep, clock) -> None:
    if clock() >= deadline:
        raise EnvDeliveryError(f"{job}: gave up waiting for the build to finish (timeout)")
    sleep(poll)
