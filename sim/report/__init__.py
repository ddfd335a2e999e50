"""The forum report: one self-contained HTML file from ``landsim compare`` results.

``landsim report RESULTS [--lang da|en]`` (or :func:`build_report`) turns one or more
comparison folders into a report for the forum: the region without new initiatives, each
scenario against the baseline, and a profile of every place, in Danish or English. See
docs/REPORT.md.
"""

from __future__ import annotations

from .build import BuildInfo, build_report, render
from .inputs import ReportError

__all__ = ["BuildInfo", "ReportError", "build_report", "render"]
