"""Rendering spread over forked processes, with the results and the errors of the serial path.

Rendering is CPU-bound Python, so threads do not help; forked workers inherit the loaded state
(the organisation, the loaded YAML) instead of receiving it, and send back only the printed
bytes. Used where the work splits into independent tasks: the scopes of an organisation, and
the projects and jobs of one large scope (``pipeline.generate_xml``).

A task that fails in a worker is not reported from there: the caller runs it (or the whole
serial path) again in its own process, so every error, and which error comes first, is exactly
the serial path's. Workers never fork again.

``JJB_ENVDELIVERY_PROCESSES`` (or ``render --processes``) sets the number of processes; the
default is the CPUs this process may use. 1 renders in this process only.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

from ..errors import EnvDeliveryError

__all__ = ["FAILED", "PROCESSES_ENV", "fork_map", "process_count", "set_default_processes"]

log = logging.getLogger(__name__)

PROCESSES_ENV = "JJB_ENVDELIVERY_PROCESSES"
FAILED = object()  # a task's outcome when it failed in a worker

T = TypeVar("T")
R = TypeVar("R")

_in_worker = False
_default: int | None = None
_task: tuple[Callable, Sequence] | None = None


def set_default_processes(count: int | None) -> None:
    """The process count for this process's renders (the CLI's --processes); None: the default."""
    global _default
    if count is not None and count < 1:
        raise EnvDeliveryError(f"--processes must be at least 1, not {count}")
    _default = count


def process_count() -> int:
    """How many processes a render may use here (1 inside a worker, or where fork is missing)."""
    if _in_worker or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if _default is not None:
        return _default
    text = os.environ.get(PROCESSES_ENV, "").strip()
    if text:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise EnvDeliveryError(f"{PROCESSES_ENV}={text!r}: expected a whole number of processes, at least 1")
        return count
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def fork_map(func: Callable[[T], R], items: Sequence[T], processes: int) -> Iterator[R | object]:
    """`func` over `items` in up to `processes` forked workers; outcomes in the items' order,
    FAILED where the task raised (or its worker died). With one process, or one item, runs
    here, and a failure raises as it would serially."""
    workers = min(processes, len(items))
    if workers <= 1:
        for item in items:
            yield func(item)
        return
    global _task
    _task = (func, items)  # inherited by the forked workers, never pickled
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_enter_worker)
    try:
        futures = [pool.submit(_run, index) for index in range(len(items))]
        for future in futures:
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - the caller reruns the task to raise its real error
                log.debug("task failed in a worker (%s): the caller reruns it in this process", exc)
                yield FAILED
    finally:
        _task = None
        pool.shutdown(wait=True, cancel_futures=True)


def _enter_worker() -> None:
    global _in_worker
    _in_worker = True


class _TaskFailed(Exception):
    """Raised in a worker instead of the task's own error, which may not survive pickling."""


def _run(index: int):
    func, items = _task
    try:
        return func(items[index])
    except BaseException:  # noqa: BLE001 - any error, SystemExit too, may not pickle: the caller reruns the task
        raise _TaskFailed(index) from None
