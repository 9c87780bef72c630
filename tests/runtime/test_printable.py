"""Names from outside cannot forge or hide lines in what people read (summary, logs, progress)."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest

from engine.printable import printable
from engine.runtime import logs
from engine.runtime.report import ItemReport, RunReport


@pytest.mark.parametrize(
    "text,shown",
    [
        ("stock_1.csv", "stock_1.csv"),
        ("Bestand_Österreich.csv", "Bestand_Österreich.csv"),
        ("a..\\..\\x.csv", "a..\\..\\x.csv"),
        ("a\nb.csv", "'a\\nb.csv'"),
        ("a\rb.csv", "'a\\rb.csv'"),
        ("a\x1b[2Jb.csv", "'a\\x1b[2Jb.csv'"),
        ("invoice\u202evsc.exe", "'invoice\\u202evsc.exe'"),
        ("a\u2028b", "'a\\u2028b'"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_a_name_with_a_newline_cannot_forge_a_summary_line() -> None:
    report = RunReport(connector="c", spec="s.yaml", run_id="R", started=datetime.now(UTC), status="ok")
    forged = "x.csv: bad\n  error    none, all files done"
    report.items.append(ItemReport("file:///x", forged, "failed", reason=f"{forged}:1: not CSV"))
    report.notes.append(f"{forged}: resumed after record 3")
    lines = report.render_text().splitlines()
    assert not [line for line in lines if line.startswith("  error")], lines
    assert lines[-2].startswith("  failed: 'x.csv: bad\\n  error    none, all files done': ")


def test_log_values_with_control_characters_are_quoted() -> None:
    stream = io.StringIO()
    handler = logs.configure("info", "text", stream)
    try:
        logs.Log().info("file read", file="a\rrun finished status=ok", other="invoice\u202evsc.exe")
    finally:
        logging.getLogger("engine").removeHandler(handler)
    line = stream.getvalue()
    assert line.count("\n") == 1 and '"a\\rrun finished status=ok"' in line
    assert 'other="invoice\\u202evsc.exe"' in line, "a direction override is shown, not obeyed"
