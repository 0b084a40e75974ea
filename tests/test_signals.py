"""A signal that arrives just after a temporary file or folder is created leaves nothing behind.

The battery's SIGTERM tests (tests/test_battery.py, class 5) send the signal as soon as the
temporary name appears, so they only sometimes hit the instant between its creation and its
registration for cleanup. Here the signal is raised exactly there, every time: the stub of
``tempfile.mkdtemp`` / ``mkstemp`` creates the name and then signals this process.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time

import numpy as np
import pytest

from netsci_dl._files import atomic as _atomic
from netsci_dl._files.signals import Terminated, signals_deferred, signals_raise


def _signal_after(real, sig):
    def stub(*args, **kwargs):
        out = real(*args, **kwargs)
        os.kill(os.getpid(), sig)
        time.sleep(0.05)  # the handler runs here unless the signal is deferred
        return out

    return stub


SIGNALS = [
    pytest.param(signal.SIGTERM, Terminated, id="sigterm"),
    pytest.param(signal.SIGINT, KeyboardInterrupt, id="sigint"),
]


@pytest.mark.parametrize(("sig", "exc"), SIGNALS)
def test_signal_after_mkdtemp_leaves_no_staging_folder(tmp_path, monkeypatch, sig, exc):
    monkeypatch.setattr(tempfile, "mkdtemp", _signal_after(tempfile.mkdtemp, sig))
    with pytest.raises(exc), signals_raise():
        with _atomic.atomic_outputs(tmp_path / "out", ["a.txt"]) as stage:
            (stage / "a.txt").write_text("a")
    assert list(tmp_path.iterdir()) == []
    assert not _atomic._live


@pytest.mark.parametrize(("sig", "exc"), SIGNALS)
def test_signal_after_mkstemp_leaves_no_temporary_file(tmp_path, monkeypatch, sig, exc):
    monkeypatch.setattr(tempfile, "mkstemp", _signal_after(tempfile.mkstemp, sig))
    with pytest.raises(exc), signals_raise():
        with _atomic.atomic_path(tmp_path / "g.graphml") as tmp:
            tmp.write_text("x")
    assert list(tmp_path.iterdir()) == []
    assert not _atomic._live


def test_signal_after_report_staging_leaves_nothing(tmp_path, monkeypatch):
    from netsci_dl import LayeredGraph
    from netsci_dl.report import write_report

    W = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    G = LayeredGraph((8, 6), (W,))
    monkeypatch.setattr(tempfile, "mkdtemp", _signal_after(tempfile.mkdtemp, signal.SIGTERM))
    with pytest.raises(Terminated), signals_raise():
        write_report(G, tmp_path / "rep")
    assert list(tmp_path.iterdir()) == []
    assert not _atomic._live


def _deferred_block(sig, done, raising):
    with signals_raise() if raising else signals_deferred(), signals_deferred():
        os.kill(os.getpid(), sig)
        time.sleep(0.05)
        done.append(sig)  # reached: the signal waits for the end of the block


def test_deferred_signal_raises_at_the_end_of_the_block():
    done = []
    with pytest.raises(Terminated):
        _deferred_block(signal.SIGTERM, done, raising=True)
    with pytest.raises(KeyboardInterrupt):
        _deferred_block(signal.SIGINT, done, raising=False)
    assert done == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
