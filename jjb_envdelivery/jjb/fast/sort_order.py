"""JJB's alphanumeric order of generated items, with each name split once.

``jenkins-jobs test`` sorts jobs and views with ``jenkins_jobs.alphanum.AlphanumSort``, whose
every comparison splits both names into runs of digits and non-digits again (regular
expressions and string slicing): about 150,000 splits for openstack-project-config's 12,336
jobs, in the one process that waits for all the others. ``AlphanumKey`` splits each name once
and compares the runs as JJB's ``alphanum`` does, including its quirks, so that a sort makes the
same comparisons with the same answers and gives the same order:

- equal names compare as greater (``alphanum`` returns 1 when both run out together);
- two runs that are not both digits compare as text, and a name that runs out first (its run is
  "") compares as smaller;
- digit runs compare as integers (``int()``, so "007" equals "7" and the next runs decide).
"""

from __future__ import annotations

import re
from itertools import zip_longest

__all__ = ["AlphanumKey"]

_RUN = re.compile(r"\D+|\d+")


class AlphanumKey:
    """Sort key: ``items.sort(key=AlphanumKey)`` orders as ``key=AlphanumSort`` does."""

    __slots__ = ("runs",)

    def __init__(self, item):
        name = item.name if hasattr(item, "name") else str(item)
        # (digits?, text, value) per run: what alphanum's re_numbers.match and int() see.
        # re's \d is str.isdecimal(); int() reads every such digit.
        self.runs = [(True, run, int(run)) if run[0].isdecimal() else (False, run, None)
                     for run in _RUN.findall(name)]

    def __lt__(self, other: "AlphanumKey") -> bool:
        return _compare(self.runs, other.runs) < 0


def _compare(left: list, right: list) -> int:
    """``jenkins_jobs.alphanum.alphanum`` on the runs of two names."""
    for a, b in zip_longest(left, right):
        if a is not None and b is not None:
            if a[0] and b[0]:
                if a[2] != b[2]:
                    return -1 if a[2] < b[2] else 1
                continue
            if not a[0] and not b[0]:
                if a[1] != b[1]:
                    return -1 if a[1] < b[1] else 1
                continue
        a_text = "" if a is None else a[1]
        b_text = "" if b is None else b[1]
        return -1 if a_text < b_text else 1  # a run of each kind, or one name ran out: never equal
    return 1  # both ran out together: alphanum compares "" with "" and calls the first greater
