"""What a user looks at: the snapshot report (`report.html`) and the dataset card (`README.md`), both
written beside a published snapshot's manifest from that publication alone (docs/report.md).

    build_report(storage, snapshot) -> str     the self-contained HTML report
    write_report(storage, snapshot) -> str     publish it as snapshots/dt=D/report.html, return its URI
    build_card / write_card(storage, snapshot) the Hugging Face dataset card, snapshots/dt=D/README.md
    write_all(storage, snapshot) -> dict       both, from one pass over the data
    current_report(storage, snapshot)          the report's URI if it was built from the manifest published now
    summary(storage, snapshot) -> dict | None  token totals from the current report (for `seed status`)
"""

from __future__ import annotations

from seedlib.report.build import (SECTIONS, build_report, current_report, render, report_data, report_key, summary,
                                  write_report)
from seedlib.report.card import build_card, card_key, write_card
from seedlib.report.collect import ReportError, collect
from seedlib.storage import Storage

__all__ = ["SECTIONS", "ReportError", "build_card", "build_report", "card_key", "collect", "current_report",
           "render", "report_data", "report_key", "summary", "write_all", "write_card", "write_report"]


def write_all(storage: Storage, snapshot: str, **options) -> dict[str, str]:
    """Write the report and the card of a published snapshot; returns {"report": URI, "card": URI}."""
    data = collect(storage, snapshot, **options)
    storage.write_bytes(report_key(snapshot), render(data).encode("utf-8"))
    return {"report": storage.uri(report_key(snapshot)), "card": write_card(storage, snapshot, data)}
