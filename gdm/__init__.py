"""gdm: generative and discriminative models in JAX/Flax, compared against their peers.

Importing gdm turns on JAX's persistent compilation cache in a per-user directory unless the
user configured one (`GDM_COMPILATION_CACHE=0` to leave it off, or a path): see
`gdm.utils.cache.enable_compilation_cache`.
"""

from gdm.utils.cache import enable_compilation_cache as _enable_compilation_cache

__version__ = "0.1.0"

_enable_compilation_cache()
