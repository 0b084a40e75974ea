"""Layer x layer similarity maps: one measure over every pair of layers of two representations."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.analysis.similarity import _cca, _cka
from netsci_dl.analysis.similarity._sim_common import (
    SimilarityWarning,
    as_matrix,
    backend_for,
    warn,
)
from netsci_dl.errors import InputError

__all__ = [
    "MEASURES",
    "SimilarityOptions",
    "SimilarityMatrix",
    "PreparedLayers",
    "prepare_layers",
    "similarity_matrix",
]

#: measure name -> what it is
MEASURES: dict[str, str] = {
    "cka": "linear CKA (K19), biased HSIC",
    "cka_debiased": "linear CKA with the unbiased HSIC (can be negative)",
    "cka_rbf": "RBF-kernel CKA, sigma^2 = rbf_scale^2 median(d^2)",
    "cka_rbf_debiased": "RBF-kernel CKA with the unbiased HSIC",
    "cka_minibatch": "linear minibatch CKA (Nguyen et al. 2021): unbiased HSIC averaged over batches",
    "cca": "mean canonical correlation",
    "svcca": "SVCCA (R17): mean canonical correlation of the leading singular directions",
    "pwcca": "PWCCA (Morcos et al. 2018): projection-weighted mean canonical correlation",
}
_SYMMETRIC = {m for m in MEASURES if m != "pwcca"}


@dataclass(frozen=True)
class SimilarityOptions:
    """The settings of a similarity measure (only those of the measure used matter).

    Attributes
    ----------
    rbf_scale : float
        RBF CKA bandwidth factor (K19: 0.5).
    keep : float or int
        SVCCA: variance fraction (float) or fixed number of directions (int). 0.99 (R17).
    criterion : {"variance", "mass"}
        SVCCA: cut by ``sum s^2`` (R17) or ``sum s`` (google/svcca tutorials).
    view : {"x", "y", "smaller"}
        PWCCA: whose units weight the correlations (x = the row layer of a map).
    batch_size : int or None
        Minibatch CKA: target batch size (None: 256).
    space : {"auto", "feature", "gram"}
        Linear CKA: feature space or n x n Gram matrices.
    seed : int or None
        Minibatch CKA: shuffle rows before batching.
    device : str or None
        Where the float64 computation runs: None (numpy for small layers, torch's faster CPU
        kernels for layers of >= 2**20 values when torch is installed), ``"numpy"``, or a
        torch device (``"cpu"``, ``"cuda"``).

    Examples
    --------
    >>> SimilarityOptions(keep=10).to_dict()["keep"]
    10
    """

    rbf_scale: float = 0.5
    keep: float | int = 0.99
    criterion: str = "variance"
    view: str = "x"
    batch_size: int | None = None
    space: str = "auto"
    seed: int | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        _args.check_fields(
            self,
            counts={"batch_size": (1, 2**31 - 1)},
            reals={"rbf_scale": (0.0, None, True)},
            seeds=("seed",),
        )
        if self.device != "numpy":  # the numpy backend, else a torch device
            _args.device_name("device", self.device)
        _cka._check("linear", self.space, self.rbf_scale)
        _cca._check_keep(self.keep, self.criterion)
        if self.view not in _cca.VIEWS:
            raise InputError(f"view={self.view!r}: expected one of {_cca.VIEWS}")
        if self.batch_size is not None and int(self.batch_size) < 4:
            raise InputError(f"batch_size must be >= 4, got {self.batch_size}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["device"] = None if self.device is None else str(self.device)
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise InputError(f"measure={measure!r}: expected one of {sorted(MEASURES)}")
    return measure


def _named(A: Any, name: str) -> tuple[tuple[str, ...], list[Any]]:
    """(layer names, arrays) from a mapping (Activations, dict) or a sequence of arrays."""
    if isinstance(A, PreparedLayers):
        raise TypeError("internal: PreparedLayers passed where arrays were expected")
    if isinstance(A, Mapping):
        names = tuple(str(k) for k in A)
        arrays = [A[k] for k in A]
    elif isinstance(A, Sequence) and not isinstance(A, str | bytes):
        names = tuple(str(i) for i in range(len(A)))
        arrays = list(A)
    else:
        raise InputError(
            f"{name}: expected a mapping layer -> (n_samples, n_units) array, or a list of arrays; "
            f"got {type(A).__name__}"
        )
    if not arrays:
        raise InputError(f"{name}: no layers")
    return names, arrays


@dataclass(frozen=True, eq=False)
class PreparedLayers:
    """Per-layer work that every pair reuses (centred features, Gram matrices or SVDs).

    Make it once with :func:`prepare_layers` for a representation that is compared many times
    (the reference of a training run).
    """

    names: tuple[str, ...]
    items: tuple[Any, ...] = field(repr=False)
    measure: str
    n_samples: int
    options: SimilarityOptions
    backend: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (the prepared arrays left out)."""
        return {
            "names": list(self.names),
            "measure": self.measure,
            "n_samples": self.n_samples,
            "options": self.options.to_dict(),
            "backend": None if self.backend is None else str(self.backend),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "PreparedLayers",
            repr(self.measure),
            layers=self.names,
            n_samples=self.n_samples,
            backend="numpy" if self.backend is None else str(self.backend),
        )


