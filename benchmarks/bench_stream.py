"""Benchmark: layer-by-layer linear CKA of a ResNet-18-sized model on 10,000 RGB 32x32 images,
streamed (issue 24 item 6) beside the path that holds every layer's activations.

    .venv/bin/python benchmarks/bench_stream.py               # 10,000 images (CPU: slow)
    .venv/bin/python benchmarks/bench_stream.py --n 1000      # fewer images
    .venv/bin/python benchmarks/bench_stream.py --device cuda

The model is a replica ResNet-18 built here (the CIFAR layout: a 3x3 stem of 64 channels, four
stages of two basic blocks, 64/128/256/512 channels, 11.2M parameters), randomly initialised
under a fixed seed. The images are random (standard normal, float32, seed 0): no image set is
at hand here, and the cost of a forward pass and of the CKA statistics does not depend on the
pixel values. Every Conv2d and Linear module is a layer (21), each convolution's output pooled
to its channels by the mean over space (``pool="mean"``, stated in the output).

Measured 2026-12-06 at 7b9fa13, 10,000 images (``--n 10000``, batch 256, CPU), on the shared
2-core machine under load (load average 8, the benchmark at ``nice 10``): stream 613 s / 1002 MB
peak RSS, full 587 s / 1454 MB (full / stream time 0.96x), CKA maps equal to 7.8e-16. Both stay
under the 3 GB goal; the time of both is the model's forward pass (a profile at 512 images:
conv2d 72% of the streamed run, the CKA statistics 4%). With ``pool="mean"`` the held
activations are small (10,000 x ~4,000 float32: 160 MB); the streamed path's memory does not
grow with the number of images (one batch plus one float64 p x q matrix per pair of layers),
the held path's does. An earlier measurement at 200 images (stream 121 s against 26 s) was of
an older statistics update and is superseded.

Two paths, each in its own process so that its peak resident memory (VmHWM) is its own:

- ``stream``: :func:`netsci_dl.activations.stream_similarity` runs the model batch by batch and
  keeps only linear CKA's cross-product statistics (one float64 p x q matrix per pair of
  layers); the activations are never held;
- ``full``: :func:`netsci_dl.activations.layer_activations` (every layer's pooled activations
  held) then :func:`netsci_dl.analysis.similarity.similarity_matrix`.

Both hold the input images (10,000 x 3 x 32 x 32 float32: 123 MB). The 21 x 21 CKA maps of the
two paths are compared (max |difference|). Timings on a shared machine are noisy: compare the
two paths of the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def resnet18(n_classes: int = 10) -> object:
    """A ResNet-18 for 32x32 inputs (He et al. 2016; the CIFAR stem), seed 0."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            stages, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                stages.append(nn.Sequential(Block(cin, cout, stride), Block(cout, cout, 1)))
                cin = cout
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.fc = nn.Linear(512, n_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(x.mean(dim=(2, 3)), 1))

    torch.manual_seed(0)
    return ResNet18().eval()


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024.0
    return float("nan")


def run_path(path: str, n: int, batch: int, device: str) -> dict:
    """One path in this process: time, peak RSS and the CKA map."""
    import numpy as np
    import torch

    from netsci_dl.activations import layer_activations, stream_similarity
    from netsci_dl.analysis.similarity import similarity_matrix

    net = resnet18()
    X = torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    t = time.perf_counter()
    if path == "stream":
        S = stream_similarity(net, X, batch_size=batch, device=device, pool="mean")
        M = np.asarray(S.values if hasattr(S, "values") else S, dtype=float)
    else:
        A = layer_activations(net, X, batch_size=batch, device=device, pool="mean")
        S = similarity_matrix(A, A, measure="cka")
        M = np.asarray(S.values if hasattr(S, "values") else S, dtype=float)
    seconds = time.perf_counter() - t
    return {"path": path, "seconds": seconds, "peak_mb": _peak_mb(), "map": M.tolist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="images (default 10,000)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--path", choices=["stream", "full"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.path:  # a child process: one path
        print(json.dumps(run_path(a.path, a.n, a.batch_size, a.device)))
        return
    import numpy as np

    out = {}
    for path in ("stream", "full"):
        cmd = [sys.executable, __file__, "--path", path, "--n", str(a.n)]
        cmd += ["--batch-size", str(a.batch_size), "--device", a.device]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[path] = json.loads(res.stdout.strip().splitlines()[-1])
    diff = float(np.max(np.abs(np.array(out["stream"]["map"]) - np.array(out["full"]["map"]))))
    print(
        f"ResNet-18 replica (random init), {a.n} random RGB 32x32 images, "
        f"{len(out['full']['map'])} layers "
        f"(Conv2d/Linear), pool=mean (channels averaged over space), batch {a.batch_size}, "
        f"device {a.device}"
    )
    for path in ("stream", "full"):
        r = out[path]
        print(f"  {path:6s} {r['seconds']:8.1f} s   peak RSS {r['peak_mb']:7.0f} MB")
    ratio = out["full"]["seconds"] / out["stream"]["seconds"]
    print(f"  full / stream time: {ratio:.2f}x; max |CKA difference| {diff:.1e}")


if __name__ == "__main__":
    main()
