"""``hudson.tasks.junit.JUnitResultArchiver`` (junit @ c64aedde,
src/main/java/hudson/tasks/junit/JUnitResultArchiver.java:79-113, 191-196, 264-321, and
JUnitParser.java: the file scan).

``testResults`` is an Ant file set in the workspace. No file → "No test report files were found.
Configuration error?" and a failed step unless ``allowEmptyResults``; files without any test →
"None of the test reports contained any result", likewise (not reported when the build already
failed); a failed or erroring test makes the build UNSTABLE unless ``skipMarkingBuildUnstable``.
Reports older than the build are skipped only with ``skipOldReports``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .ant_globs import scan, split_patterns
from .errors import StepAbort
from .xml_fields import expand, flag, text

FILE_TIME_MARGIN = 3.0  # TestResult.FILE_TIME_PRECISION_MARGIN, seconds


@dataclass(frozen=True)
class JUnitResultArchiver:
    test_results: str
    allow_empty: bool
    skip_marking_unstable: bool
    skip_old_reports: bool

    display_name = "Publish JUnit test result report"

    def run(self, ctx: Any) -> None:
        ctx.console.line("Recording test results")
        pattern = expand(self.test_results, ctx.env)
        files = scan(ctx.workspace, split_patterns(pattern), [])
        if not files:
            if not self.allow_empty:
                raise StepAbort("No test report files were found. Configuration error?")
            ctx.console.line("No test report files were found. Configuration error?")
            return
        total = failed = skipped = 0
        for relative in files:
            if self.skip_old_reports and \
                    (ctx.workspace / relative).stat().st_mtime < ctx.started - FILE_TIME_MARGIN:
                continue  # TestResult.java:444-455: an old report is not parsed
            try:
                root = ET.parse(ctx.workspace / relative).getroot()
            except (ET.ParseError, OSError) as exc:
                raise StepAbort(f"Failed to read test report file {ctx.workspace / relative}: "
                                f"{exc}") from None
            for case in root.iter("testcase"):
                total += 1
                if case.find("failure") is not None or case.find("error") is not None:
                    failed += 1
                elif case.find("skipped") is not None:
                    skipped += 1
        ctx.record_tests(total, failed, skipped)
        if total == 0 and ctx.result != "FAILURE":
            if not self.allow_empty:
                raise StepAbort("None of the test reports contained any result")
            ctx.console.line("None of the test reports contained any result")
        if failed and not self.skip_marking_unstable:
            ctx.set_result("UNSTABLE")


def parse_junit(el: ET.Element, job: str) -> JUnitResultArchiver:
    return JUnitResultArchiver(test_results=text(el, "testResults") or "",
                               allow_empty=flag(el, "allowEmptyResults"),
                               skip_marking_unstable=flag(el, "skipMarkingBuildUnstable"),
                               skip_old_reports=flag(el, "skipOldReports"))
