"""Hostile team YAML against the confined loader (DESIGN.md, "Trust").

Every hostile case is also run through plain JJB where plain JJB reads the secret, so a
refusal here cannot come from a broken test input. The "secret" is a file this test writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.expander import Expander, deprecated_yaml_tags, yaml_classes_list
from jenkins_jobs.loader import Loader, load_deprecated_yaml, load_files
from jenkins_jobs.registry import ModuleRegistry
from jenkins_jobs.roots import Roots
from jenkins_jobs.xml_config import XmlJobGenerator
from jenkins_jobs.yaml_objects import IncludeRawVerbatim

from jjb_envdelivery.jjb import confined
from jjb_envdelivery.jjb.confined import (
    CONFINED_TAGS,
    PASSTHROUGH_TAGS,
    ConfinedLoader,
    ConfinementError,
    load_files_confined,
)
from jjb_envdelivery.jjb.pipeline import expand_paths, make_jjb_config

SECRET = "hunter2"
OUTSIDE_MSG = "outside the directories this scope may read"
INTERNALS_MSG = "is not allowed in a team scope: the template reached Python internals"

INCLUDE_TAGS = [
    "!include:", "!include",
    "!include-raw-expand:", "!include-raw:", "!include-raw",
    "!include-raw-verbatim:", "!include-raw-escape:", "!include-raw-escape",
    "!include-jinja2:",
]


class Tree:
    def __init__(self, base: Path):
        self.base = base
        self.team = base / "teams" / "web" / "jenkins"
        self.templates = base / "job_templates"
        self.outside = base / "outside"
        self.secret = self.outside / "jenkins_jobs.ini"
        for d in (self.team, self.templates, self.outside):
            d.mkdir(parents=True)
        self.secret.write_text(f"password={SECRET}\n")

    @property
    def allowed(self) -> list[Path]:
        return [self.team, self.templates]

    def write(self, rel: str, text: str, where: Path | None = None) -> Path:
        path = (where or self.team) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Tree:
    # A neutral cwd: JJB searches '.' for includes; tests that need it move it on purpose.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return Tree(tmp_path)


def render(paths: list[Path], allowed: list[Path] | None) -> dict[str, bytes]:
    """The full JJB pipeline; `allowed` None means plain JJB load_files."""
    config = make_jjb_config()
    roots = Roots(config)
    if allowed is None:
        load_files(config, roots, paths)
    else:
        load_files_confined(config, roots, paths, allowed)
    registry = ModuleRegistry(config, [])
    registry.set_macros(roots.macros)
    jobs = roots.generate_jobs()
    registry.amend_job_dicts(jobs)
    return {job.name: job.output() for job in XmlJobGenerator(registry).generateXML(jobs)}


def all_text(exc: BaseException) -> str:
    """Everything an exception could show: message, JJB context lines, the chain."""
    parts = []
    while exc is not None:
        parts.append(str(exc))
        parts.extend(getattr(exc, "lines", []))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def refused(paths: list[Path], allowed: list[Path], *expected: str) -> str:
    with pytest.raises(JenkinsJobsException) as info:
        render(paths, allowed)
    text = all_text(info.value)
    assert SECRET not in text
    for fragment in expected:
        assert fragment in str(info.value), str(info.value)
    return str(info.value)


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def roots_text(tree: Tree) -> str:
    return ", ".join(str(p.resolve()) for p in tree.allowed)


# -- legitimate input: byte-identical to plain JJB ---------------------------------------------


def write_legit(tree: Tree) -> list[Path]:
    tree.write("script.sh", "echo build {not-a-var}\n")
    tree.write("scripts/py.sh", "echo flavour {flavour} for {name}\n")
    tree.write("body.yaml.inc", "- shell: echo from body\n- shell: !include-raw-verbatim: script.sh\n")
    tree.write("desc.j2", "{% include 'parts/head.j2' %} {{ name }}/{{ flavour }}\n")
    tree.write("parts/head.j2", "Head for {{ name }}")
    tree.write("lib-script.sh", "echo library\n", where=tree.templates)
    tree.write("shared.sh", "echo shared by path\n", where=tree.templates)
    tree.write("lib.yaml", """\
        - job-template:
            name: 'lib-{name}'
            builders:
              - shell: !include-raw-verbatim: lib-script.sh
        """, where=tree.templates)
    tree.write("jobs.yaml", """\
        - job-template:
            name: '{name}-build'
            description: !j2: 'Built {{ name }} with {{ flavour }}'
            display-name: 'literal {{d.x}} {name} {missing|fallback} {d[a]}'
            builders:
              - shell: !include-raw-verbatim: script.sh
              - shell: !include-raw-expand: 'scripts/{flavour}.sh'
              - shell: !include-raw-verbatim: ../../../job_templates/shared.sh
              - shell: !include-jinja2: desc.j2
              - shell: !join: [' ', [echo, joined]]
        - job-template:
            name: '{name}-body'
            builders: !include: body.yaml.inc
        - job-template:
            name: '{name}-j2yaml'
            builders: !j2-yaml: |
              {% for n in range(2) %}
              - shell: echo {{ name }} {{ n }}
              {% endfor %}
        - project:
            name: web
            flavour: py
            d: {a: indexed}
            jobs:
              - '{name}-build'
              - '{name}-body'
              - '{name}-j2yaml'
              - 'lib-{name}'
        """)
    return expand_paths([tree.templates, tree.team], recursive=True, excludes=[".*"])


def test_legit_input_renders_byte_identical_to_plain_jjb(tree):
    paths = write_legit(tree)
    plain = render(paths, None)
    confined_xml = render(paths, tree.allowed)
    assert sorted(plain) == ["lib-web", "web-body", "web-build", "web-j2yaml"]
    assert confined_xml == plain
    build = confined_xml["web-build"].decode()
    for expected in ("echo build {not-a-var}", "echo flavour py for web", "echo shared by path",
                     "Head for web web/py", "echo joined", "Built web with py",
                     "literal {d.x} web fallback indexed"):
        assert expected in build
    assert "echo library" in confined_xml["lib-web"].decode()
    assert "echo from body" in confined_xml["web-body"].decode()
    assert "echo web 1" in confined_xml["web-j2yaml"].decode()


def test_a_file_named_by_the_caller_loads_even_outside_the_roots(tree):
    # The updater passes its generated context file explicitly; only team-reached files are confined.
    context = tree.write("context.yaml", "- defaults:\n    name: global\n    description: ctx\n",
                         where=tree.base / "work")
    tree.write("jobs.yaml", "- job:\n    name: web-a\n")
    xml = render([context, tree.team], tree.allowed)
    assert "<description>ctx" in xml["web-a"].decode()


# -- hostile include paths, for every include tag and alias -----------------------------------


def hostile_template(tree: Tree, tag: str, path: str, where: str = "") -> Path:
    return tree.write("team.yaml", f"""\
        - job-template:
            name: 'web-{{name}}'
            builders:
              - shell: {tag} '{path}'
        - project:
            name: x
            where: '{where}'
            jobs: ['web-{{name}}']
        """)


def _absolute(tree):
    return str(tree.secret), "", str(tree.secret)


def _traversal(tree):
    return "../../../outside/jenkins_jobs.ini", "", "../../../outside/jenkins_jobs.ini"


def _var(tree):
    return "{where}/jenkins_jobs.ini", "../../../outside", "../../../outside/jenkins_jobs.ini"


def _symlink(tree):
    (tree.team / "link.ini").symlink_to(tree.secret)
    return "link.ini", "", "link.ini"


def _cwd(tree):
    # JJB searches include_path ('.') first: the process cwd must not be a way out.
    os.chdir(tree.outside)
    return "jenkins_jobs.ini", "", "jenkins_jobs.ini"


PATH_KINDS = {"absolute": _absolute, "traversal": _traversal, "var": _var, "symlink": _symlink, "cwd": _cwd}


@pytest.mark.filterwarnings("ignore:Tag .* is deprecated:UserWarning")
@pytest.mark.parametrize("kind", sorted(PATH_KINDS))
@pytest.mark.parametrize("tag", INCLUDE_TAGS)
def test_include_outside_is_refused(tree, tag, kind):
    path, where, requested = PATH_KINDS[kind](tree)
    team_yaml = hostile_template(tree, tag, path, where)
    # The input is real: plain JJB inlines the secret into the job XML.
    assert SECRET in render([team_yaml], None)["web-x"].decode()
    message = refused([team_yaml], tree.allowed, OUTSIDE_MSG, f"{tag} {requested!r}", roots_text(tree))
    assert message.startswith(f"{team_yaml}:{line_of(team_yaml, tag)}:")
    if kind == "symlink":
        assert "resolves (through a symlink) outside" in message


def test_include_in_an_included_file_is_confined_too(tree):
    # The nested file is parsed by the loader JJB builds per file (Loader._with_stream).
    tree.write("body.yaml.inc", f"- shell: !include-raw-verbatim: '{tree.secret}'\n")
    team_yaml = tree.write("team.yaml", "- job:\n    name: web-a\n    builders: !include: body.yaml.inc\n")
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, OUTSIDE_MSG, "body.yaml.inc:1:")


def test_include_in_j2_yaml_output_is_confined_too(tree):
    team_yaml = tree.write("team.yaml", f"""\
        - job:
            name: web-a
            builders: !j2-yaml: |
              - shell: !include-raw-verbatim: '{tree.secret}'
        """)
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, OUTSIDE_MSG, "!include-raw-verbatim:")


def test_include_jinja2_of_an_outside_file(tree):
    tree.outside.joinpath("evil.j2").write_text(f"{{{{ 'x' }}}} {SECRET}")
    team_yaml = tree.write(
        "team.yaml", "- job:\n    name: web-a\n    description: !include-jinja2: ../../../outside/evil.j2\n")
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, OUTSIDE_MSG, "!include-jinja2: '../../../outside/evil.j2'")


# -- Jinja2's own include/import ----------------------------------------------------------------


def j2_include_yaml(tree: Tree, via: str, name: str) -> Path:
    if via == "!j2:":
        return tree.write("team.yaml", f"""\
            - job:
                name: web-a
                description: !j2: "{{% include '{name}' %}}"
            """)
    tree.write("desc.j2", f"before {{% include '{name}' %}} after\n")
    return tree.write("team.yaml", "- job:\n    name: web-a\n    description: !include-jinja2: desc.j2\n")


@pytest.mark.parametrize("via", ["!j2:", "!include-jinja2:"])
def test_jinja_include_of_etc_hostname_is_refused(tree, via):
    team_yaml = j2_include_yaml(tree, via, "/etc/hostname")
    refused([team_yaml], tree.allowed, "'/etc/hostname'", OUTSIDE_MSG, f"{team_yaml}:")


@pytest.mark.parametrize("via", ["!j2:", "!include-jinja2:"])
def test_jinja_include_with_traversal_is_refused(tree, via):
    # Plain Jinja2 refuses '..' too (TemplateNotFound); JJB's !j2 reads the file anyway while
    # looking for template parameters. Confined, both say why.
    team_yaml = j2_include_yaml(tree, via, "../../../outside/jenkins_jobs.ini")
    refused([team_yaml], tree.allowed, "'../../../outside/jenkins_jobs.ini'", OUTSIDE_MSG)


@pytest.mark.parametrize("via", ["!j2:", "!include-jinja2:"])
def test_jinja_include_with_absolute_path_from_root_cwd(tree, via):
    # Jinja2 strips the leading '/' and searches '.', so with cwd=/ the absolute path is read.
    team_yaml = j2_include_yaml(tree, via, str(tree.secret))
    os.chdir("/")
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, OUTSIDE_MSG)


@pytest.mark.parametrize("via", ["!j2:", "!include-jinja2:"])
def test_jinja_include_through_symlink_is_refused(tree, via):
    (tree.team / "link.j2").symlink_to(tree.secret)
    team_yaml = j2_include_yaml(tree, via, "link.j2")
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, "'link.j2' resolves (through a symlink) outside")


@pytest.mark.parametrize("via", ["!j2:", "!include-jinja2:"])
def test_jinja_include_through_cwd_is_refused(tree, via):
    team_yaml = j2_include_yaml(tree, via, "jenkins_jobs.ini")
    os.chdir(tree.outside)
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, "'jenkins_jobs.ini' is outside")


def test_jinja_import_is_confined(tree):
    tree.outside.joinpath("macros.j2").write_text("{% macro m() %}" + SECRET + "{% endmacro %}")
    (tree.team / "macros.j2").symlink_to(tree.outside / "macros.j2")
    team_yaml = tree.write("team.yaml", """\
        - job:
            name: web-a
            description: !j2: "{% import 'macros.j2' as x %}{{ x.m() }}"
        """)
    assert SECRET in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, OUTSIDE_MSG)


# -- the Jinja2 sandbox ------------------------------------------------------------------------

PAYLOADS = [
    "''.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__",
    "lipsum.__globals__['os'].getcwd()",
]


def internals_yaml(tree: Tree, tag: str, payload: str) -> Path:
    if tag == "!j2:":
        return tree.write("team.yaml", f"- job:\n    name: web-a\n    description: !j2: \"{{{{ {payload} }}}}\"\n")
    if tag == "!j2-yaml:":
        # tojson: reprs hold quotes and newlines; braces would trip JJB's later {var} expansion.
        return tree.write("team.yaml", "- job:\n    name: web-a\n    builders: !j2-yaml: |\n"
                                       f"      - shell: {{{{ ({payload}) | string | replace('{{', '')"
                                       " | replace('}', '') | tojson }}\n")
    tree.write("internals.j2", f"{{{{ {payload} }}}}\n")
    return tree.write("team.yaml", "- job:\n    name: web-a\n    description: !include-jinja2: internals.j2\n")


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("tag", ["!j2:", "!j2-yaml:", "!include-jinja2:"])
def test_jinja_internals_are_refused(tree, tag, payload):
    team_yaml = internals_yaml(tree, tag, payload)
    plain = render([team_yaml], None)["web-a"].decode()
    assert "&lt;class " in plain or "&lt;function " in plain or str(Path.cwd()) in plain
    message = refused([team_yaml], tree.allowed, INTERNALS_MSG, tag)
    assert message.startswith(f"{team_yaml}:{line_of(team_yaml, tag)}:")


def test_jinja_filters_and_strict_undefined_still_work(tree):
    team_yaml = tree.write("team.yaml", """\
        - job:
            name: web-a
            description: !j2: "{{ 'abc' | upper }} {{ [3, 1, 2] | sort | join(',') }}"
        - job:
            name: web-b
            description: !j2: "{{ missing }}"
        """)
    with pytest.raises(JenkinsJobsException, match="'missing' is undefined"):
        render([team_yaml], tree.allowed)
    team_yaml.write_text("\n".join(team_yaml.read_text().splitlines()[:3]) + "\n")
    assert "ABC 1,2,3" in render([team_yaml], tree.allowed)["web-a"].decode()


# -- PyYAML's Python tags (JJB's Loader is the full yaml.Loader) -------------------------------

PYTHON_TAGS = [
    "!!python/object/apply:os.getcwd []",
    "!<tag:yaml.org,2002:python/object/apply:os.getcwd> []",
    "!!python/name:os.getcwd",
    "!!python/object/new:str [x]",
    "!!python/tuple [a, b]",
    "!!python/str x",
]


@pytest.mark.parametrize("value", PYTHON_TAGS)
def test_python_tags_are_refused(tree, value):
    team_yaml = tree.write("team.yaml", f"- job:\n    name: web-a\n    description: {value}\n")
    if "getcwd" in value and "name:" not in value:
        # The input is real: plain JJB runs the function while parsing.
        assert str(Path.cwd()) in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, "is not allowed in a team scope", f"{team_yaml}:3:")


def test_python_tag_through_tag_directive_is_refused(tree):
    team_yaml = tree.write("team.yaml", """\
        %TAG !p! tag:yaml.org,2002:python/
        ---
        - job:
            name: web-a
            description: !p!object/apply:os.getcwd []
        """)
    assert str(Path.cwd()) in render([team_yaml], None)["web-a"].decode()
    refused([team_yaml], tree.allowed, "is not allowed in a team scope")


# -- str.format attribute access in {var} expansion -------------------------------------------

ENV_FIELD = "d.__init__.__globals__[yaml].constructor.sys.modules[os].environ[JJB_CONFINED_SECRET]"


@pytest.fixture
def env_secret(monkeypatch):
    monkeypatch.setenv("JJB_CONFINED_SECRET", SECRET)


def format_yaml(tree: Tree, builder: str) -> Path:
    return tree.write("team.yaml", f"""\
        - job-template:
            name: 'web-{{name}}'
            builders:
              - {builder}
        - project:
            name: x
            d: {{a: 1}}
            jobs: ['web-{{name}}']
        """)


FORMAT_CASES = {
    "plain string": "shell: 'echo {%s}'" % ENV_FIELD,
    "j2-yaml output": "!j2-yaml: \"shell: echo {{ '{' }}%s{{ '}' }}\"" % ENV_FIELD,
    "join": "shell: !join: ['', ['echo {d', '%s}']]" % ENV_FIELD[1:],
    "include path": "shell: !include-raw-verbatim: '{%s}'" % ENV_FIELD,
}


@pytest.mark.parametrize("case", sorted(FORMAT_CASES))
def test_format_attribute_access_is_refused(tree, env_secret, case):
    team_yaml = format_yaml(tree, FORMAT_CASES[case])
    try:
        plain = render([team_yaml], None)["web-x"].decode()
    except JenkinsJobsException as exc:  # the include path case leaks through the error
        plain = all_text(exc)
    assert SECRET in plain
    refused([team_yaml], tree.allowed, "reads an attribute of a parameter, which is not allowed in a team scope")


def test_format_attribute_access_in_include_raw_expand_text_is_refused(tree, env_secret):
    tree.write("script.sh", "echo {%s}\n" % ENV_FIELD)
    team_yaml = format_yaml(tree, "shell: !include-raw-expand: script.sh")
    assert SECRET in render([team_yaml], None)["web-x"].decode()
    refused([team_yaml], tree.allowed, "reads an attribute of a parameter")


def test_format_attribute_access_in_a_format_spec_is_refused(tree):
    team_yaml = format_yaml(tree, "shell: 'echo {name:{d.__class__}}'")
    refused([team_yaml], tree.allowed, "'{d.__class__}' reads an attribute")


# -- files reached by listing the team's directories -------------------------------------------


def test_symlinked_yaml_file_outside_is_refused(tree):
    tree.outside.joinpath("secret.yaml").write_text(f"password: {SECRET}\n")
    (tree.team / "evil.yaml").symlink_to(tree.outside / "secret.yaml")
    paths = expand_paths([tree.team], recursive=True, excludes=[".*"])
    with pytest.raises(JenkinsJobsException) as info:
        render(paths, None)
    assert SECRET in str(info.value)  # plain JJB prints the file in its error
    refused(paths, tree.allowed, "outside the directories this scope may read")


def test_symlinked_directory_outside_is_refused(tree):
    tree.outside.joinpath("secret.yaml").write_text(f"password: {SECRET}\n")
    (tree.team / "evil").symlink_to(tree.outside, target_is_directory=True)
    tree.write("jobs.yaml", "- job:\n    name: web-a\n")
    paths = expand_paths([tree.team], recursive=True, excludes=[".*"])
    assert tree.team / "evil" in paths
    refused(paths, tree.allowed, "outside the directories this scope may read")


# -- same top-level errors as JJB --------------------------------------------------------------


@pytest.mark.parametrize("text", ["- [a, b]\n", "- {job: {name: a}, view: {name: b}}\n", "- bogus: {}\n", "a: b\n"])
def test_top_level_errors_match_jjb(tree, text):
    team_yaml = tree.write("team.yaml", text)
    with pytest.raises(JenkinsJobsException) as plain:
        render([team_yaml], None)
    with pytest.raises(JenkinsJobsException) as ours:
        render([team_yaml], tree.allowed)
    assert str(ours.value) == str(plain.value)


# -- registration and coverage -----------------------------------------------------------------


def jjb_tags() -> set[str]:
    return {cls.yaml_tag for cls in yaml_classes_list} | {tag for tag, _ in deprecated_yaml_tags}


def test_every_jjb_tag_is_handled_explicitly():
    # A JJB release that adds or renames a tag fails here until someone reviews it.
    assert CONFINED_TAGS | PASSTHROUGH_TAGS == jjb_tags()
    assert not CONFINED_TAGS & PASSTHROUGH_TAGS


def test_every_constructor_is_safe_confined_or_refused():
    table = ConfinedLoader.yaml_constructors
    # Strings (and !join:, which builds one) are JJB's, plus the str.format check.
    assert table["tag:yaml.org,2002:str"] is confined._construct_str
    assert table["!join:"] is confined._construct_join
    for tag, constructor in Loader.yaml_constructors.items():
        if tag in {"tag:yaml.org,2002:str", "!join:"}:
            continue
        if tag in yaml.SafeLoader.yaml_constructors:
            assert table[tag] is constructor, tag
        elif tag in CONFINED_TAGS:
            assert table[tag].func is confined._construct_confined, tag
        else:
            assert table[tag].func is confined._refuse_tag, tag
    for prefix in Loader.yaml_multi_constructors:
        if prefix is not None:
            assert ConfinedLoader.yaml_multi_constructors[prefix] is confined._refuse_multi_tag


def test_a_tag_nobody_reviewed_is_refused(tree):
    class FutureTag(IncludeRawVerbatim):
        yaml_tag = "!include-future:"

    class Probe(ConfinedLoader):
        pass

    confined._register(Probe, [*yaml_classes_list, FutureTag], deprecated_yaml_tags)
    loader = Probe.empty(make_jjb_config(), tree.allowed)
    with pytest.raises(ConfinementError, match="'!include-future:' is not allowed in a team scope"):
        loader.load("- job:\n    name: a\n    description: !include-future: x\n")
    assert "!include-future:" not in ConfinedLoader.yaml_constructors
    assert "!include-future:" not in Loader.yaml_constructors


def test_jjb_loader_constructors_are_untouched():
    assert ConfinedLoader.yaml_constructors is not Loader.yaml_constructors
    assert ConfinedLoader.yaml_multi_constructors is not Loader.yaml_multi_constructors
    for cls in yaml_classes_list:
        assert Loader.yaml_constructors[cls.yaml_tag] == cls.from_yaml
    for tag, cls in deprecated_yaml_tags:
        constructor = Loader.yaml_constructors[tag]
        assert (constructor.func, constructor.args) == (load_deprecated_yaml, (tag, cls))


def test_importing_confined_does_not_change_jjb_loader():
    # A fresh interpreter: snapshot JJB's tables, import this module, compare identities.
    script = textwrap.dedent("""\
        from jenkins_jobs.loader import Loader
        def snap():
            return ({k: id(v) for k, v in Loader.yaml_constructors.items()},
                    {k: id(v) for k, v in Loader.yaml_multi_constructors.items()})
        before = snap()
        import jjb_envdelivery.jjb.confined
        assert snap() == before, "Loader changed"
        print("unchanged")
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "unchanged", result.stderr


def test_subclass_instances_would_not_expand():
    # Why confined objects keep JJB's exact class: JJB dispatches on type(obj).
    class Sub(IncludeRawVerbatim):
        pass

    obj = Sub.__new__(Sub)
    with pytest.raises(JenkinsJobsException, match="Do not know how to expand type"):
        Expander().expand(obj, {})


def test_empty_allowed_roots_is_an_error(tree):
    with pytest.raises(ValueError):
        load_files_confined(make_jjb_config(), Roots(make_jjb_config()), [], [])
