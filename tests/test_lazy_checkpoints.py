"""Lazy, bounded-memory reading of single and sharded safetensors (export.lazy), the
block-by-block analyses on them (analysis.structure.blockwise), and the exact global cut
(_threshold_blocks): every lazy result equals the same model loaded whole."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import netsci_dl as nd
from netsci_dl._files.safetensors_safe import open_safetensors, read_safetensors
from netsci_dl._threshold_blocks import density_cut, order_statistics, quantile_cut
from netsci_dl.analysis import layer_spectra
from netsci_dl.analysis.structure import (
    average_neighbor_degree,
    blockwise_assortativity,
    blockwise_degree,
    blockwise_knn,
    blockwise_quantile_cut,
    blockwise_strength,
    blockwise_weight_moments,
    degree,
    degree_assortativity,
    strength,
)
from netsci_dl.errors import InputError
from netsci_dl.export import open_lazy, weight_tensors
from netsci_dl.export.lazy import lazy_blocks

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

SIZES = (30, 50, 40, 20, 10)


def _mlp_state(dtype: object, seed: int = 0) -> dict[str, object]:
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        sd[f"layers.{i}.weight"] = torch.randn(b, a, generator=g).to(dtype)
        sd[f"layers.{i}.bias"] = torch.randn(b, generator=g).to(dtype)
    return sd


def _write_sharded(folder: Path, sd: dict[str, object], n_shards: int = 3) -> Path:
    """Shards of about equal size and the index file, as transformers writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(sd)
    wmap = {}
    for s in range(n_shards):
        part = names[s::n_shards]
        fname = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        st_torch.save_file({k: sd[k].contiguous() for k in part}, str(folder / fname))
        wmap.update(dict.fromkeys(part, fname))
    with open(folder / "model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {}, "weight_map": wmap}, f)
    return folder


def _whole(sd: dict[str, object]) -> dict[str, np.ndarray]:
    return {k: v.float().numpy() for k, v in sd.items()}


@pytest.mark.parametrize("dtype", ["bfloat16", "float32", "float16"])
def test_sharded_lazy_tensors_equal_the_stored_values(tmp_path: Path, dtype: str) -> None:
    sd = _mlp_state(getattr(torch, dtype))
    folder = _write_sharded(tmp_path / "ck", sd)
    t, _, files = open_lazy(folder)
    assert files[0] == "model.safetensors.index.json" and len(files) == 4
    assert sorted(t) == sorted(sd)
    for k, v in sd.items():
        want = v.float().numpy()  # torch's own decoding of the stored bits
        np.testing.assert_array_equal(np.asarray(t[k], dtype=np.float32), want)
        np.testing.assert_array_equal(t[k].read(np.float64), want.astype(np.float64))
        # tiny chunks: the chunked decode joins the pieces in place
        import netsci_dl._files.safetensors_safe as sts

        old, sts._CHUNK = sts._CHUNK, 7
        try:
            np.testing.assert_array_equal(t[k].read(np.float32), want)
        finally:
            sts._CHUNK = old
    # the same index given as a file, and one tensor pickled: path and offset only
    t2, _, _ = open_lazy(folder / "model.safetensors.index.json")
    lt = pickle.loads(pickle.dumps(t2["layers.0.weight"]))
    assert len(pickle.dumps(lt)) < 1000
    np.testing.assert_array_equal(np.asarray(lt), np.asarray(t["layers.0.weight"]))


def test_lazy_single_file_equals_the_eager_reader(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    arrs = {"b": rng.normal(size=(7, 5)).astype(np.float16), "a": np.arange(6, dtype=np.int64)}
    p = tmp_path / "m.safetensors"
    save_file(arrs, str(p), metadata={"x": "y"})
    lazy, meta = open_safetensors(p)
    eager, meta2 = read_safetensors(p)
    assert list(lazy) == list(eager) and meta == meta2 == {"x": "y"}
    assert lazy["b"].dtype == np.float16  # f16 stays as stored until asked
    for k in eager:
        np.testing.assert_array_equal(np.asarray(lazy[k]), np.asarray(eager[k]))


def test_forged_shards_and_indexes_are_refused(tmp_path: Path) -> None:
    folder = _write_sharded(tmp_path / "ck", _mlp_state(torch.float32))
    shard = folder / "model-00002-of-00003.safetensors"
    data = shard.read_bytes()
    shard.write_bytes(data[:-10])  # truncated: offsets past the end
    with pytest.raises(InputError, match="truncated|cover"):
        open_lazy(folder)
    shard.write_bytes(data)
    idx = folder / "model.safetensors.index.json"
    doc = json.loads(idx.read_text())
    doc["weight_map"]["ghost.weight"] = "model-00001-of-00003.safetensors"
    idx.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="absent"):
        open_lazy(folder)
    doc["weight_map"]["ghost.weight"] = "../outside.safetensors"
    idx.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="not a file name"):
        open_lazy(folder)


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_spectra_of_a_sharded_checkpoint_equal_the_whole_model(tmp_path: Path, dtype: str) -> None:
    sd = _mlp_state(getattr(torch, dtype))
    folder = _write_sharded(tmp_path / "ck", sd)
    lazy = weight_tensors(folder)
    assert list(lazy) == [f"layers.{i}" for i in range(4)]
    whole = {k[: -len(".weight")]: v for k, v in _whole(sd).items() if k.endswith(".weight")}
    S_lazy = layer_spectra(lazy, seed=3)
    S_whole = layer_spectra(whole, seed=3)
    for a, b in zip(S_lazy, S_whole, strict=True):
        np.testing.assert_array_equal(a.esd.eigenvalues, b.esd.eigenvalues)
        assert a.row() == b.row() or a.to_dict() == b.to_dict()
    # Delta W between two lazy checkpoints, against the whole arrays
    other = _write_sharded(tmp_path / "ck2", _mlp_state(getattr(torch, dtype), seed=1), 2)
    D_lazy = layer_spectra(lazy, reference=weight_tensors(other), traps=False)
    ref = {k[:-7]: v for k, v in _whole(_mlp_state(getattr(torch, dtype), 1)).items()
           if k.endswith(".weight")}  # fmt: skip
    D_whole = layer_spectra(whole, reference=ref, traps=False)
    for a, b in zip(D_lazy, D_whole, strict=True):
        np.testing.assert_array_equal(a.esd.eigenvalues, b.esd.eigenvalues)


