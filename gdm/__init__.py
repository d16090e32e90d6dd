"""gdm: generative and discriminative models in JAX/Flax, compared against their peers."""

__version__ = "0.1.0"