def prepare_layers(
    A: Any,
    *,
    measure: str = "cka",
    options: SimilarityOptions | None = None,
    backend: Any = "auto",
) -> PreparedLayers:
    """Prepare every layer of ``A`` (mapping or list of ``(n_samples, n_units)`` arrays).

    ``backend``: ``"auto"`` resolves ``options.device`` for these layers; otherwise the
    ``backend`` of another PreparedLayers to pair with (None = numpy, or a torch device).
    """
    check_measure(measure)
    opt = options or SimilarityOptions()
    names, arrays = _named(A, "A")
    if isinstance(backend, str) and backend == "auto":
        backend = backend_for(opt.device, *arrays)
    debiased = measure.endswith("debiased") or measure == "cka_minibatch"
    mats = [
        as_matrix(a, f"layer {n!r}", device=backend, min_rows=4 if debiased else 2, private=True)
        for n, a in zip(names, arrays)
    ]
    n = int(mats[0].shape[0])
    for nm, m in zip(names, mats):
        if m.shape[0] != n:
            raise InputError(f"layer {nm!r} has {m.shape[0]} samples, layer {names[0]!r} has {n}")
    if measure == "cka_minibatch":
        items = mats
    elif measure.startswith("cka"):
        kernel = "rbf" if "rbf" in measure else "linear"
        items = [
            _cka.prepare(
                m, kernel=kernel, debiased=debiased, rbf_scale=opt.rbf_scale, space=opt.space
            )
            for m in mats
        ]
    else:
        items = [_cca._View(m) for m in mats]
    return PreparedLayers(names, tuple(items), measure, n, opt, backend)


def _pair(measure: str, a: Any, b: Any, opt: SimilarityOptions) -> float:
    if measure.startswith("cka"):
        return _cka.pair(a, b, debiased=measure.endswith("debiased"))
    if measure == "cca":
        ka, kb, view = a.rank, b.rank, None
    else:
        keep = opt.keep if measure == "svcca" else None
        ka, kb = a.keep(keep, opt.criterion), b.keep(keep, opt.criterion)
        view = None
        if measure == "pwcca":
            view = opt.view if opt.view != "smaller" else ("x" if a.p <= b.p else "y")
    rho, w, _ = _cca._canonical(a, b, ka, kb, weights_view=view)
    if rho.size == 0:
        return math.nan
    if w is not None:
        return float(w @ rho)
    # cca: the mean over min(p, q) units, as cca()'s default normalize="min"
    return float(rho.sum()) / (min(a.p, b.p) if measure == "cca" else rho.size)