def _graph(sd: dict[str, object]) -> nd.LayeredGraph:
    return nd.from_matrices([v.float().numpy().T for k, v in sd.items() if k.endswith("weight")])


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("weights", ["abs", "pos", "neg"])
def test_blockwise_measures_equal_the_whole_graph(tmp_path: Path, dtype: str, weights: str) -> None:
    sd = _mlp_state(getattr(torch, dtype))
    src = lazy_blocks(_write_sharded(tmp_path / "ck", sd))
    G = _graph(sd)
    assert src.layer_sizes == G.layer_sizes and src.block_src == G.block_src
    for direction in ("up", "down", "total"):
        for kind in ("signed", "abs", "pos", "neg"):
            np.testing.assert_array_equal(
                blockwise_strength(src, direction=direction, weights=kind),
                strength(G, direction=direction, weights=kind),
            )
    H = nd.threshold.by_quantile(G, 0.95, weights=weights)
    cut = blockwise_quantile_cut(src, 0.95, weights=weights)
    assert cut == H.meta["thresholds"][-1]["t"]  # the exact global cut, bit for bit
    for direction in ("up", "down", "total"):
        np.testing.assert_array_equal(
            blockwise_degree(src, cut, weights=weights, direction=direction),
            degree(H, direction=direction),
        )
    # sums over edges in another order: equal to rounding
    np.testing.assert_allclose(
        blockwise_assortativity(src, cut, weights=weights), degree_assortativity(H), rtol=1e-12
    )
    np.testing.assert_allclose(
        blockwise_knn(src, cut, weights=weights), average_neighbor_degree(H), rtol=1e-12
    )
    w = np.concatenate([np.asarray(b).ravel() for b in G.blocks]).astype(np.float64)
    m = blockwise_weight_moments(src).set_index("block").loc["all"]
    np.testing.assert_allclose([m["mean"], m["std"], m["mean_abs"]],
                               [w.mean(), w.std(), np.abs(w).mean()], rtol=1e-10)  # fmt: skip
    assert (m["min"], m["max"], m["n"]) == (w.min(), w.max(), len(w))


