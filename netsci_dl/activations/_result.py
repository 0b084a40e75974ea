"""The result of running a model on data: :class:`Activations`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["Activations"]


class Activations(Mapping):
    """Per-layer activations: an ordered, read-only mapping layer -> ``(n_samples, n_units)``.

    Rows are the examples in the order given; arrays are numpy and read-only.

    Attributes
    ----------
    modules : dict
        Layer -> the module it names (``named_modules()`` name; ``rbms_[i]`` for a DBN).
    taken_at : dict
        Layer -> the module whose output was recorded (``modules[layer]`` unless ops were
        followed).
    followed : dict
        Layer -> names of the elementwise modules applied after the layer's module (may be empty).
    shapes : dict
        Layer -> the per-example output shape before pooling (e.g. ``(16, 4, 4)``).
    model_kind : {"module", "dbn"}
    settings : dict
        ``pool``, ``dft_size``, ``batch_size``, ``device``, ``dtype``, ``n_samples``,
        ``input_shape``, ``layers`` (``"default"`` or the names asked for).
    """

    __slots__ = ("_arrays", "modules", "taken_at", "followed", "shapes", "model_kind", "settings")

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        *,
        modules: Mapping[str, str],
        taken_at: Mapping[str, str],
        followed: Mapping[str, tuple[str, ...]],
        shapes: Mapping[str, tuple[int, ...]],
        model_kind: str,
        settings: Mapping[str, Any],
    ) -> None:
        out = {}
        for k, a in arrays.items():
            a = np.asarray(a)
            a.setflags(write=False)
            out[str(k)] = a
        self._arrays = out
        self.modules = dict(modules)
        self.taken_at = dict(taken_at)
        self.followed = {k: tuple(v) for k, v in followed.items()}
        self.shapes = {k: tuple(v) for k, v in shapes.items()}
        self.model_kind = model_kind
        self.settings = dict(settings)

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._arrays[key]
        except KeyError:
            raise KeyError(f"no layer {key!r}; layers: {list(self._arrays)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        from netsci_dl._results import MAX_REPR, cap

        items = [f"{k}: {a.shape[1]}" for k, a in self._arrays.items()]
        body = ", ".join(items)
        if len(body) > MAX_REPR - 40:
            body = f"{items[0]}, ..., {items[-1]}; {len(items)} layers"
        return cap(f"Activations({self.n_samples} samples; {body})")

    @property
    def n_samples(self) -> int:
        return int(next(iter(self._arrays.values())).shape[0]) if self._arrays else 0

    @property
    def widths(self) -> dict[str, int]:
        """Layer -> number of units (columns)."""
        return {k: int(a.shape[1]) for k, a in self._arrays.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (no arrays)."""
        return {
            "model_kind": self.model_kind,
            "layers": [
                {
                    "name": k,
                    "units": int(a.shape[1]),
                    "module": self.modules[k],
                    "taken_at": self.taken_at[k],
                    "followed": list(self.followed[k]),
                    "shape": list(self.shapes[k]),
                }
                for k, a in self._arrays.items()
            ],
            "settings": dict(self.settings),
        }

    def to_frame(self) -> Any:
        """One row per layer: ``layer units module taken_at followed shape`` (the description,
        not the activations: those are ``self[layer]``)."""
        import pandas as pd

        return pd.DataFrame(self.to_dict()["layers"]).rename(columns={"name": "layer"})
