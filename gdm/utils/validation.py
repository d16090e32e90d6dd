"""Validation helpers shared by the scikit-learn-style estimators.

Estimators validate their inputs with scikit-learn's own utilities (`validate_data`,
`check_array`, `_param_validation`) so that bad input raises the very errors scikit-learn
raises; this module adds what is JAX-specific: float64 computation without flipping JAX's
global config.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator

import jax


@contextlib.contextmanager
def x64(enabled: bool = True) -> Iterator[None]:
    """Runs the block with float64 enabled (or, with enabled=False, disabled) in JAX, restoring
    the previous setting afterwards.

    scikit-learn and hmmlearn compute in float64; matching their probabilities to 1e-5 needs the
    same precision, but other code sharing the process must keep JAX's float32 default. The
    setting is per thread, so worker threads enter it themselves (gdm.utils.threads).
    """
    with jax.enable_x64(enabled):
        yield


def store_init_params(estimator, arguments: dict) -> None:
    """Stores every constructor argument, unchanged, as the attribute of the same name.

    scikit-learn's get_params, set_params and clone read an estimator's parameters from its
    `__init__` signature and expect each as an attribute holding exactly what was passed; an
    estimator's `__init__` lists its parameters explicitly (the signature is the API) and ends
    with `store_init_params(self, locals())` instead of one assignment per parameter.
    """
    for name in inspect.signature(type(estimator).__init__).parameters:
        if name != "self":
            setattr(estimator, name, arguments[name])
