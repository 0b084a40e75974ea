"""Block-by-block structure in bounded memory (analysis.structure.blockwise, _threshold_blocks):
the exact global cut keyed piece by piece, degrees/assortativity/k_nn from pieces of a block,
and each node's top-k edges over a lazy source: equal to the whole-graph rules of threshold.py
and the whole-graph measures, with allocations near one block, not a multiple of it."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import netsci_dl as nd
import netsci_dl._threshold_blocks as TB
import netsci_dl.analysis.structure.blockwise as BW
from netsci_dl._threshold_blocks import order_statistics, quantile_cut, row_top_k
from netsci_dl.analysis.structure import (
    average_neighbor_degree,
    blockwise_assortativity,
    blockwise_degree,
    blockwise_knn,
    blockwise_quantile_cut,
    blockwise_topk,
    degree,
    degree_assortativity,
)
from netsci_dl.errors import InputError


@pytest.fixture
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of 97 entries: every block of the tests below is cut in many."""
    monkeypatch.setattr(TB, "PIECE", 97)
    monkeypatch.setattr(BW, "PIECE", 97)


def _graph(seed: int = 0, dtype: object = np.float32, ties: bool = False) -> nd.LayeredGraph:
    """A DAG with a skip block (two blocks leave group 0, two enter group 2)."""
    rng = np.random.default_rng(seed)
    mats = [rng.normal(size=(30, 40)), rng.normal(size=(40, 25)), rng.normal(size=(30, 25))]
    if ties:  # few distinct values: many ties at every node's k-th place
        mats = [np.round(m) for m in mats]
    return nd.LayeredGraph((30, 40, 25), tuple(m.astype(dtype) for m in mats),
                           block_src=(0, 1, 0), block_dst=(1, 2, 2))  # fmt: skip


class _Transposed:
    """A block source like export.lazy.LazyBlocks: each block a fresh transposed float32 array
    (``(out, in)`` in memory, viewed ``(n_src, n_dst)``)."""

    def __init__(self, G: nd.LayeredGraph) -> None:
        self._mats = [np.ascontiguousarray(np.asarray(b).T) for b in G.blocks]
        for a in ("layer_sizes", "block_src", "block_dst", "block_kinds", "n_blocks"):
            setattr(self, a, getattr(G, a))

    def dense_block(self, b: int) -> np.ndarray:
        return self._mats[b].copy().T


def test_row_top_k_keeps_the_first_of_tied_entries() -> None:
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=(200, 17)))  # ties everywhere
    for k in (1, 3, 17, 20):
        got = row_top_k(s, k)
        for i in range(len(s)):  # the oracle: a stable sort of each row, by -score
            want = np.zeros(s.shape[1], bool)
            want[np.argsort(-s[i], kind="stable")[:k]] = True
            np.testing.assert_array_equal(got[i], want)


@pytest.mark.parametrize("direction", ["out", "in"])
@pytest.mark.parametrize("weights", ["abs", "pos", "neg"])
@pytest.mark.parametrize("ties", [False, True])
def test_blockwise_topk_equals_the_whole_graph_rule(tiny_pieces, direction, weights, ties) -> None:
    G = _graph(ties=ties)
    for k in (1, 4, 50):
        want = nd.threshold.top_k(G, k, direction=direction, weights=weights)
        for src in (G, _Transposed(G)):
            got = blockwise_topk(src, k, direction=direction, weights=weights)
            assert got.n_edges == want.n_edges
            for b in range(G.n_blocks):
                for a, c in ((got.blocks[b], want.blocks[b]),
                             (got.edge_attrs["weight"][b], want.edge_attrs["weight"][b]),
                             (got.edge_attrs["sign"][b], want.edge_attrs["sign"][b])):  # fmt: skip
                    np.testing.assert_array_equal(a.indptr, c.indptr)
                    np.testing.assert_array_equal(a.indices, c.indices)
                    np.testing.assert_array_equal(a.data, c.data)
            rec = got.meta["thresholds"][-1]
            assert rec["kept"] == want.meta["thresholds"][-1]["kept"] and rec["k"] == k
    kw = blockwise_topk(G, 2, keep_weights=True)
    np.testing.assert_array_equal(
        kw.blocks[0].data, nd.threshold.top_k(G, 2, keep_weights=True).blocks[0].data
    )


