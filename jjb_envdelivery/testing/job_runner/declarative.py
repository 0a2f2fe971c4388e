"""A reader for a small, explicit subset of Declarative Pipeline: a test instrument, not Jenkins.

The job runner runs the Pipeline jobs this project generates (``pipeline_job``, ``pipeline_run``);
their script is the service repository's Jenkinsfile. Jenkins compiles it as Groovy
(workflow-cps) and Declarative (pipeline-model-definition @ 42c9dc3e) turns the ``pipeline { }``
block into its model (``ModelParser.groovy``) before it runs it (``ModelInterpreter.groovy``).
This module reads the same text into a model for the subset below, and nothing else: every other
construct is refused with ``RunnerError`` naming the job, the Jenkinsfile, the line and the
construct ("not implemented by the job runner; the runner supports: …"), before the build runs.
Errors that real Jenkins reports when it compiles the script (a missing ``agent`` or
``stages`` section, an undefined section, a bad string escape) are ``CompileError``: the build
fails as it does in Jenkins ("WorkflowScript: 3: Missing required section "agent" @ line 3…").

The subset:

- Groovy lexis: ``//`` and ``/* */`` comments, a ``#!`` first line; string literals ``'…'``,
  ``'''…'''`` (no interpolation), ``"…"`` and ``\"\"\"…\"\"\"`` (GStrings: ``$NAME``,
  ``$a.b``, ``${expression}``), Groovy's escapes and ``\\`` line continuations; integers;
  ``true``, ``false``, ``null``; statements separated by newlines or ``;``; method calls with or
  without parentheses (``sh 'make'``, ``timeout(time: 5, unit: 'MINUTES')``), named arguments
  ``key: value`` (newlines allowed after a comma), trailing blocks ``{ … }``.
- Expressions (in arguments, ``${…}``, ``environment`` values and ``when { expression { … } }``):
  ``params.X``, ``env.X``, a bare NAME (the run's environment, as ``CpsScript.getProperty``
  resolves it, workflow-cps CpsScript.java:128-154), ``(…)``, ``!``, ``==``, ``!=``, ``&&``,
  ``||``, ``?:`` (Elvis), ``c ? a : b``, ``x as int|Integer|long|Long|String`` (Groovy's ``as``
  binds like a relational operator), the methods ``toInteger()``, ``trim()``, ``toString()``,
  ``toBoolean()``, ``toLowerCase()``, ``toUpperCase()``; Groovy truth (null, '', 0, false are
  false).
- ``pipeline { }`` with the sections ``agent``, ``options``, ``environment``, ``stages``,
  ``post`` (the model: ``Pipeline`` below); ``agent any``, ``agent { label EXPR }``,
  ``agent { node { label EXPR } }``; ``options { timeout(time: N, unit: 'SECONDS|MINUTES|HOURS|
  DAYS'); timestamps(); disableConcurrentBuilds(); skipDefaultCheckout() }``
  (``disableConcurrentBuilds`` is a job property Declarative writes into the job,
  Utils.groovy:580-721; the runner does not rewrite the stored job, and runs one build at a
  time anyway);
  ``environment { NAME = EXPR }`` (pipeline and stage level); ``stage('name') { when { … }
  environment { … } steps { … } post { … } }``; ``when`` with ``branch``, ``changeRequest()``,
  ``environment name: …, value: …``, ``expression { … }``, ``not``, ``allOf``, ``anyOf``,
  ``beforeAgent``/``beforeOptions``/``beforeInput`` (no stage agent, options or input exist
  here, so they change nothing); ``post`` conditions ``always``, ``aborted``, ``success``,
  ``unsuccessful``, ``unstable``, ``failure``, ``notBuilt``, ``cleanup``.
- Steps: ``sh`` (``script``, ``label``), ``echo``, ``archiveArtifacts`` (``artifacts``,
  ``excludes``, ``allowEmptyArchive``, ``onlyIfSuccessful``, ``fingerprint``,
  ``defaultExcludes``, ``caseSensitive``, ``followSymlinks``), ``junit`` (``testResults``,
  ``allowEmptyResults``, ``skipMarkingBuildUnstable``, ``skipOldReports``; ``keepLongStdio`` and
  ``healthScaleFactor`` change nothing the runner records),
  ``writeFile`` (``file``, ``text``, ``encoding``), ``error``, ``unstable``, ``checkout scm``,
  ``withCredentials([string(…), usernamePassword(…), usernameColonPassword(…), file(…),
  sshUserPrivateKey(…)]) { steps }``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import RunnerError

# --- errors -------------------------------------------------------------------------------------


class CompileError(Exception):
    """What Groovy or Declarative reject when Jenkins compiles the script: the build fails with
    ``MultipleCompilationErrorsException`` (ModelValidatorImpl / ModelParser messages)."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.col = col
        self.message = message

    def report(self, text: str) -> str:
        """The console text Jenkins prints for it (one error)."""
        lines = text.splitlines()
        source = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        return (f"org.codehaus.groovy.control.MultipleCompilationErrorsException: startup failed:\n"
                f"WorkflowScript: {self.line}: {self.message} @ line {self.line}, column "
                f"{self.col}.\n   {source}\n   {' ' * max(self.col - 1, 0)}^\n\n1 error\n")


class GroovyError(Exception):
    """A Groovy exception at run time (``MissingPropertyException``, ``NumberFormatException``,
    a null dereference): the build fails and its stack trace is printed (WorkflowRun.java:730-736)."""


SUPPORTED_SECTIONS = "agent, options, environment, stages, post"
SUPPORTED_STEPS = ("sh, echo, archiveArtifacts, junit, writeFile, error, unstable, checkout scm, "
                   "withCredentials([string|usernamePassword|usernameColonPassword|file|"
                   "sshUserPrivateKey(…)]) { … }")
SUPPORTED_OPTIONS = "timeout(time:, unit:), timestamps(), disableConcurrentBuilds(), skipDefaultCheckout()"
SUPPORTED_AGENTS = "agent any, agent { label EXPR }, agent { node { label EXPR } }"
SUPPORTED_WHEN = ("branch, changeRequest(), environment name:/value:, expression { }, not, allOf, anyOf, "
                  "beforeAgent, beforeOptions, beforeInput")
POST_CONDITIONS = ("always", "aborted", "success", "unsuccessful", "unstable", "failure",
                   "notBuilt", "cleanup")
SUPPORTED_EXPRESSIONS = ("literals, GStrings, params.X, env.X, NAME, ( ), !, ==, !=, &&, ||, ?:, "
                         "c ? a : b, as int|Integer|long|Long|String, .toInteger() .trim() "
                         ".toString() .toBoolean() .toLowerCase() .toUpperCase()")
METHODS = ("toInteger", "trim", "toString", "toBoolean", "toLowerCase", "toUpperCase")
CAST_TYPES = ("int", "Integer", "long", "Long", "String")


