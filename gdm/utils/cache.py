"""JAX's persistent compilation cache, on by default, and a counter of compilations.

JAX compiles once per program and shape. Inside one process the estimators reuse their
compiled programs (traced hyperparameters, size buckets); across processes the persistent
cache does: a user's second script loads the programs from disk instead of compiling them.
`gdm/__init__.py` enables it before anything compiles (JAX fixes its cache setting at the first
compilation of a process).
"""

from __future__ import annotations

import os

import jax

CACHE_ENV = "GDM_COMPILATION_CACHE"


def default_cache_dir() -> str:
    """Per-user directory of gdm's persistent compilation cache ($XDG_CACHE_HOME/gdm/jax)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gdm", "jax")


def enable_compilation_cache() -> str | None:
    """Turns on JAX's persistent compilation cache unless the user configured one; returns the
    directory in use (None: off).

    A user's script compiles the same programs in every process; with the cache, the second
    process loads them from disk. `GDM_COMPILATION_CACHE=0` leaves the cache off, a path puts
    it there; a cache directory set through JAX (`JAX_COMPILATION_CACHE_DIR` or
    `jax.config.update`) is kept as it is. Programs are cached however quickly they compiled
    (JAX's default keeps only those over 1 s): the estimators' many small programs add up.
    """
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    setting = os.environ.get(CACHE_ENV, "").strip()
    if setting.lower() in {"0", "false", "off", "no"}:
        return None
    path = os.path.expanduser(setting) if setting and setting != "1" else default_cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:  # read-only home: run without the cache rather than fail
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


class CompileCounter:
    """Counts the programs JAX lowers (new compilations, whether or not the persistent cache
    then serves them) while active, and sums the seconds spent tracing, lowering and compiling
    them: `with CompileCounter() as c: ...; c.count, c.seconds`."""

    _LOWERED = "/jax/core/compile/jaxpr_to_mlir_module_duration"
    _TIMED = ("/jax/core/compile/jaxpr_trace_duration", _LOWERED,
              "/jax/core/compile/backend_compile_duration")
    _active: list[CompileCounter] = []
    _registered = False

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    @classmethod
    def _listen(cls, event: str, duration: float, **kwargs) -> None:
        if event not in cls._TIMED:
            return
        for counter in cls._active:
            counter.seconds += duration
            counter.count += event == cls._LOWERED

    def __enter__(self) -> CompileCounter:
        if not CompileCounter._registered:
            jax.monitoring.register_event_duration_secs_listener(CompileCounter._listen)
            CompileCounter._registered = True
        self.count, self.seconds = 0, 0.0
        CompileCounter._active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        CompileCounter._active.remove(self)
