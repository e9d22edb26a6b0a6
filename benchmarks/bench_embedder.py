"""Speed and memory of one meta-training task: seed-style snnTorch step loop vs bioSNN.

Both sides train the same CSNN (conv 1->16 k5, LIF, pool, conv 16->32 k3, LIF, pool,
linear 1568->64, LIF; beta 0.95, fast-sigmoid slope 5) from the same initial weights on the
same 5-way 5-shot 15-query episodes (100 images of 28 x 28), with the prototypical-network
loss and one Adam step (lr 1e-3) per task:

``snntorch``
    the seed notebook's network: ``snn.Leaky`` layers in a plain Python step loop that
    recomputes ``conv1(x)`` at every step and stacks the recorded membrane potentials
    (``torch.stack(mem_rec).mean(0)``);
``biosnn``
    :class:`bioSNN.embedder.CSNN` as the protocols run it: layer by layer, the
    convolutional LIF layers and their max-pools in the compiled kernel
    (:mod:`bioSNN.embedder.fused`), and large freed tensors kept in the heap
    (:func:`bioSNN.embedder.allocator.keep_heap`).

Extra rows separate the levers: the seed loop with the same allocator setting (what
``keep_heap`` alone buys), and bioSNN with the kernel switched off (``BIOSNN_FUSED=0``,
the PyTorch formulation of the same layers).

Each configuration runs in its own fresh Python process, so that its peak resident memory
can be measured: peak memory = ``ru_maxrss`` at the end minus the resident size just
before the first task (what training adds on top of the loaded model and data). Time per
task is the median over the timed tasks, after warm-up tasks. The kernel's one-time
compile (or cache hit) is timed separately and printed. Not a unit test: numbers depend
on the machine and its load.

Usage::

    python benchmarks/bench_embedder.py [--steps 50] [--tasks 10] [--warmup 2] [--threads 1]
    make bench
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

WAYS, SHOT, QUERY = 5, 5, 15


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _snntorch_model(config):
    import snntorch as snn
    import torch
    from snntorch import surrogate
    from torch import nn

    class SeedStepLoop(nn.Module):
        """The seed notebook's SNNFeatureExtractor (snn.Leaky, conv1 recomputed per step)."""

        def __init__(self, c):
            super().__init__()
            grad = surrogate.fast_sigmoid(slope=c.slope)
            self.c = c
            self.conv1 = nn.Conv2d(1, c.conv1_channels, c.conv1_kernel, padding=c.conv1_kernel // 2)
            self.lif1 = snn.Leaky(beta=c.beta, threshold=c.threshold, spike_grad=grad)
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(c.conv1_channels, c.conv2_channels, c.conv2_kernel,
                                   padding=c.conv2_kernel // 2)
            self.lif2 = snn.Leaky(beta=c.beta, threshold=c.threshold, spike_grad=grad)
            self.pool2 = nn.MaxPool2d(2)
            self.fc = nn.Linear(c.flat_features, c.embedding_dim)
            self.lif3 = snn.Leaky(beta=c.beta, threshold=c.threshold, spike_grad=grad)

        def forward(self, x):
            mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
            mem3_rec = []
            for _ in range(self.c.num_steps):
                spk1, mem1 = self.lif1(self.conv1(x), mem1)
                spk2, mem2 = self.lif2(self.conv2(self.pool1(spk1)), mem2)
                spk3, mem3 = self.lif3(self.fc(self.pool2(spk2).flatten(1)), mem3)
                mem3_rec.append(mem3)
            return torch.stack(mem3_rec).mean(0)

    return SeedStepLoop(config)


def worker(impl: str, steps: int, tasks: int, warmup: int, threads: int,
           keep: bool) -> dict:
    """Train ``warmup + tasks`` tasks with one implementation; return timings and memory."""
    import torch

    from bioSNN.embedder import CSNN, CSNNConfig, EpisodeSampler, episode_loss, fused
    from bioSNN.embedder.allocator import keep_heap

    torch.set_num_threads(threads)
    if keep:
        keep_heap()
    kernel = impl == "biosnn" and fused.fused_available()  # compiles on the first call ever
    kernel_s = fused.compile_seconds
    config = CSNNConfig(num_steps=steps)
    g = torch.Generator().manual_seed(0)
    n_classes, per_class = 10, 60
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    # MNIST-like normalised images: background -0.42, bright strokes ~2.8
    images = torch.where(torch.rand(len(labels), 1, 28, 28, generator=g) < 0.19, 2.8, -0.42)
    sampler = EpisodeSampler(labels, WAYS, SHOT, QUERY)
    reference = CSNN(config, generator=torch.Generator().manual_seed(1))
    if impl == "biosnn":
        model = reference
    else:
        model = _snntorch_model(config)
        model.load_state_dict(reference.state_dict(), strict=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    rss_before = _rss_mb()
    for i in range(warmup + tasks):
        episode = sampler.sample(g)
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss, _ = episode_loss(model, images, episode)
        loss.backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB (Linux)
    return {"impl": impl, "s_per_task": statistics.median(times), "min_s": min(times),
            "peak_mb": peak - rss_before, "loss": float(loss), "threads": threads,
            "steps": steps, "tasks": tasks, "kernel": kernel, "kernel_s": kernel_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=50, help="time steps per image (default 50)")
    ap.add_argument("--tasks", type=int, default=10, help="timed tasks (default 10)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed tasks first (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--worker", choices=("snntorch", "biosnn"), help=argparse.SUPPRESS)
    ap.add_argument("--keep-heap", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps, args.tasks, args.warmup, args.threads,
                                args.keep_heap)))
        return 0
    # (label, implementation, keep_heap, BIOSNN_FUSED)
    configs = [("snnTorch step loop (seed)", "snntorch", False, "1"),
               ("  same, keep_heap", "snntorch", True, "1"),
               ("bioSNN, PyTorch layers", "biosnn", True, "0"),
               ("bioSNN CSNN (as run)", "biosnn", True, "1")]
    rows = []
    for label, impl, keep, fused in configs:
        cmd = [sys.executable, __file__, "--worker", impl, "--steps", str(args.steps),
               "--tasks", str(args.tasks), "--warmup", str(args.warmup),
               "--threads", str(args.threads)] + (["--keep-heap"] if keep else [])
        env = {**os.environ, "BIOSNN_FUSED": fused}
        print(f"running: {label.strip()} ...", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        rows.append((label, json.loads(done.stdout.strip().splitlines()[-1])))
    seed, ours = rows[0][1], rows[-1][1]
    print(f"meta-training task: {WAYS}-way {SHOT}-shot {QUERY}-query (100 images), "
          f"{args.steps} steps, {args.threads} torch thread(s), median of {args.tasks} tasks")
    print(f"{'':28s}{'s/task':>10s}{'peak MB':>10s}{'speed-up':>10s}")
    for label, r in rows:
        print(f"{label:28s}{r['s_per_task']:10.3f}{r['peak_mb']:10.0f}"
              f"{seed['s_per_task'] / r['s_per_task']:9.2f}x")
    from bioSNN.embedder.fused import kernel_path

    if not ours["kernel"]:
        print("kernel: UNAVAILABLE, bioSNN ran its PyTorch path (see the warning above)")
    elif ours["kernel_s"] is None:
        print(f"kernel: loaded from the cache ({kernel_path()})")
    else:
        print(f"kernel: compiled in {ours['kernel_s']:.2f} s (once; then cached)")
    print(f"speed-up {seed['s_per_task'] / ours['s_per_task']:.2f}x "
          f"({ours['s_per_task']:.3f} vs {seed['s_per_task']:.3f} s/task); peak memory "
          f"{ours['peak_mb']:.0f} vs {seed['peak_mb']:.0f} MB: "
          f"{'not higher' if ours['peak_mb'] <= seed['peak_mb'] else 'HIGHER'} than the step loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
