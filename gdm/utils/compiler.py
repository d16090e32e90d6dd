"""Compiler options shared by the estimators' jit-compiled kernels.

XLA:CPU (jaxlib 0.10) hands dots, reductions and elementwise fusions to the YNNPACK library by
default. For the small, oddly shaped operations of gdm's classical estimators (forest growth
and prediction, the HMM recursions, the logistic-regression gradient) XLA's own loop fusions
are faster. `NATIVE_FUSIONS` leaves YNNPACK only convolutions (none of these kernels has one).
The k-NN distance matmuls and the HMM EM step, whose large dots YNNPACK does well, keep the
default. The option is experimental and backend-specific, so it is used only if this jaxlib
accepts it; elsewhere (GPU, TPU, other versions) it is empty.

`FAST_MIN_MAX` lets XLA:CPU compile min / max without NaN propagation (one instruction instead
of a compare and select), which the forest's split search and the HMMs' Viterbi spend much of
their time on; the trees and paths are the same. Only for kernels whose min / max never see a
NaN: their inputs are checked finite and their arithmetic guards 0 / 0 and log 0.

`WIDE_VECTORS` lets LLVM use 512-bit vectors where the CPU has them (AVX-512): XLA:CPU asks for
256 by default, and the HMM time loops (compute-bound float64 arithmetic on (states,
sequences) blocks) and the forest's growth run faster with the wider vectors. A CPU without
AVX-512 ignores the preference.

The figures behind these choices are in docs/performance.md and experiments/benchmarks/results.
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

