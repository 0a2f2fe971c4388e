"""DOT, SVG and the self-contained HTML page; the page opens in headless Chromium when there is one."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.graph import check
from jjb_envdelivery.graph import dot as dot_module
from jjb_envdelivery.graph.dot import dot_to_svg, quote, to_dot
from jjb_envdelivery.graph.html import to_html
from jjb_envdelivery.orchestration.checked_render import graph_of_organisation

from .conftest import add_yaml

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def example_graph(example_org_dir):
    return graph_of_organisation(example_org_dir)


def test_quote_escapes_what_dot_reads():
    assert quote('a "b" \\c\nd') == '"a \\"b\\" \\\\c\\nd"'


def test_dot_text_has_every_drawn_node_and_edge(example_graph):
    text = to_dot(example_graph)
    assert text.startswith("digraph pipeline {") and text.rstrip().endswith("}")
    drawn = [e for e in example_graph.edges if example_graph.nodes[e.target].kind != "folder"]
    assert text.count(" -> ") == len(drawn) + 4  # plus the legend's four edge samples
    assert '"delivery/env-full-current-build" [label="full"' in text
    assert 'subgraph "cluster_' in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_dot_parses_and_svg_is_made(example_graph):
    text = to_dot(example_graph.for_release("current"))
    done = subprocess.run(["dot", "-Tcanon"], input=text.encode(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    svg = dot_to_svg(text)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # Graphviz writes '-' as &#45; in titles.
    assert "<title>delivery/env&#45;full&#45;current&#45;build</title>" in svg


def test_svg_without_dot_says_how_to_install(monkeypatch):
    monkeypatch.setattr(dot_module.shutil, "which", lambda name: None)
    with pytest.raises(EnvDeliveryError, match=r"apt-get install graphviz"):
        dot_to_svg("digraph {}")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.tags, self.texts = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in ("src", "href", "xlink:href", "action",
                                                                        "data", "poster")]

    def handle_data(self, data):
        self.texts.append(data)


def assert_self_contained(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    external = [u for u in parser.urls if re.match(r"\s*(https?:)?//", u, re.I)]
    assert external == []
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page, re.I)
    assert not re.search(r"""\b(src|href)\s*=\s*['"]?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page.replace("https://git.example.com", "")
    return parser


def test_html_is_self_contained_with_views_and_legend(example_graph):
    page = to_html(example_graph, "Pipeline graph of example-cloud")
    parser = assert_self_contained(page)
    assert parser.tags.count("svg") == 1 + 1 + 3 + 1  # legend, overview, three release lines, all jobs
    assert 'id="view-overview"' in page and 'id="view-current"' in page and 'id="view-all"' in page
    assert "18 CI jobs" in page  # platform's 6 services x 3 lines, collapsed
    assert '<section id="problems">' not in page


def test_html_outlines_problem_jobs(tiny_org):
    add_yaml(tiny_org, "web", "broken.yaml",
             "- job: {name: web-x, disabled: false, triggers: [{reverse: {jobs: web-nope}}]}\n")
    graph = graph_of_organisation(tiny_org)
    problems = check(graph)
    page = to_html(graph, "tiny", problems)
    assert_self_contained(page)
    assert '<section id="problems"><strong>2 problems</strong>' in page
    assert re.search(r'data-id="web-x"><title>web-x</title><rect [^>]*stroke="#d00000"', page)


def png_colours(path: Path) -> int:
    """Distinct colours of an 8-bit RGB(A) PNG, read with the standard library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    colours = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        if row % 4 == 0:  # every fourth row is plenty to count colours
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, channels * 2))
        previous = line
    return len(colours)


@pytest.mark.slow  # starts a browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")
def test_html_opens_in_headless_chromium(example_graph, tmp_path):
    page = tmp_path / "graph.html"
    page.write_text(to_html(example_graph, "Pipeline graph of example-cloud"), encoding="utf-8")
    png = tmp_path / "graph.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1600,1000",
         page.as_uri()],
        capture_output=True, timeout=120, check=False)
    assert png.is_file() and png.stat().st_size > 10_000
    # The node colours of the palette, text and lines: far more than a blank page's one colour.
    assert png_colours(png) > 20