def test_exact_cut_on_ties_and_heavy_bins() -> None:
    """Many equal values and values crowded in one bin: still numpy's order statistics."""
    rng = np.random.default_rng(0)
    parts = [np.round(rng.normal(size=5000), 1), 1 + rng.random(3000) * 1e-9, np.zeros(7)]
    allv = np.sort(np.concatenate(parts))
    ranks = [0, 1, 2500, 5000, 8006]
    assert order_statistics(lambda: iter(parts), ranks) == allv[ranks].tolist()
    for q in (0.0, 0.5, 0.95, 0.999):
        for wt in ("abs", "pos", "neg"):
            sc = {"abs": np.abs, "pos": lambda x: x, "neg": lambda x: -x}[wt](allv)
            assert quantile_cut(lambda: iter(parts), q, weights=wt) == float(np.quantile(sc, q))
    G = nd.from_matrices([parts[0].reshape(50, 100).astype(np.float32)])
    v, ties = density_cut(lambda: (np.asarray(b) for b in G.blocks), 0.1)
    kept = nd.threshold.to_density(G, 0.1)
    assert kept.n_edges == int((np.abs(G.blocks[0]) > v).sum()) + ties
    with pytest.raises(InputError, match="quantile"):
        quantile_cut(lambda: iter(parts), 1.0)


def test_lazy_blocks_refuse_shapes_that_do_not_chain(tmp_path: Path) -> None:
    sd = {"a.weight": torch.ones(4, 3), "b.weight": torch.ones(4, 5)}
    p = tmp_path / "m.safetensors"
    st_torch.save_file(sd, str(p))
    with pytest.raises(InputError, match="does not chain"):
        lazy_blocks(p)
    src = lazy_blocks(p, layout="matrices")
    assert src.layer_sizes == (3, 4, 5, 4) and src.block_dst == (1, 3)


_RSS_CHILD = textwrap.dedent(
    """
    import resource, sys, tracemalloc, numpy as np
    from netsci_dl.export.lazy import lazy_blocks
    from netsci_dl.analysis.structure import blockwise_strength, blockwise_quantile_cut
    from netsci_dl.analysis.structure import blockwise_degree
    from netsci_dl.export import weight_tensors
    from netsci_dl.analysis.spectra import esd
    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    src = lazy_blocks(sys.argv[1], layout="matrices")
    np.zeros(1) @ np.zeros(1)
    base = rss()
    tracemalloc.start()
    s = blockwise_strength(src, weights="abs")
    cut = blockwise_quantile_cut(src, 0.95)
    k = blockwise_degree(src, cut)
    w = weight_tensors(sys.argv[1])
    lam = [esd(v).lambda_max for v in list(w.values())[:2]]
    print(base, rss(), int(k.sum()), tracemalloc.get_traced_memory()[1])
    """
)


@pytest.mark.slow
def test_peak_memory_is_bounded_by_the_largest_block(tmp_path: Path) -> None:
    """A 384 MB bf16 checkpoint in 3 shards (about 1.5 GB as float64): the lazy passes
    (strengths, the exact global cut, degrees, two spectra) stay near the largest block."""
    g = torch.Generator().manual_seed(0)
    n_mat, rows, cols = 12, 8192, 2048  # 32 MB each in bf16, 128 MB in float64
    sd = {f"m.{i}.weight": torch.randn(rows, cols, generator=g).to(torch.bfloat16)
          for i in range(n_mat)}  # fmt: skip
    folder = _write_sharded(tmp_path / "big", sd, 3)
    del sd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(folder)], capture_output=True,
                         text=True, env=env, check=True, timeout=600)  # fmt: skip
    base, peak, _, traced = (int(x) for x in out.stdout.split())
    largest_f64 = rows * cols * 8
    model_f64 = n_mat * largest_f64
    grew = peak - base
    # the largest block as float64 a few times over (decoded copy, scores, Gram inputs) and a
    # fixed overhead; the whole model as float64 would be 1.5 GB
    assert grew < 3 * largest_f64 + (100 << 20), (grew, largest_f64)
    assert grew < model_f64 / 3
    # numpy's own allocations (RSS above may stay under the peak of the imports): one block
    # as float32 and its |w| for the strengths (together one block's float64 size), a chunk
    # of rows for the spectra (64 MB), the pieces of the cut (2**21 entries)
    assert traced < largest_f64 + (100 << 20), (traced, largest_f64)


