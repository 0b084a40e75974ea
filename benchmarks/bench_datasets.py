"""Benchmark: reading data sets (issue 24) against torch, same data, same run.

    .venv/bin/python benchmarks/bench_datasets.py            # 10,000 CIFAR-10 records
    .venv/bin/python benchmarks/bench_datasets.py --n 50000  # the full training set's size

A CIFAR-10 binary file of random records is written once. Rows: reading it
(``datasets.load("cifar10:...")``: bytes -> float32 / 255) against ``torch.from_numpy(...)
.float() / 255`` on the same bytes; per-channel normalisation against the same expression in
torch; bilinear resize to 64x64 against ``torch.nn.functional.interpolate(mode="bilinear",
align_corners=False)``. Each row checks that the values agree and prints ours / torch's time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsci_dl.datasets import load  # noqa: E402

MEAN, STD = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    n = ap.parse_args().n
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    rec = np.concatenate([rng.integers(0, 10, (n, 1)), rng.integers(0, 256, (n, 3072))], axis=1)
    rec.astype(np.uint8).tofile(folder / "data_batch_1.bin")
    spec = f"cifar10:{folder}"
    raw = np.fromfile(folder / "data_batch_1.bin", np.uint8).reshape(n, -1)[:, 1:]

    def peer_read():
        return torch.from_numpy(raw.reshape(n, 3, 32, 32)).float() / 255

    rows = []
    t_ours, ds = timed(lambda: load(spec))
    t_peer, ref = timed(peer_read)
    np.testing.assert_allclose(ds.inputs(), ref.numpy(), rtol=1e-6)
    rows.append(("read + /255", t_ours, t_peer))
    m, s = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    t_ours, dn = timed(lambda: load(spec, normalize=(MEAN, STD)))
    t_peer, rn = timed(lambda: (peer_read() - m) / s)
    np.testing.assert_allclose(dn.inputs(), rn.numpy(), rtol=1e-5, atol=1e-5)
    rows.append(("read + normalize", t_ours, t_peer))
    t_ours, dr = timed(lambda: load(spec, resize=(64, 64)))
    interp = torch.nn.functional.interpolate
    t_peer, rr = timed(lambda: interp(peer_read(), size=(64, 64), mode="bilinear"))
    np.testing.assert_allclose(dr.inputs(), rr.numpy(), atol=1e-5)
    rows.append(("read + resize 64x64", t_ours, t_peer))
    print(f"CIFAR-10 binary, {n} records (random bytes); torch {torch.__version__}")
    print(f"{'step':24s} {'ours (s)':>9s} {'torch (s)':>9s} {'ratio':>7s}")
    for name, a, b in rows:
        print(f"{name:24s} {a:9.3f} {b:9.3f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
