"""Trace and export a ResNet-50-sized model (about 25M parameters, random weights) against
loading its state_dict alone, same run; and the workload-W chain build.

    .venv/bin/python benchmarks/bench_export.py

Prints the time and the peak extra memory (the growth of the process's maximum RSS over the
model alone, each case in a fresh process) of: ``torch.load`` of the state_dict from memory
(the peer: what any user of the checkpoint pays), and ``nd.load(model)`` (torch.fx trace,
junction resolution, the channel graph with l2 kernel norms, the float32 copy), without and
with an example input (shape propagation at 64x64). The ResNet is written here (torchvision is
not installed beside this torch).
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import time

import torch
import torch.nn as nn
from _record import record

import netsci_dl as nd


class Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = []
            for i in range(blocks):
                stage.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * 4
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(case: str) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    m = ResNet50().eval()
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    base = _rss_mb()
    t0 = time.perf_counter()
    if case == "peer":
        buf.seek(0)
        out = torch.load(buf, weights_only=True)
        info = {"tensors": len(out)}
    elif case == "fx":
        G = nd.load(m)
        info = {
            "groups": G.n_layers,
            "blocks": G.n_blocks,
            "edges": G.n_edges,
            "identity": G.block_kinds.count("identity"),
        }
    else:
        G = nd.load(m, example_input=torch.randn(1, 3, 64, 64))
        info = {"edges": G.n_edges}
    dt = time.perf_counter() - t0
    print(json.dumps({"s": dt, "extra_mb": _rss_mb() - base, **info}))


def run(case: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", case], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n_params = sum(p.numel() for p in ResNet50().parameters())
    peer, fx, ex = run("peer"), run("fx"), run("input")
    print(
        f"ResNet-50-sized model: {n_params / 1e6:.1f}M parameters "
        f"({n_params * 4 / 1e6:.0f} MB of float32), one thread"
    )
    print(
        f"  peer  torch.load(state_dict):          {peer['s']:6.2f} s  +{peer['extra_mb']:6.0f} MB"
    )
    print(
        f"  ours  nd.load(model), torch.fx:        {fx['s']:6.2f} s  +{fx['extra_mb']:6.0f} MB"
        f"  ({fx['s'] / peer['s']:.1f}x the load's time)"
    )
    print(f"  ours  nd.load(model, example_input):   {ex['s']:6.2f} s  +{ex['extra_mb']:6.0f} MB")
    print(
        f"  graph: {fx['groups']} groups, {fx['blocks']} blocks ({fx['identity']} identity), "
        f"{fx['edges']} edges"
    )
    record(
        "nd.load(ResNet-50), torch.fx",
        fx["s"],
        "torch.load(state_dict)",
        peer["s"],
        extra_mb=fx["extra_mb"],
        peer_extra_mb=peer["extra_mb"],
        edges=fx["edges"],
    )
    record(
        "nd.load(ResNet-50, example_input)",
        ex["s"],
        "torch.load(state_dict)",
        peer["s"],
        extra_mb=ex["extra_mb"],
        edges=ex["edges"],
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