class Source:
    """The Jenkinsfile being read: names the job and the path in every refusal."""

    def __init__(self, job: str, path: str, text: str) -> None:
        self.job = job
        self.path = path
        self.text = text

    def unsupported(self, line: int, construct: str, supported: str) -> RunnerError:
        return RunnerError(f"{self.job}: {self.path}:{line}: {construct}: not implemented by the "
                           f"job runner; the runner supports: {supported}")


# --- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tok:
    kind: str  # str | num | id | kw | op | nl | eof
    value: Any
    line: int
    col: int


# longest first
_OPS = ("==~", "?:", "?.", "*.", "==", "!=", "&&", "||", "<=", ">=", "->", "++", "--", "+=", "-=",
        "*=", "/=", "**", "<<", ">>", "=~", "..", "{", "}", "(", ")", "[", "]", ",", ":", "=", ".",
        "!", "?", ";", "<", ">", "+", "-", "*", "/", "%", "~", "&", "|", "^", "@")
_KEYWORDS = {"true": True, "false": False, "null": None}
_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", "f": "\f", "r": "\r", "\\": "\\", "'": "'",
            '"': '"', "$": "$", "/": "/"}
_IDENT_START = re.compile(r"[A-Za-z_$]")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Lexer:
    def __init__(self, src: Source, text: str, line: int = 1, col: int = 1) -> None:
        self.src = src
        self.text = text
        self.pos = 0
        self.line = line
        self.col = col

    def _advance(self, n: int) -> str:
        chunk = self.text[self.pos:self.pos + n]
        for ch in chunk:
            if ch == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
        self.pos += n
        return chunk

    def tokens(self) -> list[Tok]:
        out: list[Tok] = []
        text = self.text
        if text.startswith("#!"):
            self._advance(text.find("\n") if "\n" in text else len(text))
        while self.pos < len(text):
            ch = text[self.pos]
            line, col = self.line, self.col
            if ch in " \t\r\f":
                self._advance(1)
            elif ch == "\\" and text.startswith("\\\n", self.pos):
                self._advance(2)  # a line continuation
            elif ch == "\n":
                self._advance(1)
                if out and out[-1].kind != "nl":
                    out.append(Tok("nl", "\n", line, col))
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self._advance((end if end >= 0 else len(text)) - self.pos)
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise CompileError(line, col, "unexpected token: /* (an unterminated comment)")
                self._advance(end + 2 - self.pos)
            elif ch in "'\"":
                out.append(Tok("str", self._string(), line, col))
            elif ch.isdigit():
                m = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?[A-Za-z]?").match(text, self.pos)
                assert m is not None
                literal = m.group(0)
                self._advance(len(literal))
                out.append(Tok("num", int(literal) if literal.isdigit() else literal, line, col))
            elif _IDENT_START.match(ch):
                m = _IDENT.match(text, self.pos)
                assert m is not None
                word = self._advance(len(m.group(0)))
                if word in _KEYWORDS:
                    out.append(Tok("kw", _KEYWORDS[word], line, col))
                else:
                    out.append(Tok("id", word, line, col))
            else:
                op = next((o for o in _OPS if text.startswith(o, self.pos)), None)
                if op is None:
                    raise CompileError(line, col, f"unexpected char: {ch!r}")
                self._advance(len(op))
                out.append(Tok("op", op, line, col))
        out.append(Tok("eof", None, self.line, self.col))
        return out

    # --- strings ------------------------------------------------------------------------------

    def _string(self) -> StrLit:
        text = self.text
        line, col = self.line, self.col
        quote = text[self.pos]
        triple = text.startswith(quote * 3, self.pos)
        delimiter = quote * 3 if triple else quote
        self._advance(len(delimiter))
        gstring = quote == '"'
        parts: list[str | Expr] = []
        buf: list[str] = []
        while True:
            if self.pos >= len(text):
                raise CompileError(line, col, "unexpected end of file in a string literal")
            if text.startswith(delimiter, self.pos):
                self._advance(len(delimiter))
                break
            ch = text[self.pos]
            if ch == "\n" and not triple:
                raise CompileError(line, col, "expecting anything but ''\\n''; got it anyway "
                                              "(a string literal ends at the line's end)")
            if ch == "\\":
                buf.append(self._escape())
            elif ch == "$" and gstring:
                parts.append("".join(buf))
                buf = []
                parts.append(self._interpolation())
            else:
                buf.append(self._advance(1))
        parts.append("".join(buf))
        parts = [p for p in parts if not (isinstance(p, str) and p == "")]
        return StrLit(tuple(parts) if parts else ("",), gstring and any(not isinstance(p, str)
                                                                       for p in parts), line)

    def _escape(self) -> str:
        text = self.text
        line, col = self.line, self.col
        nxt = text[self.pos + 1:self.pos + 2]
        if nxt == "\n":
            self._advance(2)
            return ""
        if nxt in _ESCAPES:
            self._advance(2)
            return _ESCAPES[nxt]
        if nxt == "u":
            m = re.compile(r"u+([0-9A-Fa-f]{4})").match(text, self.pos + 1)
            if m:
                self._advance(1 + len(m.group(0)))
                return chr(int(m.group(1), 16))
        m = re.compile(r"[0-3]?[0-7]{1,2}").match(text, self.pos + 1)
        if m:
            self._advance(1 + len(m.group(0)))
            return chr(int(m.group(0), 8))
        raise CompileError(line, col, f"unexpected char: '\\\\{nxt}' (not a Groovy string escape)")

    def _interpolation(self) -> Expr:
        text = self.text
        line, col = self.line, self.col
        self._advance(1)  # $
        if text.startswith("{", self.pos):
            start = self.pos + 1
            depth, i = 1, start
            while i < len(text):
                c = text[i]
                if c in "'\"":
                    j = i + 1
                    while j < len(text) and text[j] != c:
                        j += 2 if text[j] == "\\" else 1
                    i = j + 1
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            else:
                raise CompileError(line, col, "unexpected end of file in ${…}")
            inner = text[start:i]
            self._advance(1)
            inner_line, inner_col = self.line, self.col
            self._advance(len(inner) + 1)
            if not inner.strip():
                raise CompileError(line, col, "empty ${} in a GString")
            try:
                tokens = _Lexer(self.src, inner, inner_line, inner_col).tokens()
                parser = _Parser(self.src, tokens)
                expr = parser.expression()
                parser.skip_nl()
                if parser.peek().kind != "eof":
                    t = parser.peek()
                    raise self.src.unsupported(t.line, f"{_shown(t)!r} in ${{{inner.strip()}}}",
                                               SUPPORTED_EXPRESSIONS)
            except (RunnerError, CompileError) as exc:
                return Invalid(exc, line)  # raised where the model reads it (check_expr)
            return expr
        m = _NAME.match(text, self.pos)
        if not m:
            raise CompileError(line, col, "illegal string body character after dollar sign; "
                                          "solution: either escape a literal dollar sign \"\\$5\" "
                                          "or bracket the value expression \"${5}\"")
        self._advance(len(m.group(0)))
        expr: Expr = Name(m.group(0), line)
        while text.startswith(".", self.pos) and _NAME.match(text, self.pos + 1):
            m = _NAME.match(text, self.pos + 1)
            assert m is not None
            self._advance(1 + len(m.group(0)))
            expr = Prop(expr, m.group(0), line)
        return expr


