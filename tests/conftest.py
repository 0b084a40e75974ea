"""Shared fixtures and markers: ``slow`` runs only with --runslow; ``gpu`` only with CUDA."""

from __future__ import annotations

import numpy as np
import pytest

from netsci_dl.graph import LayeredGraph


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_configure(config: pytest.Config) -> None:
    """On CI (``NETSCI_DL_CI=1``, set by ``.ci/run``) every piece the project's machines have
    must be there: a missing graph-tool or Chromium is a broken setup, not a skip."""
    import os
    import shutil

    if not os.environ.get("NETSCI_DL_CI"):
        return
    missing = []
    try:
        import graph_tool  # noqa: F401
    except ImportError:
        missing.append("graph-tool (Debian's python3-graph-tool in a --system-site-packages venv)")
    if shutil.which("chromium") is None and not os.path.exists("/usr/bin/chromium"):
        missing.append("chromium (Debian's package)")
    if missing:
        raise pytest.UsageError(f"NETSCI_DL_CI is set but {', '.join(missing)} is missing")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow (make test-all)")
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs CUDA, which this machine does not have")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


def random_layered(
    sizes: tuple[int, ...] = (5, 4, 3), *, seed: int = 0, sparse_p: float | None = None
) -> LayeredGraph:
    """A random dense (or, with ``sparse_p``, sparse) layered graph with signed float32 weights."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    blocks = []
    for a, b in zip(sizes, sizes[1:]):
        W = rng.normal(0, 1, (a, b)).astype(np.float32)
        if sparse_p is not None:
            W[rng.random((a, b)) > sparse_p] = 0
            W = sp.csr_array(W)
        blocks.append(W)
    return LayeredGraph(sizes, tuple(blocks))


@pytest.fixture
def small_graph() -> LayeredGraph:
    """Dense 5-4-3 graph, signed weights."""
    return random_layered((5, 4, 3), seed=0)


@pytest.fixture
def devices() -> list[str]:
    """The torch devices available here (CPU always; CUDA when present)."""
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
