"""Argument checks of the public functions (issue 28, 3 and 8): InputError naming the argument,
before any work, for zero/negative/fractional sizes, NaN and unbounded counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsci_dl._args import count, real
from netsci_dl.errors import InputError


@given(st.integers(-(10**12), 10**12))
def test_count_accepts_exactly_the_integers_in_range(v):
    if 1 <= v <= 10**6:
        assert count("k", v, hi=10**6) == v
        assert count("k", float(v), hi=10**6) == v
    else:
        with pytest.raises(InputError, match=r"^k="):
            count("k", v, hi=10**6)


@pytest.mark.parametrize("bad", [True, 3.5, float("nan"), float("inf"), "3", None, np.nan])
def test_count_refuses_non_integers(bad):
    with pytest.raises(InputError, match="expected an integer >= 1"):
        count("k", bad)


@pytest.mark.parametrize(
    ("v", "kw", "ok"),
    [
        (0.0, {"lo": 0}, True),
        (0.0, {"lo": 0, "lo_open": True}, False),
        (1.0, {"hi": 1}, True),
        (1.5, {"hi": 1}, False),
        (float("nan"), {}, False),
        (float("-inf"), {}, False),
        (np.float32(2.0), {"lo": 0}, True),
        ("2", {}, False),
        (True, {}, False),
    ],
)
def test_real(v, kw, ok):
    if ok:
        assert real("x", v, **kw) == float(v)
    else:
        with pytest.raises(InputError, match=r"^x=.*expected a finite number"):
            real("x", v, **kw)


def test_curvature_settings_are_checked():
    import torch

    from netsci_dl.activations import hessian_top_eigenvalue
    from netsci_dl.analysis import hutchinson_trace, top_eigenvalue

    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    X, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    for kw, name in [
        ({"tol": float("nan")}, "tol"),
        ({"tol": -1.0}, "tol"),
        ({"n_iter": 0}, "n_iter"),
        ({"n_iter": 10**9}, "n_iter"),
        ({"seed": -1}, "seed"),
    ]:
        with pytest.raises(InputError, match=f"^{name}="):
            hessian_top_eigenvalue(net, X, y, **kw)
    with pytest.raises(InputError, match="^n_iter="):
        top_eigenvalue(lambda v: v, 3, n_iter=2.5)
    with pytest.raises(InputError, match="^n_probes="):
        hutchinson_trace(lambda v: v, 3, n_probes=10**9)
    with pytest.raises(InputError, match="^seed="):
        hutchinson_trace(lambda v: v, 3, seed=-2)


def test_and_or_split_settings_are_checked():
    from netsci_dl.analysis import and_or_split

    v = np.array([0.0, 1.0, 1.0, 1.0])
    for kw, name in [
        ({"record_every": 0}, "record_every"),
        ({"iterations": 10**9}, "iterations"),
        ({"iterations": -1}, "iterations"),
        ({"iterations": 2.5}, "iterations"),
    ]:
        with pytest.raises(InputError, match=f"^{name}="):
            and_or_split(v, **kw)
    r = and_or_split(v, iterations=3, record_every=1)
    assert len(r.loss_history) == 4


def test_fit_distributions_refuses_what_it_cannot_fit():
    """Strings and bad sizes are refused; an empty sample (e.g. the spectrum of a zero matrix,
    which layer_spectra fits) is an empty result whose note says why, never a silent NaN."""
    from netsci_dl.analysis import fit_distributions

    with pytest.raises(InputError, match="array of numbers"):
        fit_distributions(np.array(["a", "b"]))
    assert "too few positive distinct values (0)" in fit_distributions([]).note
    with pytest.raises(InputError, match="^min_tail="):
        fit_distributions(np.arange(1, 50), min_tail=0)
    r = fit_distributions(np.array([1.0, 2.0]))  # too few values: an empty result with its note
    assert "too few" in r.note
