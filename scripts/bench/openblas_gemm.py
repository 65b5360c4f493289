#!/usr/bin/env python3
"""OpenBLAS sgemm through numpy at the shapes of lora4j's GemmBenchmark; prints JSON lines.

Forms follow BLAS: NN = A(M,K)·B(K,N), NT = A·B(N,K)ᵀ, TN = A(K,M)ᵀ·B; numpy hands transposed views to sgemm
without copying. Reports the median over repeated runs, as JMH's average of iterations does.
"""
import json
import statistics
import sys
import time

import numpy as np

SHAPES = [(512, 2304, 768), (512, 768, 768), (512, 768, 3072), (2048, 1536, 384)]


def run(m, n, k, form, seconds=1.5):
    rng = np.random.default_rng(1)
    a = rng.random((k, m) if form[0] == "T" else (m, k), dtype=np.float32) - 0.5
    b = rng.random((n, k) if form[1] == "T" else (k, n), dtype=np.float32) - 0.5
    a_op = a.T if form[0] == "T" else a
    b_op = b.T if form[1] == "T" else b
    out = np.empty((m, n), dtype=np.float32)
    for _ in range(5):
        np.matmul(a_op, b_op, out=out)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 10:
        t = time.perf_counter()
        np.matmul(a_op, b_op, out=out)
        times.append(time.perf_counter() - t)
    return 2.0 * m * n * k / statistics.median(times) / 1e9


def main():
    """Arguments SHAPE [FORM] (e.g. 512x2304x768 NT) measure only that case, so callers can interleave runs."""
    shapes = [tuple(map(int, sys.argv[1].split("x")))] if len(sys.argv) > 1 else SHAPES
    forms = [sys.argv[2]] if len(sys.argv) > 2 else ["NN", "NT", "TN"]
    for (m, n, k) in shapes:
        for form in forms:
            print(json.dumps({"shape": f"{m}x{n}x{k}", "form": form, "gflops": run(m, n, k, form)}), flush=True)


if __name__ == "__main__":
    main()
