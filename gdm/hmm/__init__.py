"""Hidden Markov models in JAX with hmmlearn's API.

    from gdm.hmm import GaussianHMM, CategoricalHMM

Private modules: `_base` (the estimator base: fit by EM, score, decode, sample), `_plan`
(one call's chunking, padded shapes, threads and kernel variants, decided in one place),
`_sequences` (packing variable-length sequences into padded blocks by a plan), `_emissions`
(Gaussian and categorical emission models), `_inference` (forward-backward and Viterbi),
`_compiled` (the jit-compiled entry points).
"""

from gdm.hmm._base import ConvergenceMonitor
from gdm.hmm._classes import CategoricalHMM, GaussianHMM

__all__ = ["CategoricalHMM", "ConvergenceMonitor", "GaussianHMM"]