def test_blockwise_topk_of_a_sharded_checkpoint_equals_the_model_loaded_whole(
    tmp_path: Path,
) -> None:
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    from netsci_dl.export.lazy import lazy_blocks

    g = torch.Generator().manual_seed(0)
    sd = {f"l{i}.weight": torch.randn(o, n, generator=g).to(torch.bfloat16)
          for i, (n, o) in enumerate([(30, 50), (50, 40), (40, 20)])}  # fmt: skip
    st.save_file(sd, str(tmp_path / "m.safetensors"))
    src = lazy_blocks(tmp_path / "m.safetensors")
    G = nd.from_matrices([v.float().numpy().T for v in sd.values()])
    for direction in ("out", "in"):
        got = blockwise_topk(src, 3, direction=direction)
        want = nd.threshold.top_k(G, 3, direction=direction)
        for a, c in zip(got.edge_attrs["weight"], want.edge_attrs["weight"], strict=True):
            assert (a != c).nnz == 0 and a.nnz == c.nnz


def test_bad_k_and_direction_are_input_errors() -> None:
    G = _graph()
    for k in (0, 1.5, True, "3"):
        with pytest.raises(InputError, match="k must be a positive integer"):
            blockwise_topk(G, k)
    with pytest.raises(InputError, match="direction"):
        blockwise_topk(G, 2, direction="up")


def test_cut_and_measures_from_pieces_equal_the_whole_graph(tiny_pieces) -> None:
    G = _graph(seed=1, dtype=np.float64)
    for src in (G, _Transposed(G)):
        for weights in ("abs", "pos", "neg"):
            H = nd.threshold.by_quantile(G, 0.8, weights=weights)
            cut = blockwise_quantile_cut(src, 0.8, weights=weights)
            assert cut == H.meta["thresholds"][-1]["t"]
            np.testing.assert_array_equal(blockwise_degree(src, cut, weights=weights), degree(H))
            np.testing.assert_allclose(  # edge sums in another order: to rounding
                blockwise_assortativity(src, cut, weights=weights),
                degree_assortativity(H),
                rtol=1e-12,
            )
            np.testing.assert_allclose(
                blockwise_knn(src, cut, weights=weights), average_neighbor_degree(H), rtol=1e-12
            )


def test_order_statistics_of_mixed_pieces_equal_a_sort(tiny_pieces) -> None:
    """float32 and float64 scores, a transposed view, huge and tiny magnitudes, both signs."""
    rng = np.random.default_rng(2)
    parts = [rng.normal(size=(40, 30)).astype(np.float32).T,
             rng.normal(size=500) * np.exp(rng.normal(size=500) * 40),
             np.array([0.0, -0.0, 1e-310, -1e-310, 3.5e38, -3.5e38, 1e300]),
             np.round(rng.normal(size=300), 1)]  # fmt: skip
    allv = np.sort(np.concatenate([np.asarray(p, np.float64).ravel() for p in parts]))
    ranks = [0, 1, 5, 600, 1200, len(allv) - 2, len(allv) - 1]
    assert order_statistics(lambda: iter(parts), ranks) == allv[ranks].tolist()
    for q in (0.0, 0.3, 0.95):
        assert quantile_cut(lambda: iter(parts), q) == float(np.quantile(np.abs(allv), q))
    bad = [np.ones(500), np.r_[np.ones(300), np.nan]]
    with pytest.raises(InputError, match="NaN"):
        order_statistics(lambda: iter(bad), [3])


def test_the_cut_and_degrees_allocate_about_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """One 2000 x 3000 block (24 MB as float32) read fresh and transposed, as from a
    checkpoint: the exact cut, degrees, k_nn and top-k allocate the block, one piece's
    temporaries and the 2**20-bin count (the whole-block keys took twelve blocks)."""
    monkeypatch.setattr(TB, "PIECE", 1 << 18)
    monkeypatch.setattr(BW, "PIECE", 1 << 18)
    rng = np.random.default_rng(3)
    G = nd.LayeredGraph((2000, 3000), (rng.normal(size=(2000, 3000)).astype(np.float32),))
    src = _Transposed(G)
    block = 2000 * 3000 * 4
    fixed = 2 * 8 * (1 << 20) + 16 * (1 << 18)  # the count and one bincount; ~16 B per entry
    tracemalloc.start()
    try:
        for f in (lambda: blockwise_quantile_cut(src, 0.95),
                  lambda: blockwise_knn(src, 2.0),
                  lambda: blockwise_topk(src, 5),
                  lambda: blockwise_topk(src, 5, direction="in")):  # fmt: skip
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            f()
            grew = tracemalloc.get_traced_memory()[1] - base
            assert grew < block + 1.5 * fixed, (grew, block, fixed)
    finally:
        tracemalloc.stop()
