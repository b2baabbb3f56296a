"""The HTML report and the sanity curves. Importing this package is cheap (no plotting library): plugins use its
:class:`Media` and :class:`Section` in their report hooks; plots need the optional extra
``report`` (``pip install -e '.[report]'``)."""

from frechet.report.content import Media, ReportData, Section

__all__ = ["Media", "ReportData", "Section"]
