"""benchmarks/_record.py: one JSON line per figure, with the machine and the load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def record(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("NETSCI_DL_BENCH_RESULTS", str(tmp_path / "r.jsonl"))
    monkeypatch.delenv("NETSCI_DL_BENCH_QUICK", raising=False)
    import _record

    return _record, tmp_path / "r.jsonl"


def test_record_appends_one_line_per_figure_with_ratio_and_machine(record):
    import numpy as np

    mod, path = record
    mod.record("fig A", 0.5, "peer X", np.float64(2.0), benchmark="bench_t", size=np.int64(3))
    mod.record("fig B", 1.0, benchmark="bench_t", bad=float("nan"))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["figure"] for r in rows] == ["fig A", "fig B"]
    a, b = rows
    assert a["ratio"] == pytest.approx(4.0)  # peer_s / ours_s: above 1, ours is faster
    assert a["peer"] == "peer X" and a["extra"] == {"size": 3}
    assert b["peer"] is None and b["ratio"] is None and b["extra"] == {"bad": None}
    m = a["machine"]
    assert m["cores"] >= 1 and len(m["load_start"]) == 3 and len(m["load_end"]) == 3
    assert m["numpy"] == np.__version__ and m["python"].count(".") == 2
    assert a["commit"] and a["date"].endswith("+00:00") and a["quick"] is False


def test_record_writes_nothing_when_told(record, monkeypatch):
    mod, path = record
    monkeypatch.setenv("NETSCI_DL_BENCH_RESULTS", "-")
    monkeypatch.setenv("NETSCI_DL_BENCH_QUICK", "1")
    line = mod.record("fig", 1.0, "p", 1.0)
    assert not path.exists() and line["quick"] is True and line["ratio"] == 1.0
