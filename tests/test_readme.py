"""The README's Python tour runs as written (from the project root, outputs in a temp folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_python_tour_runs(tmp_path, monkeypatch):
    tour = python_blocks()[0]
    assert "nd.load(" in tour
    code = tour.replace('"data/', f'"{ROOT}/data/')
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "report" / "index.html").exists()
    assert (tmp_path / "net.graphml").exists()
    assert namespace["G"].layer_sizes == (64, 100, 100, 200)


@pytest.mark.skipif(not os.access(ROOT / "data", os.R_OK), reason="no data folder")
def test_modules_tour_runs(tmp_path, monkeypatch):
    block = next(b for b in python_blocks() if "nd.emd_matrix(P)" in b)
    setup = (
        "import netsci_dl as nd\n"
        f"G = nd.load('{ROOT}/data/dbn_digits.safetensors')\n"
        "H = nd.threshold.by_quantile(G, 0.95)\n"
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(setup + block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["E"].matrix.shape == (100, 100)