# --- expressions --------------------------------------------------------------------------------


class Expr:
    line: int


@dataclass(frozen=True)
class Invalid(Expr):
    """A ``${…}`` the reader could not read; its error is raised when the model checks it."""

    error: Exception
    line: int


@dataclass(frozen=True)
class Lit(Expr):
    value: Any
    line: int


@dataclass(frozen=True)
class StrLit(Expr):
    parts: tuple[Any, ...]  # str | Expr
    interpolated: bool
    line: int

    @property
    def constant(self) -> str | None:
        return None if self.interpolated else "".join(self.parts)


@dataclass(frozen=True)
class Name(Expr):
    name: str
    line: int


@dataclass(frozen=True)
class Prop(Expr):
    target: Expr
    name: str
    line: int


@dataclass(frozen=True)
class MethodCall(Expr):
    target: Expr
    name: str
    line: int


@dataclass(frozen=True)
class FuncCall(Expr):
    name: str
    args: tuple[Expr, ...]
    named: tuple[tuple[str, Expr], ...]
    line: int


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    operand: Expr
    line: int


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # == != && || ?:
    left: Expr
    right: Expr
    line: int


@dataclass(frozen=True)
class Ternary(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr
    line: int


@dataclass(frozen=True)
class Cast(Expr):
    operand: Expr
    type: str
    line: int


@dataclass(frozen=True)
class ListLit(Expr):
    items: tuple[Expr, ...]
    line: int


# --- statements ---------------------------------------------------------------------------------


@dataclass
class Unparsed:
    """A block the reader could not read: the error is raised when the model reads the block,
    so that an unsupported construct around it (``script { … }``) is named first."""

    error: Exception


@dataclass
class Call:
    """``name args… { body }`` or ``name(args…) { body }``."""

    name: str
    args: list[Expr]
    named: list[tuple[str, Expr]]
    body: list[Any] | Unparsed | None
    parens: bool
    line: int
    col: int


@dataclass
class Assign:
    name: str
    value: Expr
    line: int
    col: int


@dataclass
class ExprStmt:
    expr: Expr
    is_return: bool
    line: int
    col: int


_ARG_START_KINDS = ("str", "num", "id", "kw")


class _Parser:
    def __init__(self, src: Source, tokens: list[Tok]) -> None:
        self.src = src
        self.toks = tokens
        self.i = 0

    # --- token helpers -------------------------------------------------------------------------

    def peek(self, n: int = 0) -> Tok:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def next(self) -> Tok:
        t = self.peek()
        self.i += 1
        return t

    def is_op(self, value: str, n: int = 0) -> bool:
        t = self.peek(n)
        return t.kind == "op" and t.value == value

    def expect_op(self, value: str) -> Tok:
        t = self.next()
        if t.kind != "op" or t.value != value:
            raise CompileError(t.line, t.col, f"expecting '{value}', found '{_shown(t)}'")
        return t

    def skip_nl(self) -> None:
        while self.peek().kind == "nl" or self.is_op(";"):
            self.i += 1

    def _unsupported_op(self, t: Tok) -> RunnerError:
        return self.src.unsupported(t.line, f"the operator {t.value!r}", SUPPORTED_EXPRESSIONS)

    # --- statements ----------------------------------------------------------------------------

    def script(self) -> list[Any]:
        stmts = self.statements(top=True)
        t = self.peek()
        if t.kind != "eof":
            raise CompileError(t.line, t.col, f"unexpected token: {_shown(t)}")
        return stmts

    def block(self) -> list[Any] | Unparsed:
        self.expect_op("{")
        start = self.i
        try:
            stmts = self.statements(top=False)
            self.expect_op("}")
            return stmts
        except (RunnerError, CompileError) as exc:
            self.i, depth = start, 1  # skip to the matching brace (strings are single tokens)
            while depth:
                t = self.next()
                if t.kind == "eof":
                    raise exc from None
                if t.kind == "op" and t.value in ("{", "}"):
                    depth += 1 if t.value == "{" else -1
            return Unparsed(exc)

    def statements(self, top: bool) -> list[Any]:
        out: list[Any] = []
        self.skip_nl()
        while True:
            t = self.peek()
            if t.kind == "eof" or (not top and self.is_op("}")):
                return out
            out.append(self.statement())
            t = self.peek()
            if t.kind == "nl" or self.is_op(";"):
                self.skip_nl()
            elif not (t.kind == "eof" or self.is_op("}")):
                raise CompileError(t.line, t.col, f"unexpected token: {_shown(t)}")

    def statement(self) -> Any:
        t = self.peek()
        if t.kind == "op" and t.value == "@":
            raise self.src.unsupported(t.line, "an annotation (@Library, …)", "a Declarative "
                                       "pipeline { } without shared libraries")
        if t.kind == "id" and t.value in ("def", "import", "if", "for", "while", "try", "switch",
                                          "class"):
            raise self.src.unsupported(t.line, f"the Groovy statement {t.value!r}",
                                       "Declarative sections and steps, and expressions")
        if t.kind == "id" and t.value == "return":
            self.next()
            return ExprStmt(self.expression(), True, t.line, t.col)
        if t.kind == "id":
            nxt = self.peek(1)
            if nxt.kind == "op" and nxt.value == "=":
                self.i += 2
                return Assign(t.value, self.expression(), t.line, t.col)
            if nxt.kind == "op" and nxt.value == "(":
                self.i += 1
                args, named = self.arguments(")")
                body = self.block() if self.is_op("{") else None
                if self.peek().kind == "op" and self.peek().value in (".", "?.", "?:", "?", "==",
                                                                      "!=", "&&", "||"):
                    raise self._unsupported_op(self.peek())
                return Call(t.value, args, named, body, True, t.line, t.col)
            if nxt.kind == "op" and nxt.value == "{":
                self.i += 1
                return Call(t.value, [], [], self.block(), False, t.line, t.col)
            if nxt.kind in _ARG_START_KINDS and nxt.line == t.line and not (
                    nxt.kind == "id" and nxt.value in ("as", "instanceof", "in")):
                self.i += 1
                args, named = self.command_arguments()
                body = self.block() if self.is_op("{") else None
                return Call(t.value, args, named, body, False, t.line, t.col)
            if nxt.kind == "op" and nxt.value == "[" and nxt.line == t.line:
                raise self.src.unsupported(nxt.line, f"{t.value}[…] (indexing)",
                                           SUPPORTED_EXPRESSIONS)
        return ExprStmt(self.expression(), False, t.line, t.col)

    def arguments(self, close: str) -> tuple[list[Expr], list[tuple[str, Expr]]]:
        """``(a, k: v, …)``; newlines are free inside the parentheses."""
        self.expect_op("(" if close == ")" else "[")
        args: list[Expr] = []
        named: list[tuple[str, Expr]] = []
        self._skip_newlines()
        while not self.is_op(close):
            self._argument(args, named)
            self._skip_newlines()
            if self.is_op(","):
                self.next()
                self._skip_newlines()
            elif not self.is_op(close):
                t = self.peek()
                raise CompileError(t.line, t.col, f"expecting '{close}', found '{_shown(t)}'")
        self.next()
        return args, named

    def command_arguments(self) -> tuple[list[Expr], list[tuple[str, Expr]]]:
        """``name a, k: v`` to the end of the line (continued after a trailing comma)."""
        args: list[Expr] = []
        named: list[tuple[str, Expr]] = []
        while True:
            self._argument(args, named)
            if self.is_op(","):
                self.next()
                self._skip_newlines()
                continue
            return args, named

    def _argument(self, args: list[Expr], named: list[tuple[str, Expr]]) -> None:
        t, nxt = self.peek(), self.peek(1)
        if t.kind in ("id", "str") and nxt.kind == "op" and nxt.value == ":":
            key = t.value if t.kind == "id" else t.value.constant
            if key is None:
                raise self.src.unsupported(t.line, "an interpolated map key", "plain keys")
            self.i += 2
            self._skip_newlines()
            named.append((key, self.expression()))
        else:
            args.append(self.expression())

    def _skip_newlines(self) -> None:
        while self.peek().kind == "nl":
            self.i += 1

    # --- expressions ---------------------------------------------------------------------------

    def expression(self) -> Expr:
        cond = self.elvis()
        if self.is_op("?"):
            t = self.next()
            self._skip_newlines()
            then = self.expression()
            self._skip_newlines()
            self.expect_op(":")
            self._skip_newlines()
            return Ternary(cond, then, self.expression(), t.line)
        return cond

    def elvis(self) -> Expr:
        left = self.disjunction()
        if self.is_op("?:"):
            t = self.next()
            self._skip_newlines()
            return Binary("?:", left, self.elvis(), t.line)
        return left

    def disjunction(self) -> Expr:
        return self._chain("||", self.conjunction)

    def conjunction(self) -> Expr:
        return self._chain("&&", self.equality)

    def _chain(self, op: str, operand) -> Expr:
        """A left-associative chain of `op`; a line may break after the operator."""
        left = operand()
        while self.is_op(op):
            t = self.next()
            self._skip_newlines()
            left = Binary(op, left, operand(), t.line)
        return left

    def equality(self) -> Expr:
        left = self.relational()
        while self.peek().kind == "op" and self.peek().value in ("==", "!="):
            t = self.next()
            left = Binary(t.value, left, self.relational(), t.line)
        return left

    def relational(self) -> Expr:
        left = self.unary()
        while self.peek().kind == "id" and self.peek().value == "as":
            t = self.next()
            ty = self.next()
            if ty.kind != "id" or ty.value not in CAST_TYPES:
                raise self.src.unsupported(ty.line, f"as {_shown(ty)}", "as " + "|".join(CAST_TYPES))
            left = Cast(left, ty.value, t.line)
        t = self.peek()
        if t.kind == "op" and t.value in ("<", ">", "<=", ">=", "=~", "==~", "+", "-", "*", "/",
                                          "%", "..", "**", "<<", ">>", "&", "|", "^"):
            raise self._unsupported_op(t)
        if t.kind == "id" and t.value in ("in", "instanceof"):
            raise self.src.unsupported(t.line, f"the operator {t.value!r}", SUPPORTED_EXPRESSIONS)
        return left

    def unary(self) -> Expr:
        t = self.peek()
        if self.is_op("!"):
            self.next()
            return Unary("!", self.unary(), t.line)
        if t.kind == "op" and t.value in ("-", "+", "~", "++", "--"):
            raise self._unsupported_op(t)
        return self.postfix()

    def postfix(self) -> Expr:
        expr = self.primary()
        while True:
            t = self.peek()
            if self.is_op("."):
                self.next()
                name = self.next()
                if name.kind != "id":
                    raise CompileError(name.line, name.col, f"unexpected token: {_shown(name)}")
                if self.is_op("("):
                    args, named = self.arguments(")")
                    if name.value not in METHODS or args or named:
                        raise self.src.unsupported(name.line, f"the method call .{name.value}(…)",
                                                   SUPPORTED_EXPRESSIONS)
                    expr = MethodCall(expr, name.value, name.line)
                else:
                    expr = Prop(expr, name.value, name.line)
            elif t.kind == "op" and t.value in ("?.", "*.", "[", "++", "--"):
                raise self._unsupported_op(t)
            else:
                return expr

    def primary(self) -> Expr:
        t = self.next()
        if t.kind == "str":
            return t.value
        if t.kind == "num":
            if not isinstance(t.value, int):
                raise self.src.unsupported(t.line, f"the number {t.value}", "integers")
            return Lit(t.value, t.line)
        if t.kind == "kw":
            return Lit(t.value, t.line)
        if t.kind == "id":
            if self.is_op("("):
                args, named = self.arguments(")")
                return FuncCall(t.value, tuple(args), tuple(named), t.line)
            return Name(t.value, t.line)
        if t.kind == "op" and t.value == "(":
            self._skip_newlines()
            inner = self.expression()
            self._skip_newlines()
            self.expect_op(")")
            return inner
        if t.kind == "op" and t.value == "[":
            self.i -= 1
            args, named = self.arguments("]")
            if named:
                raise self.src.unsupported(t.line, "a map literal [k: v]", SUPPORTED_EXPRESSIONS)
            return ListLit(tuple(args), t.line)
        if t.kind == "op" and t.value == "{":
            raise self.src.unsupported(t.line, "a closure { … } as a value", SUPPORTED_EXPRESSIONS)
        if t.kind == "op" and t.value == "/":
            raise self.src.unsupported(t.line, "a slashy string /…/", "'…', \"…\", '''…''', "
                                                                      "\"\"\"…\"\"\"")
        raise CompileError(t.line, t.col, f"unexpected token: {_shown(t)}")


def _shown(t: Tok) -> str:
    if t.kind == "eof":
        return "<EOF>"
    if t.kind == "nl":
        return "<newline>"
    if t.kind == "str":
        return "a string"
    return str(t.value)


# --- the Declarative model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    label: Expr | None  # None: agent any
    line: int


@dataclass(frozen=True)
class Timeout:
    time: Expr
    unit: str  # SECONDS | MINUTES | HOURS | DAYS
    line: int


@dataclass(frozen=True)
class Wrapper:
    """An ``options`` entry that wraps the stages (ModelInterpreter.recursiveWrappers), in
    declaration order: ``timeout`` or ``timestamps``."""

    name: str
    timeout: Timeout | None
    line: int


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: Expr
    line: int


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[Expr, ...]
    named: dict[str, Expr]
    line: int
    bindings: tuple[tuple[str, dict[str, Expr]], ...] = ()  # withCredentials: (symbol, args)
    body: tuple[Step, ...] = ()  # withCredentials' block


@dataclass(frozen=True)
class Condition:
    """A ``when`` condition: kind branch | changeRequest | environment | expression | not |
    allOf | anyOf."""

    kind: str
    line: int
    args: dict[str, Expr] = field(default_factory=dict)
    children: tuple[Condition, ...] = ()
    body: tuple[ExprStmt, ...] = ()


@dataclass(frozen=True)
class Post:
    conditions: tuple[tuple[str, tuple[Step, ...]], ...]  # in ModelInterpreter's order


@dataclass(frozen=True)
class Stage:
    name: str
    when: tuple[Condition, ...]  # all must pass (the `when` block is an implicit allOf)
    environment: tuple[EnvEntry, ...]
    steps: tuple[Step, ...]
    post: Post | None
    line: int


@dataclass(frozen=True)
class Pipeline:
    agent: Agent
    wrappers: tuple[Wrapper, ...]
    skip_default_checkout: bool
    environment: tuple[EnvEntry, ...]
    stages: tuple[Stage, ...]
    post: Post | None
    line: int


def parse(job: str, path: str, text: str) -> Pipeline:
    """Read a Jenkinsfile. ``RunnerError``: outside the subset; ``CompileError``: Jenkins would
    not compile it either."""
    src = Source(job, path, text)
    stmts = _Parser(src, _Lexer(src, text).tokens()).script()
    return _Model(src).pipeline(stmts)


_UNSUPPORTED_SECTIONS = ("parameters", "triggers", "tools", "libraries", "input", "when", "matrix")
_KNOWN_SECTIONS = ("agent", "options", "environment", "stages", "post")


class _Model:
    def __init__(self, src: Source) -> None:
        self.src = src

    def no(self, line: int, construct: str, supported: str) -> RunnerError:
        return self.src.unsupported(line, construct, supported)

    @staticmethod
    def body(c: Call) -> list[Any]:
        if isinstance(c.body, Unparsed):
            raise c.body.error
        return c.body or []

    # --- pipeline ------------------------------------------------------------------------------

    def pipeline(self, stmts: list[Any]) -> Pipeline:
        blocks = [s for s in stmts if isinstance(s, Call) and s.name == "pipeline"]
        others = [s for s in stmts if not (isinstance(s, Call) and s.name == "pipeline")]
        if others:
            s = others[0]
            what = s.name if isinstance(s, Call) else type(s).__name__
            raise self.no(s.line, f"{what!r} outside pipeline {{ }} (Scripted Pipeline)",
                          "one Declarative pipeline { } block")
        if not blocks:
            raise self.no(1, "a script without pipeline { } (Scripted Pipeline)",
                          "one Declarative pipeline { } block")
        if len(blocks) > 1:
            raise CompileError(blocks[1].line, blocks[1].col, "Only one pipeline { ... } block "
                                                              "can be defined in the Jenkinsfile")
        root = blocks[0]
        if root.args or root.named or root.body is None:
            raise CompileError(root.line, root.col, "Expected a block with the pipeline")
        sections: dict[str, Call] = {}
        for s in self.body(root):
            if not isinstance(s, Call):
                raise CompileError(s.line, s.col, "Expected a section")
            if s.name in _UNSUPPORTED_SECTIONS:
                raise self.no(s.line, f"the section {s.name!r}", SUPPORTED_SECTIONS)
            if s.name not in _KNOWN_SECTIONS:
                raise CompileError(s.line, s.col, f'Undefined section "{s.name}"')
            if s.name in sections:
                raise CompileError(s.line, s.col, f'Multiple occurrences of the {s.name} section')
            sections[s.name] = s
        for required in ("agent", "stages"):
            if required not in sections:
                raise CompileError(root.line, root.col, f'Missing required section "{required}"')
        wrappers: tuple[Wrapper, ...] = ()
        skip = False
        if "options" in sections:
            wrappers, skip = self.options(sections["options"])
        return Pipeline(
            agent=self.agent(sections["agent"]), wrappers=wrappers, skip_default_checkout=skip,
            environment=self.environment(sections.get("environment")),
            stages=self.stages(sections["stages"]),
            post=self.post(sections["post"]) if "post" in sections else None, line=root.line)

    def agent(self, s: Call) -> Agent:
        if s.body is None:
            if len(s.args) == 1 and not s.named and isinstance(s.args[0], Name):
                kind = s.args[0].name
                if kind == "any":
                    return Agent(None, s.line)
                if kind == "none":
                    raise self.no(s.line, "agent none (stages then need their own agents)",
                                  SUPPORTED_AGENTS)
            raise CompileError(s.line, s.col, 'Only "agent none", "agent any" or "agent {...}" '
                                              'are allowed.')
        if s.args or s.named:
            raise CompileError(s.line, s.col, 'Only "agent none", "agent any" or "agent {...}" '
                                              'are allowed.')
        entries = self.body(s)
        if len(entries) != 1 or not isinstance(entries[0], Call):
            raise CompileError(s.line, s.col, "Only one agent type is allowed per agent section")
        e = entries[0]
        if e.name == "node" and e.body is not None and not e.args and not e.named:
            inner = self.body(e)
            labels = [i for i in inner if isinstance(i, Call) and i.name == "label"]
            rest = [i for i in inner if not (isinstance(i, Call) and i.name == "label")]
            if rest:
                r = rest[0]
                raise self.no(r.line, f"agent {{ node {{ {getattr(r, 'name', '…')} … }} }}",
                              SUPPORTED_AGENTS)
            if len(labels) != 1:
                raise CompileError(e.line, e.col, 'Missing required parameter: "label"')
            e = labels[0]
        if e.name != "label":
            raise self.no(e.line, f"agent {{ {e.name} … }}", SUPPORTED_AGENTS)
        if e.body is not None or e.named or len(e.args) != 1:
            raise self.no(e.line, "agent { label … } with other settings (customWorkspace, …)",
                          SUPPORTED_AGENTS)
        self.check_expr(e.args[0])
        return Agent(e.args[0], s.line)

    def options(self, s: Call) -> tuple[tuple[Wrapper, ...], bool]:
        wrappers: list[Wrapper] = []
        skip = False
        for o in self.section_body(s):
            if not isinstance(o, Call) or o.body is not None:
                raise CompileError(o.line, o.col, "Expected an option")
            if o.name == "timeout":
                named = dict(o.named)
                if o.args:
                    named.setdefault("time", o.args[0])
                extra = set(named) - {"time", "unit", "activity"}
                if extra or "time" not in named:
                    raise CompileError(o.line, o.col, 'Missing required parameter: "time"'
                                       if "time" not in named else
                                       f"Invalid parameter \"{sorted(extra)[0]}\", did you mean "
                                       f"\"time\"?")
                activity = named.get("activity")
                if activity is not None and not (isinstance(activity, Lit)
                                                 and activity.value is False):
                    raise self.no(o.line, "timeout(activity: true)", SUPPORTED_OPTIONS)
                unit = named.get("unit")
                unit_name = "MINUTES"
                if unit is not None:
                    constant = unit.constant if isinstance(unit, StrLit) else None
                    if constant not in ("SECONDS", "MINUTES", "HOURS", "DAYS"):
                        raise self.no(o.line, "timeout unit other than 'SECONDS', 'MINUTES', "
                                              "'HOURS' or 'DAYS' literals", SUPPORTED_OPTIONS)
                    unit_name = constant
                self.check_expr(named["time"])
                wrappers.append(Wrapper("timeout", Timeout(named["time"], unit_name, o.line),
                                        o.line))
            elif o.name == "timestamps":
                self.no_arguments(o)
                wrappers.append(Wrapper("timestamps", None, o.line))
            elif o.name == "disableConcurrentBuilds":
                extra = [k for k, _ in o.named if k != "abortPrevious"]
                if o.args or extra:
                    raise CompileError(o.line, o.col, "Invalid parameters for "
                                                      "disableConcurrentBuilds")
            elif o.name == "skipDefaultCheckout":
                if o.named or len(o.args) > 1:
                    raise CompileError(o.line, o.col, "Invalid parameters for skipDefaultCheckout")
                value = o.args[0] if o.args else Lit(True, o.line)
                if not isinstance(value, Lit) or not isinstance(value.value, bool):
                    raise self.no(o.line, "skipDefaultCheckout(EXPR)", "skipDefaultCheckout() or "
                                  "skipDefaultCheckout(true|false)")
                skip = value.value
            else:
                raise self.no(o.line, f"the option {o.name}(…)", SUPPORTED_OPTIONS)
        return tuple(wrappers), skip

    def no_arguments(self, c: Call) -> None:
        if c.args or c.named:
            raise CompileError(c.line, c.col, f"{c.name}() takes no arguments")

    def section_body(self, s: Call) -> list[Any]:
        if s.body is None or s.args or s.named:
            raise CompileError(s.line, s.col, f'Not a valid section definition: "{s.name}". Some '
                                              f'extra configuration is required.')
        return self.body(s)

    def environment(self, s: Call | None) -> tuple[EnvEntry, ...]:
        if s is None:
            return ()
        out: list[EnvEntry] = []
        for e in self.section_body(s):
            if not isinstance(e, Assign):
                raise CompileError(e.line, e.col, "Expected name=value pairs")
            if isinstance(e.value, FuncCall):
                raise self.no(e.line, f"{e.name} = {e.value.name}(…) in environment (credentials "
                                      f"and other helpers)", "NAME = EXPR")
            self.check_expr(e.value)
            out.append(EnvEntry(e.name, e.value, e.line))
        return tuple(out)

    def stages(self, s: Call) -> tuple[Stage, ...]:
        out: list[Stage] = []
        names: set[str] = set()
        for st in self.section_body(s):
            if not (isinstance(st, Call) and st.name == "stage"):
                raise CompileError(st.line, st.col, "Expected a stage")
            if len(st.args) != 1 or st.named or st.body is None:
                raise CompileError(st.line, st.col, "Expected a stage name and a block")
            name_expr = st.args[0]
            name = name_expr.constant if isinstance(name_expr, StrLit) else None
            if name is None:
                raise self.no(st.line, "a stage name that is not a plain string", "stage('name')")
            if name in names:
                raise CompileError(st.line, st.col, f'Duplicate stage name: "{name}"')
            names.add(name)
            out.append(self.stage(name, st))
        if not out:
            raise CompileError(s.line, s.col, "No stages specified")
        return tuple(out)

    def stage(self, name: str, st: Call) -> Stage:
        parts: dict[str, Call] = {}
        for p in self.body(st):
            if not isinstance(p, Call):
                raise CompileError(p.line, p.col, "Expected a stage section")
            if p.name in ("agent", "options", "tools", "input", "parallel", "matrix", "stages",
                          "failFast"):
                raise self.no(p.line, f"{p.name} in a stage", "when, environment, steps, post in "
                                                              "a stage")
            if p.name not in ("when", "environment", "steps", "post"):
                raise CompileError(p.line, p.col, f'Unknown stage section "{p.name}". Starting '
                                                  f'with version 0.5, steps in a stage must be in a '
                                                  f'‘steps’ block.')
            if p.name in parts:
                raise CompileError(p.line, p.col, f"Multiple occurrences of the {p.name} section")
            parts[p.name] = p
        if "steps" not in parts:
            raise CompileError(st.line, st.col, f'Expected one of "steps", "stages", or "parallel" '
                                                f'for stage "{name}"')
        steps = self.steps(self.section_body(parts["steps"]))
        if not steps:
            raise CompileError(parts["steps"].line, parts["steps"].col, "No steps specified for "
                                                                        "branch")
        return Stage(name=name, when=self.when(parts["when"]) if "when" in parts else (),
                     environment=self.environment(parts.get("environment")), steps=steps,
                     post=self.post(parts["post"]) if "post" in parts else None, line=st.line)

    # --- when --------------------------------------------------------------------------------

    def when(self, s: Call) -> tuple[Condition, ...]:
        out: list[Condition] = []
        for c in self.section_body(s):
            if isinstance(c, Call) and c.name in ("beforeAgent", "beforeOptions", "beforeInput"):
                continue  # no stage agent, options or input in the subset: nothing to reorder
            out.append(self.condition(c))
        if not out:
            raise CompileError(s.line, s.col, "Empty when closure, remove the property or add "
                                              "some condition")
        return tuple(out)

    def condition(self, c: Any) -> Condition:
        if not isinstance(c, Call):
            raise CompileError(c.line, c.col, "Expected a when condition")
        if c.name == "branch":
            named = dict(c.named)
            if c.args:
                named.setdefault("pattern", c.args[0])
            if "pattern" not in named or set(named) - {"pattern", "comparator"}:
                raise CompileError(c.line, c.col, 'Missing required parameter: "pattern"')
            for v in named.values():
                self.check_expr(v)
            return Condition("branch", c.line, args=named)
        if c.name == "changeRequest":
            if c.args or c.named:
                raise self.no(c.line, "changeRequest(…) with arguments", "changeRequest()")
            return Condition("changeRequest", c.line)
        if c.name == "environment":
            named = dict(c.named)
            if set(named) - {"name", "value", "ignoreCase", "comparator"} or \
                    {"name", "value"} - set(named):
                raise CompileError(c.line, c.col, 'Missing required parameter: "name"/"value"')
            if "comparator" in named:
                raise self.no(c.line, "environment(comparator: …)", "environment name:, value:, "
                                                                    "ignoreCase:")
            for v in named.values():
                self.check_expr(v)
            return Condition("environment", c.line, args=named)
        if c.name == "expression":
            if c.body is None or c.args or c.named:
                raise CompileError(c.line, c.col, "Expected a block for expression")
            body: list[ExprStmt] = []
            for b in self.body(c):
                if not isinstance(b, ExprStmt):
                    raise self.no(b.line, "a statement other than an expression in expression { }",
                                  SUPPORTED_EXPRESSIONS)
                self.check_expr(b.expr)
                body.append(b)
            return Condition("expression", c.line, body=tuple(body))
        if c.name in ("not", "allOf", "anyOf"):
            if c.body is None or c.args or c.named:
                raise CompileError(c.line, c.col, f"Expected a block for {c.name}")
            children = tuple(self.condition(x) for x in self.body(c))
            if c.name == "not" and len(children) != 1:
                raise CompileError(c.line, c.col, "Not must have exactly one child condition")
            if not children:
                raise CompileError(c.line, c.col, f"Empty {c.name} condition")
            return Condition(c.name, c.line, children=children)
        raise self.no(c.line, f"the when condition {c.name}", SUPPORTED_WHEN)

    # --- post --------------------------------------------------------------------------------

    def post(self, s: Call) -> Post:
        found: dict[str, tuple[Step, ...]] = {}
        for c in self.section_body(s):
            if not isinstance(c, Call) or c.body is None or c.args or c.named:
                raise CompileError(c.line, c.col, "Expected a post condition block")
            if c.name in ("changed", "fixed", "regression"):
                raise self.no(c.line, f"the post condition {c.name}", ", ".join(POST_CONDITIONS))
            if c.name not in POST_CONDITIONS:
                raise CompileError(c.line, c.col, f'Invalid condition "{c.name}" - valid '
                                                  f'conditions are [{", ".join(POST_CONDITIONS)}]')
            if c.name in found:
                raise CompileError(c.line, c.col, f'Duplicate build condition name: "{c.name}"')
            found[c.name] = self.steps(self.body(c))
        if not found:
            raise CompileError(s.line, s.col, "post can not be empty")
        # BuildCondition.getOrderedConditionNames: descending @Extension ordinals (always 1000,
        # aborted 800, success 700, unsuccessful 650, unstable 600, failure 500, notBuilt 400,
        # cleanup -10000; model/conditions/*.groovy)
        return Post(tuple((name, found[name]) for name in POST_CONDITIONS if name in found))

    # --- steps -------------------------------------------------------------------------------

    def steps(self, body: list[Any]) -> tuple[Step, ...]:
        return tuple(self.step(s) for s in body)

    def step(self, s: Any) -> Step:
        if isinstance(s, Assign):
            raise self.no(s.line, f"the assignment {s.name} = … in steps (script-like code)",
                          SUPPORTED_STEPS)
        if isinstance(s, ExprStmt):
            what = s.expr.name if isinstance(s.expr, Name) else "an expression"
            raise self.no(s.line, f"{what} as a step", SUPPORTED_STEPS)
        assert isinstance(s, Call)
        if s.name == "withCredentials":
            return self.with_credentials(s)
        if s.body is not None:
            raise self.no(s.line, f"the block step {s.name} {{ … }}", SUPPORTED_STEPS)
        spec = _STEPS.get(s.name)
        if spec is None:
            raise self.no(s.line, f"the step {s.name}", SUPPORTED_STEPS)
        positional, allowed, required = spec
        named = dict(s.named)
        if len(s.named) != len(named):
            raise CompileError(s.line, s.col, f"{s.name}: a parameter is given twice")
        if s.args:
            if len(s.args) > 1 or named or positional is None:
                raise CompileError(s.line, s.col, f"{s.name}: expected one argument or named "
                                                  f"parameters")
            named[positional] = s.args[0]
        unknown = [k for k in named if k not in allowed]
        if unknown:
            raise self.no(s.line, f"{s.name}({unknown[0]}: …)",
                          f"{s.name} with {', '.join(allowed)}")
        missing = [k for k in required if k not in named]
        if missing:
            raise CompileError(s.line, s.col, f'Missing required parameter: "{missing[0]}"')
        for key, value in named.items():
            if s.name == "checkout" and key == "scm":
                if not (isinstance(value, Name) and value.name == "scm"):
                    raise self.no(s.line, "checkout with an SCM other than scm", "checkout scm")
                continue
            self.check_expr(value)
        return Step(s.name, tuple(s.args), named, s.line)

    def with_credentials(self, s: Call) -> Step:
        """``withCredentials([binding(…), …]) { steps }`` (credentials-binding's BindingStep)."""
        shape = "withCredentials([binding(credentialsId: …, …), …]) { steps }"
        if s.body is None or s.named or len(s.args) != 1 or not isinstance(s.args[0], ListLit):
            raise self.no(s.line, "withCredentials without a list of bindings and a block", shape)
        bindings: list[tuple[str, dict[str, Expr]]] = []
        for item in s.args[0].items:
            if not isinstance(item, FuncCall) or item.name not in CREDENTIAL_BINDINGS:
                what = item.name if isinstance(item, FuncCall) else "a value"
                raise self.no(item.line, f"the credentials binding {what}",
                              ", ".join(f"{k}(…)" for k in CREDENTIAL_BINDINGS))
            _, fields, required = CREDENTIAL_BINDINGS[item.name]
            named = dict(item.named)
            if item.args:
                raise CompileError(item.line, 0, f"{item.name}: expected named parameters")
            unknown = [k for k in named if k not in ("credentialsId", *fields)]
            if unknown:
                raise self.no(item.line, f"{item.name}({unknown[0]}: …)",
                              f"{item.name} with credentialsId, {', '.join(fields)}")
            missing = [k for k in ("credentialsId", *required) if k not in named]
            if missing:
                raise CompileError(item.line, 0, f'Missing required parameter: "{missing[0]}"')
            for value in named.values():
                self.check_expr(value)
            bindings.append((item.name, named))
        return Step("withCredentials", (), {}, s.line, bindings=tuple(bindings),
                    body=self.steps(self.body(s)))

    # --- expressions -------------------------------------------------------------------------

    def check_expr(self, e: Expr) -> None:
        """Refuse what the evaluator does not implement, by its line."""
        if isinstance(e, Invalid):
            raise e.error
        if isinstance(e, (Lit, Name)):
            return
        if isinstance(e, StrLit):
            for p in e.parts:
                if not isinstance(p, str):
                    self.check_expr(p)
            return
        if isinstance(e, Prop):
            if not (isinstance(e.target, Name) and e.target.name in ("params", "env")):
                raise self.no(e.line, f"the property access ….{e.name}",
                              "params.NAME, env.NAME")
            return
        if isinstance(e, MethodCall):
            self.check_expr(e.target)
            return
        if isinstance(e, Unary):
            self.check_expr(e.operand)
            return
        if isinstance(e, Binary):
            self.check_expr(e.left)
            self.check_expr(e.right)
            return
        if isinstance(e, Ternary):
            for x in (e.condition, e.then, e.otherwise):
                self.check_expr(x)
            return
        if isinstance(e, Cast):
            self.check_expr(e.operand)
            return
        if isinstance(e, FuncCall):
            raise self.no(e.line, f"the call {e.name}(…) in an expression", SUPPORTED_EXPRESSIONS)
        if isinstance(e, ListLit):
            raise self.no(e.line, "a list literal […]", SUPPORTED_EXPRESSIONS)
        raise self.no(e.line, type(e).__name__, SUPPORTED_EXPRESSIONS)


# step name → (positional parameter, parameters, required ones): the steps' @DataBoundConstructor
# and @DataBoundSetter fields (durable-task-step ShellStep, workflow-basic-steps EchoStep,
# WriteFileStep, ErrorStep, UnstableStep, core ArtifactArchiver, junit JUnitResultsStep, SCMStep)
_STEPS: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {
    "sh": ("script", ("script", "label"), ("script",)),
    "echo": ("message", ("message",), ("message",)),
    "archiveArtifacts": ("artifacts", ("artifacts", "excludes", "allowEmptyArchive",
                                       "onlyIfSuccessful", "fingerprint", "defaultExcludes",
                                       "caseSensitive", "followSymlinks"), ("artifacts",)),
    "junit": ("testResults", ("testResults", "allowEmptyResults", "skipMarkingBuildUnstable",
                              "skipOldReports", "keepLongStdio", "healthScaleFactor"),
              ("testResults",)),
    "writeFile": (None, ("file", "text", "encoding"), ("file", "text")),
    "error": ("message", ("message",), ("message",)),
    "unstable": ("message", ("message",), ("message",)),
    "checkout": ("scm", ("scm",), ("scm",)),
}


# withCredentials' bindings: symbol → (class in org.jenkinsci.plugins.credentialsbinding.impl,
# variable fields, required ones) (credentials-binding impl/*Binding.java @Symbol, fields)
CREDENTIAL_BINDINGS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "string": ("StringBinding", ("variable",), ("variable",)),
    "usernamePassword": ("UsernamePasswordMultiBinding", ("usernameVariable", "passwordVariable"),
                         ("usernameVariable", "passwordVariable")),
    "usernameColonPassword": ("UsernamePasswordBinding", ("variable",), ("variable",)),
    "file": ("FileBinding", ("variable",), ("variable",)),
    "sshUserPrivateKey": ("SSHUserPrivateKeyBinding",
                          ("keyFileVariable", "usernameVariable", "passphraseVariable"),
                          ("keyFileVariable",)),
}