@pytest.mark.slow
def test_spectra_of_shards_on_a_dask_cluster_equal_the_serial_run(tmp_path: Path) -> None:
    """Per-matrix tasks carry lazy tensors (a path and an offset) to the workers, which read
    them there; the tables are identical to the serial run, also through --scheduler."""
    import logging

    from click.testing import CliRunner
    from distributed import Client, LocalCluster

    from netsci_dl.cli import cli
    from netsci_dl.parallel import use_scheduler
    from netsci_dl.runs.spectra import checkpoint_spectra

    folder = _write_sharded(tmp_path / "ck", _mlp_state(torch.bfloat16), 3)
    serial = checkpoint_spectra(folder, seed=2, progress=False)
    run = CliRunner().invoke(cli, ["spectra", str(folder), "-o", str(tmp_path / "a"), "-q"])
    assert run.exit_code == 0, run.output
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:  # fmt: skip
        with Client(cluster) as client, use_scheduler(client=client):
            client.wait_for_workers(2, timeout=60)
            on_cluster = checkpoint_spectra(folder, seed=2, n_jobs=-1, progress=False)
        run = CliRunner().invoke(cli, ["spectra", str(folder), "-o", str(tmp_path / "b"), "-q",
                                        "--scheduler", cluster.scheduler_address])  # fmt: skip
        assert run.exit_code == 0, run.output
    for a, b in zip(serial, on_cluster, strict=True):
        np.testing.assert_array_equal(a.esd.eigenvalues, b.esd.eigenvalues)
        assert a.to_dict() == b.to_dict()
    assert (tmp_path / "a" / "spectra.csv").read_bytes() == (
        tmp_path / "b" / "spectra.csv"
    ).read_bytes()


def test_spectra_of_shards_on_an_in_process_dask_cluster_equal_the_serial_run(
    tmp_path: Path,
) -> None:
    import logging

    from distributed import Client, LocalCluster

    from netsci_dl.parallel import use_scheduler

    folder = _write_sharded(tmp_path / "ck", _mlp_state(torch.float16), 2)
    serial = layer_spectra(weight_tensors(folder), seed=5, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:  # fmt: skip
        with Client(cluster) as client, use_scheduler(client=client):
            on_cluster = layer_spectra(weight_tensors(folder), seed=5, n_jobs=-1, progress=False)
    # processes=False: the workers are threads of this process, and the BLAS/OpenMP thread
    # counts each task limits are shared with the task beside it (one task's exit can restore
    # them while the other still computes), so sums may be split differently: 1 in 10 runs
    # differed at 1e-14 relative. Worker processes (the default) give the serial bits.
    for a, b in zip(serial, on_cluster, strict=True):
        np.testing.assert_allclose(a.esd.eigenvalues, b.esd.eigenvalues, rtol=1e-12)
        np.testing.assert_allclose(a.alpha, b.alpha, rtol=1e-9, equal_nan=True)
        assert (a.name, a.esd.method, a.n_tail) == (b.name, b.esd.method, b.n_tail)


def test_weightwatcher_compat_gives_the_peers_alphas() -> None:
    """compat="weightwatcher" with the default xmin scan: the alphas, xmins and KS distances of
    WeightWatcher's analyze() on the same torch model (its scan reimplemented, vectorised)."""
    import logging

    ww = pytest.importorskip("weightwatcher")
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    torch.manual_seed(0)
    shapes = [(200, 120), (300, 40), (60, 90), (25, 30)]
    m = torch.nn.Sequential(*[torch.nn.Linear(i, o, bias=False) for o, i in shapes])
    with torch.no_grad():  # one heavy-tailed spectrum beside the random ones
        u, s, v = torch.linalg.svd(m[0].weight, full_matrices=False)
        m[0].weight.copy_(u @ torch.diag(torch.arange(1, 121).float() ** -0.7 * 5) @ v)
    details = ww.WeightWatcher(model=m).analyze()
    W = {str(i): lay.weight.detach().numpy() for i, lay in enumerate(m)}
    S = layer_spectra(W, compat="weightwatcher", traps=False)
    assert len(details) == len(S)
    # the peer takes float32 SVDs: eigenvalues (and so alpha) agree to float32 rounding
    np.testing.assert_allclose(S.alpha, details["alpha"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose([x.xmin for x in S], details["xmin"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose([x.ks for x in S], details["D"].to_numpy(), rtol=1e-4)
    # the package's own scan (tails of 10 or more) differs where the peer picks a tiny tail
    own = layer_spectra(W, traps=False)
    assert all(x.n_tail >= 10 for x in own)