@dataclass(frozen=True, eq=False)
class SimilarityMatrix:
    """One measure between every layer of ``A`` (rows) and every layer of ``B`` (columns).

    Attributes
    ----------
    values : (n_rows, n_cols) float64 ndarray (read-only)
    rows, cols : tuple of str
        Layer names of A and B.
    measure : str
    n_samples : int
    settings : dict
        The :class:`SimilarityOptions` used.
    """

    values: np.ndarray
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    measure: str
    n_samples: int
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        v = np.array(self.values, dtype=np.float64)
        v.setflags(write=False)
        object.__setattr__(self, "values", v)

    def value(self, row: str, col: str) -> float:
        """The value for layer ``row`` of A and layer ``col`` of B."""
        try:
            return float(self.values[self.rows.index(row), self.cols.index(col)])
        except ValueError:
            raise InputError(
                f"no pair ({row!r}, {col!r}); rows {self.rows}, cols {self.cols}"
            ) from None

    def to_frame(self) -> Any:
        """Long table: ``layer, other_layer, measure, value`` (one row per pair)."""
        import pandas as pd

        r, c = np.meshgrid(np.arange(len(self.rows)), np.arange(len(self.cols)), indexing="ij")
        return pd.DataFrame(
            {
                "layer": np.asarray(self.rows, dtype=object)[r.ravel()],
                "other_layer": np.asarray(self.cols, dtype=object)[c.ravel()],
                "measure": self.measure,
                "value": self.values.ravel(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "rows": list(self.rows),
            "cols": list(self.cols),
            "values": [[None if math.isnan(x) else float(x) for x in r] for r in self.values],
            "n_samples": self.n_samples,
            "settings": dict(self.settings),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        v = self.values
        ok = np.isfinite(v)
        return summary(
            "SimilarityMatrix",
            repr(self.measure),
            shape=v.shape,
            n_samples=self.n_samples,
            min=float(v[ok].min()) if ok.any() else None,
            max=float(v[ok].max()) if ok.any() else None,
        )


def _as_prepared(
    A: Any, measure: str, opt: SimilarityOptions, like: PreparedLayers | None = None
) -> PreparedLayers:
    """``A`` prepared (as is when it already is), on the backend of ``like`` when given."""
    if isinstance(A, PreparedLayers):
        if A.measure != measure or A.options != opt:
            raise InputError(
                f"prepared layers are for measure={A.measure!r} with {A.options}; "
                f"asked for measure={measure!r} with {opt}"
            )
        if like is not None and str(A.backend) != str(like.backend):
            raise InputError(f"prepared layers on {A.backend} cannot pair with {like.backend}")
        return A
    return prepare_layers(
        A, measure=measure, options=opt, backend="auto" if like is None else like.backend
    )


def matrix_values(pa: PreparedLayers, pb: PreparedLayers | None) -> np.ndarray:
    """``(len(pa), len(pb))`` values of the prepared layers' measure; ``pb=None``: pa itself."""
    measure, opt = pa.measure, pa.options
    same = pb is None
    pb = pa if same else pb
    if pa.n_samples != pb.n_samples:
        raise InputError(f"A has {pa.n_samples} samples and B {pb.n_samples}: rows must match")
    if measure == "cka_minibatch":
        return _cka.minibatch_matrix(
            list(pa.items),
            None if same else list(pb.items),
            batch_size=opt.batch_size or 256,
            seed=opt.seed,
        )
    sym = same and measure in _SYMMETRIC
    out = np.full((len(pa.items), len(pb.items)), np.nan)
    for i, a in enumerate(pa.items):
        for j, b in enumerate(pb.items):
            if sym and j < i:
                out[i, j] = out[j, i]
            else:
                out[i, j] = _pair(measure, a, b, opt)
    return out


def similarity_matrix(
    A: Any, B: Any = None, *, measure: str = "cka", options: SimilarityOptions | None = None
) -> SimilarityMatrix:
    """Layer x layer similarity between two representations of the same examples.

    Parameters
    ----------
    A : mapping layer -> (n_samples, n_units) array, list of arrays, or PreparedLayers
        E.g. :func:`netsci_dl.activations.layer_activations` of one model.
    B : same, optional
        A second model or snapshot on the same examples (default: A with itself).
    measure : str
        One of :data:`MEASURES`: ``"cka"`` (linear), ``"cka_debiased"``, ``"cka_rbf"``,
        ``"cka_rbf_debiased"``, ``"cka_minibatch"``, ``"cca"``, ``"svcca"``, ``"pwcca"``.
    options : SimilarityOptions, optional
        The measure's settings (SVCCA ``keep``, RBF ``rbf_scale``, ``device``, ...).

    Returns
    -------
    SimilarityMatrix
        ``values[i, j]`` = measure(A[i], B[j]). Warnings (too few samples for CCA, constant
        layers) are raised once per distinct message.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(60, 5))
    >>> M = similarity_matrix({"a": X, "b": 2 * X + 1, "c": X[:, :1]})
    >>> np.round(M.values[:2, :2], 12).tolist(), M.rows
    ([[1.0, 1.0], [1.0, 1.0]], ('a', 'b', 'c'))
    """
    check_measure(measure)
    opt = options or SimilarityOptions()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimilarityWarning)
        pa = _as_prepared(A, measure, opt)
        pb = None if B is None else _as_prepared(B, measure, opt, like=pa)
        values = matrix_values(pa, pb)
    reemit(caught)
    return SimilarityMatrix(
        values,
        pa.names,
        pa.names if pb is None else pb.names,
        measure,
        pa.n_samples,
        opt.to_dict(),
    )


def reemit(caught: list) -> None:
    """Raise each distinct recorded warning once (other categories as they were)."""
    seen: set[str] = set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, SimilarityWarning):
            if msg not in seen:
                seen.add(msg)
                warn(msg)
        else:
            warnings.warn_explicit(msg, w.category, w.filename, w.lineno)
