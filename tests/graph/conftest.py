"""Fixtures of the graph tests: a tiny organisation that passes every check, copied so a test can
break it; and graphs built straight from config.xml (hand-written, or rendered and kept), the way
``build_graph`` sees a render's output."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jjb_envdelivery.graph import Graph, build_graph
from jjb_envdelivery.jjb.pipeline import RenderedScope
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.render import ScopeResult
from jjb_envdelivery.scopes import ROOT, Scope

FIXTURES = Path(__file__).parent / "fixtures"
TINY_ORG = FIXTURES / "tiny-org"
VIEW_TAGS = ("hudson.model.ListView", "se.diabol.jenkins.pipeline.DeliveryPipelineView")


@pytest.fixture
def tiny_org(tmp_path) -> Path:
    return Path(shutil.copytree(TINY_ORG, tmp_path / "org"))


def add_yaml(org: Path, team: str, name: str, text: str) -> None:
    (org / "teams" / team / "jenkins" / name).write_text(text, encoding="utf-8")


class XmlItem:
    """A rendered item as ``build_graph`` reads it: a name and its config.xml bytes."""

    def __init__(self, name: str, xml: str | bytes):
        self.name = name
        self._xml = xml.encode() if isinstance(xml, str) else xml

    def output(self) -> bytes:
        return self._xml


def graph_of_xml(jobs: dict[str, str | bytes], views: dict[str, str | bytes] | None = None,
                 org_dir: Path = TINY_ORG, unrendered: tuple[str, ...] = ()) -> Graph:
    """The graph of these jobs and views, each put in the scope of the tiny org's project whose
    namespace holds its name (else the root scope); the projects in `unrendered` count as not
    rendered here, every other one as rendered."""
    org = load_organisation(org_dir)
    items: dict[str, list[XmlItem]] = {ROOT: [], **{p.name: [] for p in org.projects}}
    for name, xml in jobs.items():
        owner = next((p.name for p in org.projects if p.namespace.contains(name)), ROOT)
        items[owner].append(XmlItem(name, xml))
    scopes = [ScopeResult(Scope(ROOT, None, ()), RenderedScope(items.pop(ROOT), [
        XmlItem(name, xml) for name, xml in (views or {}).items()]))]
    scopes += [ScopeResult(Scope(p.name, p.namespace, ()), RenderedScope(items[p.name], []))
               for p in org.projects if p.name not in unrendered]
    return build_graph(scopes, org)


def graph_of_rendered(out_dir: Path, org_dir: Path = TINY_ORG) -> Graph:
    """The graph of a `jjb-envdelivery render -o OUT` tree (OUT/<name>/config.xml)."""
    jobs, views = {}, {}
    for path in sorted(out_dir.rglob("config.xml")):
        data = path.read_bytes()
        name = path.parent.relative_to(out_dir).as_posix()
        (views if ET.fromstring(data).tag in VIEW_TAGS else jobs)[name] = data
    return graph_of_xml(jobs, views, org_dir)


def grant_upstreams(org: Path, project: str, names: list[str]) -> None:
    """Let `project`'s jobs reach these jobs outside its namespace (org file ``allow.upstreams``):
    the job policy refuses any other reach before the graph is checked."""
    org_file = org / "delivery.yaml"
    services = {"payments": "    services: [billing]\n", "web": "    services: [ui]\n"}[project]
    text = org_file.read_text(encoding="utf-8")
    assert services in text
    org_file.write_text(text.replace(services, f"{services}    allow: {{upstreams: [{', '.join(names)}]}}\n"),
                        encoding="utf-8")