# --- evaluation ---------------------------------------------------------------------------------


class Scope:
    """What an expression sees: ``params`` (the ParametersAction's values, ParamsVariable) and
    the effective environment (``env.X`` and bare names: EnvActionImpl.java:105-121)."""

    def __init__(self, params: dict[str, Any], env: dict[str, str]) -> None:
        self.params = params
        self.env = env


def truth(value: Any) -> bool:
    """Groovy truth: null, false, 0, '' are false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def to_string(value: Any) -> str:
    """``String.valueOf`` as a GString interpolates: null → 'null', true → 'true'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(e: Expr, scope: Scope) -> Any:
    if isinstance(e, Lit):
        return e.value
    if isinstance(e, StrLit):
        if not e.interpolated:
            return "".join(e.parts)
        return "".join(p if isinstance(p, str) else to_string(evaluate(p, scope)) for p in e.parts)
    if isinstance(e, Name):
        if e.name == "params":
            return dict(scope.params)
        if e.name == "env":
            return dict(scope.env)
        if e.name in scope.env:
            return scope.env[e.name]
        raise GroovyError(f"groovy.lang.MissingPropertyException: No such property: {e.name} for "
                          f"class: groovy.lang.Binding")
    if isinstance(e, Prop):
        assert isinstance(e.target, Name)
        if e.target.name == "params":
            return scope.params.get(e.name)
        return scope.env.get(e.name)
    if isinstance(e, MethodCall):
        return _method(evaluate(e.target, scope), e.name)
    if isinstance(e, Unary):
        return not truth(evaluate(e.operand, scope))
    if isinstance(e, Binary):
        if e.op == "?:":
            left = evaluate(e.left, scope)
            return left if truth(left) else evaluate(e.right, scope)
        if e.op == "&&":
            return truth(evaluate(e.left, scope)) and truth(evaluate(e.right, scope))
        if e.op == "||":
            return truth(evaluate(e.left, scope)) or truth(evaluate(e.right, scope))
        left, right = evaluate(e.left, scope), evaluate(e.right, scope)
        equal = _equals(left, right)
        return equal if e.op == "==" else not equal
    if isinstance(e, Ternary):
        return evaluate(e.then if truth(evaluate(e.condition, scope)) else e.otherwise, scope)
    if isinstance(e, Cast):
        return _cast(evaluate(e.operand, scope), e.type)
    raise GroovyError(f"cannot evaluate {type(e).__name__}")  # refused by check_expr before


