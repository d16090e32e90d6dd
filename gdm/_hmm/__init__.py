"""Private helpers of gdm.hmm: packing sequences (sequences), JAX kernels (inference),
emission models (emissions), compiled entry points (compiled), estimator base (base)."""
