"""RBM training threads: ``num_threads="auto"`` picks from the free cores; results do not depend on it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from netsci_dl import _array
from netsci_dl.errors import InputError
from netsci_dl.models.rbm import RBM


def test_free_threads_counts_cores_less_busy_ones(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    assert 1 <= _array.free_threads() <= cores
    assert _array.free_threads(cap=1) == 1
    for others, want in ((0, min(cores, 8)), (cores - 1, 1), (cores + 5, 1)):
        monkeypatch.setattr(_array, "_others_running", lambda o=others: o)
        assert _array.free_threads(cap=8) == max(1, want)


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="needs Linux /proc")
def test_a_spinning_process_is_seen_as_busy():
    code = "while True:\n    pass\n"
    p = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        # the spinner is runnable at every look (running or queued): at least 1 other task
        assert _array._others_running() >= 1
    finally:
        p.kill()
        p.wait()


def test_thread_count_leaves_the_numbers_and_torch_setting_alone():
    X = (np.random.default_rng(0).random((120, 20)) < 0.3).astype(np.float64)
    before = torch.get_num_threads()
    fits = [
        RBM(8, n_epochs=3, batch_size=30, seed=1, dtype="float64", num_threads=n).fit(X)
        for n in (1, 2, "auto", None)
    ]
    assert torch.get_num_threads() == before
    for f in fits[1:]:
        # float64 GEMMs split over threads add in another order: a few ulps, far below 1e-10
        np.testing.assert_allclose(f.weights_.numpy(), fits[0].weights_.numpy(), rtol=1e-10)
    assert fits[2].get_params()["num_threads"] == "auto"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "many", True])
def test_bad_num_threads(bad):
    with pytest.raises(InputError, match="num_threads"):
        RBM(4, n_epochs=1, num_threads=bad).fit(np.zeros((4, 3)))