def _equals(a: Any, b: Any) -> bool:
    """Groovy ``==`` for the values the subset has: null equals only null, numbers compare by
    value, a String never equals a number or a boolean."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return isinstance(a, str) and isinstance(b, str) and a == b


def _number(value: str, long: bool) -> int:
    """``Integer.valueOf(s.trim())`` / ``Long.valueOf(s.trim())``: what ``as int`` and
    ``toInteger()`` do with a String (StringGroovyMethods.asType, toInteger)."""
    text = value.strip("".join(chr(c) for c in range(33)))  # String.trim: chars <= ' '
    if re.fullmatch(r"[+-]?[0-9]+", text):
        number = int(text)
        limit = 2**63 if long else 2**31
        if -limit <= number < limit:
            return number
    raise GroovyError(f'java.lang.NumberFormatException: For input string: "{text}"')


def _cast(value: Any, ty: str) -> Any:
    """Groovy ``as`` (StringGroovyMethods.asType for a String; casts to primitives and String
    need no script approval: groovy-sandbox Checker.java:909-912)."""
    if ty == "String":
        return None if value is None else to_string(value)
    if value is None:
        if ty in ("int", "long"):
            raise GroovyError("org.codehaus.groovy.runtime.typehandling.GroovyCastException: "
                              f"Cannot cast object 'null' with class 'null' to class '{ty}'")
        return None
    if isinstance(value, bool):
        raise GroovyError("org.codehaus.groovy.runtime.typehandling.GroovyCastException: Cannot "
                          f"cast object '{to_string(value)}' with class 'java.lang.Boolean' to "
                          f"class '{ty}'")
    if isinstance(value, int):
        return value
    return _number(value, ty in ("long", "Long"))


def _method(value: Any, name: str) -> Any:
    if value is None and name != "toString":
        raise GroovyError(f"java.lang.NullPointerException: Cannot invoke method {name}() on "
                          f"null object")
    if name == "toString":
        return to_string(value)
    if name == "toInteger":
        return value if isinstance(value, int) and not isinstance(value, bool) \
            else _number(to_string(value), False)
    if name == "toBoolean":
        # StringGroovyMethods.toBoolean: "true", "y", "1" (trimmed, any case)
        return value if isinstance(value, bool) else \
            to_string(value).strip().lower() in ("true", "y", "1")
    if not isinstance(value, str):
        raise GroovyError(f"groovy.lang.MissingMethodException: No signature of method: "
                          f"{type(value).__name__}.{name}() is applicable")
    if name == "trim":
        return value.strip(" \t\n\r\f\v\0")
    if name == "toLowerCase":
        return value.lower()
    return value.upper()
