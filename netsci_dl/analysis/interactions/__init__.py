"""Harsanyi AND / OR interactions (CH24: Cheng et al. 2024; Ren et al. 2023; Li & Zhang 2023).

A game ``v`` on ``n`` players (image patches) is an array of shape ``(..., 2**n)`` indexed by
bitmask: **player i is bit i, least significant first** (index 1 = ``{0}``, 2 = ``{1}``, 3 =
``{0, 1}``, ``2**n - 1`` = N); leading axes (samples, layers) are independent games. Every
transform is a fast Moebius butterfly over the bits, ``O(n 2**n)``, in place on a copy and
vectorised over the batch; no ``2**n x 2**n`` matrix is built.

- :func:`and_interactions`: ``I_and(S) = sum_{L subset S} (-1)^{|S|-|L|} v(L)`` (Harsanyi
  dividends); :func:`zeta_transform` inverts it, ``v(S) = sum_{L subset S} I_and(L)``.
- :func:`or_interactions`: ``I_or(S) = -sum_{L subset S} (-1)^{|S|-|L|} v(N \\ L)`` for S non-empty,
  ``I_or(empty) = v(empty)``; ``zeta_transform(I, kind="or")`` inverts it.
- :func:`shapley_values`: ``phi_i = sum_{S containing i} I(S) / |S|`` from dividends (AND, OR,
  or their sum after a split: the OR allocation also gives the Shapley value of ``v``).
- :func:`and_or_split`: the AND-OR split with learned ``p`` and bounded ``q``.
- :func:`salient_mask`, :func:`strength_by_order`, :func:`count_by_order`,
  :func:`compare_salient`: salient sets, strength by order, overlap / new / forgotten.
- :class:`LayerInteractions`: all of it for the output and each hidden layer (linear probes)
  of a classifier on masked inputs (made by :func:`netsci_dl.activations.layer_interactions`,
  which runs the model); :func:`compare_layers`, :func:`snapshot_changes` across snapshots.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.analysis.interactions._layers import (
    LayerInteractions,
    compare_layers,
    snapshot_changes,
)
from netsci_dl.analysis.interactions._probe import LinearProbe, fit_probe
from netsci_dl.analysis.interactions._sets import (
    SalientChange,
    compare_salient,
    count_by_order,
    salient_mask,
    set_label,
    strength_by_order,
)
from netsci_dl.analysis.interactions._split import (
    AndOrSplit,
    SplitOptions,
    and_or_split,
    or_from_values,
)
from netsci_dl.analysis.interactions._transform import (
    BIT_ORDER,
    as_set_function,
    moebius_,
    set_orders,
    zeta_,
)
from netsci_dl.errors import InputError

__all__ = [
    "BIT_ORDER",
    "and_interactions",
    "or_interactions",
    "zeta_transform",
    "shapley_values",
    "set_orders",
    "set_label",
    "SplitOptions",
    "AndOrSplit",
    "and_or_split",
    "salient_mask",
    "strength_by_order",
    "count_by_order",
    "SalientChange",
    "compare_salient",
    "LinearProbe",
    "fit_probe",
    "LayerInteractions",
    "compare_layers",
    "snapshot_changes",
]


def and_interactions(v: Any) -> np.ndarray:
    """AND interactions (Harsanyi dividends, the Moebius transform) of ``v``.

    Parameters
    ----------
    v : (..., 2**n) array
        ``v[..., m]`` is the value of the set of players whose bits are set in ``m`` (player i =
        bit i, least significant first).

    Returns
    -------
    (..., 2**n) float64 ndarray
        ``I_and(S) = sum_{L subset S} (-1)^{|S|-|L|} v(L)``; ``sum_S I_and(S) = v(N)``.

    Examples
    --------
    ``f(x) = 2 + 3 x0 - x0 x1`` on players {0, 1} (present = 1, absent = 0):

    >>> and_interactions([2.0, 5.0, 2.0, 4.0]).tolist()
    [2.0, 3.0, 0.0, -1.0]
    """
    a, n = as_set_function(v)
    return moebius_(a, n)


def or_interactions(v: Any) -> np.ndarray:
    """OR interactions of ``v`` (CH24): the effect appears when any player of ``S`` is present.

    Returns
    -------
    (..., 2**n) float64 ndarray
        ``I_or(S) = -sum_{L subset S} (-1)^{|S|-|L|} v(N \\ L)`` for S non-empty and
        ``I_or(empty) = v(empty)``; ``v(S) = I_or(empty) + sum_{T meets S} I_or(T)``.

    Examples
    --------
    ``v(S) = 1`` when S meets {0, 1} (either player suffices), 0 otherwise:

    >>> or_interactions([0.0, 1.0, 1.0, 1.0]).tolist()
    [0.0, 0.0, 0.0, 1.0]
    """
    a, n = as_set_function(v)
    return or_from_values(a, n)


def zeta_transform(I: Any, *, kind: str = "and") -> np.ndarray:
    """The inverse transform: the game ``v`` whose AND (or OR) interactions are ``I``.

    Parameters
    ----------
    I : (..., 2**n) array
    kind : {"and", "or"}
        ``"and"``: ``v(S) = sum_{L subset S} I(L)`` (the zeta transform). ``"or"``: ``v(S) =
        I(empty) + sum_{T non-empty, T meets S} I(T)``.

    Examples
    --------
    >>> zeta_transform([2.0, 3.0, 0.0, -1.0]).tolist()
    [2.0, 5.0, 2.0, 4.0]
    >>> zeta_transform([0.0, 0.0, 0.0, 1.0], kind="or").tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    a, n = as_set_function(I, name="I")
    if kind == "and":
        return zeta_(a, n)
    if kind != "or":
        raise InputError(f"kind must be 'and' or 'or', got {kind!r}")
    # I_or = -Moebius(g) off the empty set, with g(L) = v(N \ L); Moebius(g)(empty) = g(empty)
    # = v(N) = sum of all I_or (efficiency)
    m = np.subtract(0.0, a)
    m[..., 0] = a.sum(axis=-1)
    zeta_(m, n)
    return np.ascontiguousarray(m[..., ::-1])


def shapley_values(I: Any) -> np.ndarray:
    """Shapley values from dividends: ``phi_i = sum_{S containing i} I(S) / |S|``.

    ``I`` may be AND interactions of ``v`` (Harsanyi), OR interactions of ``v`` (the same
    allocation gives the Shapley value of ``v`` again, since ``I_or`` are the dividends of the
    dual game), or ``I_and + I_or`` after :func:`and_or_split` (the Shapley value of ``v + q``).

    Parameters
    ----------
    I : (..., 2**n) array

    Returns
    -------
    (..., n) float64 ndarray
        Efficient: ``sum_i phi_i = sum_{S non-empty} I(S)``.

    Examples
    --------
    >>> shapley_values([0.0, 1.0, 0.0, 2.0]).tolist()   # {0}: 1, {0, 1}: 2 shared
    [2.0, 1.0]
    """
    a, n = as_set_function(I, name="I")
    k = set_orders(n).astype(np.float64)
    w = np.where(k > 0, 1.0 / np.maximum(k, 1.0), 0.0)
    members = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.float64)
    return (a * w) @ members
