"""`make demo`: both models train to a useful state and both reports are written."""

from __future__ import annotations

import json

from netsci_dl.demo import run_demo
from netsci_dl.runs.format import list_snapshots


def test_demo_trains_both_models_and_reports(tmp_path):
    out = tmp_path / "demo"
    paths = run_demo(out, echo=lambda s: None)
    for key in ("report", "cnn_report"):
        assert paths[key].is_file() and paths[key].name == "index.html"
    # the CNN learns the digits (not a model that barely beats chance)
    hist = json.loads((paths["cnn_run"] / "history.json").read_text())
    final = hist[-1] if isinstance(hist, list) else hist["records"][-1]
    assert final["test_accuracy"] > 0.9, final
    # its report compares the trained channel graph with its first snapshot
    assert len(list_snapshots(paths["cnn_run"])) >= 2
    summary = json.loads((paths["cnn_report"].parent / "summary.json").read_text())
    assert summary["comparison"] is not None
