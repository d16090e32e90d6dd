"""Compiler options shared by the estimators' jit-compiled kernels.

XLA:CPU (jaxlib 0.10) hands dots, reductions and elementwise fusions to the YNNPACK library by
default. For the small, oddly shaped operations of gdm's classical estimators its kernels were
slower than XLA's own loop fusions, measured side by side: forest fit 10-20% and predict ~15%,
HMM forward / Viterbi 1.4-1.7x, the logistic-regression gradient 1.2x. `NATIVE_FUSIONS`
leaves YNNPACK only convolutions (none of these kernels has one). Not everywhere: the k-NN
distance matmuls and the HMM EM step were faster with the default, so they keep it. The option
is experimental and backend-specific, so it is used only if this jaxlib accepts it; elsewhere
(GPU, TPU, other versions) it is empty.

`FAST_MIN_MAX` lets XLA:CPU compile min / max without NaN propagation (one instruction instead
of a compare and select): forest growth 2-5% (16 MNIST trees on one core) and the HMMs'
Viterbi 1.2-1.4x (a 56-sequence chunk on one core), with the same trees and paths. Only for
kernels whose min / max never see a NaN: their inputs are checked finite and their arithmetic
guards 0 / 0 and log 0.

`WIDE_VECTORS` lets LLVM use 512-bit vectors where the CPU has them (AVX-512): XLA:CPU asks for
256 by default. The HMM time loops, compute-bound float64 arithmetic on (states, sequences)
blocks, ran 1.2-1.6x faster with it on the project's AMD EPYC (AVX-512) machine; the forest's
scatter-bound growth 6-9% (16 MNIST trees on one core, A/B in one process; the same trees).
A CPU without AVX-512 ignores the preference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def on_accelerator() -> bool:
    """Whether the default backend is a GPU / TPU rather than the CPU: the kernels choose their
    layout (vmapped batches vs. one item after another, threads, chunk limits) by it."""
    return jax.default_backend() != "cpu"


def _supported(options: dict) -> dict:
    """`options` if this jaxlib's default backend compiles with them, else {}."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=options).lower(jnp.zeros(2)).compile()
        return options
    except Exception:  # noqa: BLE001 - an unknown option or value: compile without it
        return {}


NATIVE_FUSIONS: dict = _supported(
    {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"})
WIDE_VECTORS: dict = _supported({"xla_cpu_prefer_vector_width": 512})
FAST_MIN_MAX: dict = _supported({"xla_cpu_enable_fast_min_max": True})
# Small problems, where compiling dominates: LLVM optimisation level 0 (if accepted).
FAST_COMPILE: dict = _supported({"xla_backend_optimization_level": 0})

