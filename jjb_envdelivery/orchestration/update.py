"""``update``: render and check one scope, plan it against the server, apply the plan."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import EnvDeliveryError
from ..jjb import pipeline
from ..push.apply import UpdateReport, apply_plan, desired_items
from ..push.cache import ScopeCache
from ..push.client import JenkinsClient, PushError
from ..push.plan import Plan, make_plan
from ..push.progress import Progress
from ..push.refresh import refresh_plan
from ..render import render_scope
from ..scopes import Scope
from .checked_render import ScopeRequest, render_request
from .connection import connect, open_cache
from .plan import refused_message


def update_request(request: ScopeRequest, conf: Path, workers: int = 4, adopt: bool = False,
                   allow_empty: bool = False, cache_root: Path | None = None, progress_stream=None,
                   refresh: bool = False) -> UpdateReport:
    """The scoped update an updater job runs: the scope rendered and checked, then pushed."""
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        scope, rendered = render_request(request, conf, Path(tmp))
        return update_scope(scope, conf, workers=workers, adopt=adopt, allow_empty=allow_empty,
                            cache_root=cache_root, progress_stream=progress_stream, rendered=rendered,
                            refresh=refresh)


def update_scope(scope: Scope, conf: Path, workers: int = 4, adopt: bool = False, allow_empty: bool = False,
                 cache_root: Path | None = None, progress_stream=None,
                 rendered: pipeline.RenderedScope | None = None, refresh: bool = False) -> UpdateReport:
    """Push `scope` (`rendered`: its XML with owner marks, when already rendered and checked). With
    `refresh`, items whose live config drifted from what the scope generates are pushed again."""
    plan, client, cache = plan_scope(scope, conf, adopt, allow_empty, cache_root, rendered, refresh=refresh)
    try:
        progress = Progress(len(plan.writes), progress_stream) if progress_stream and plan.writes else None
        return apply_plan(plan, client, cache, workers, progress)
    finally:
        cache.close()


def plan_scope(scope: Scope, conf: Path, adopt: bool = False, allow_empty: bool = False,
               cache_root: Path | None = None,
               rendered: pipeline.RenderedScope | None = None,
               refresh: bool = False) -> tuple[Plan, JenkinsClient, ScopeCache]:
    """The plan against the live server (`refresh`: and every item's live config.xml), with the
    client and the (locked) cache to apply it."""
    if rendered is None:
        rendered = render_scope(scope, pipeline.make_jjb_config(conf), owner=scope.name)
    client = connect(conf)
    cache = open_cache(client, scope.name, cache_root)
    try:
        server = inventory(client)
        plan = make_plan(scope.name, scope.namespace, desired_items(rendered), server, cache.entries,
                         adopt=adopt, allow_empty=allow_empty, adopt_from=scope.adopt_from)
        if refresh:
            try:
                plan = refresh_plan(plan, client, workers=8).plan
            except PushError as exc:
                raise EnvDeliveryError(refused_message(client.server, exc)) from None
    except BaseException:
        cache.close()
        raise
    return plan, client, cache


def inventory(client: JenkinsClient):
    try:
        return client.inventory()
    except PushError as exc:
        raise EnvDeliveryError(refused_message(client.server, exc)) from None
