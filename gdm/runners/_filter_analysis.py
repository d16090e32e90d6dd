"""Filter and feature analysis for gdm/runners/cnn_features.py: oriented sinusoidal gratings,
each filter's orientation tuning and selectivity, and a logistic-regression probe fitted to many
feature sets in one vmapped call."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gdm.linear_model import logistic_lbfgs


def gratings(size: int, orientations: int, phases: int,
             frequencies: jax.Array) -> jax.Array:
    """(n_freq, orientations, phases, size, size) cos(2 pi f (u cos t + v sin t) + phi) on a
    size x size grid centred at 0 (u across columns, v down rows), t = k pi / orientations
    (the direction of the wave vector; the stripes run perpendicular to it), phi = 2 pi j /
    phases."""
    r = jnp.arange(size) - (size - 1) / 2
    v, u = jnp.meshgrid(r, r, indexing="ij")
    t = jnp.arange(orientations) * jnp.pi / orientations
    phi = jnp.arange(phases) * 2 * jnp.pi / phases
    along = u * jnp.cos(t)[:, None, None] + v * jnp.sin(t)[:, None, None]  # (o, size, size)
    f = jnp.asarray(frequencies, jnp.float32)
    arg = 2 * jnp.pi * f[:, None, None, None, None] * along[None, :, None]
    return jnp.cos(arg + phi[None, None, :, None, None])


def orientation_tuning(filters: jax.Array, bank: jax.Array) -> jax.Array:
    """(..., n_freq, orientations) response amplitude of each (..., size, size) filter, its
    mean removed, to the grating bank: sqrt(2 * mean over phases of the response^2)."""
    w = filters - filters.mean(axis=(-2, -1), keepdims=True)
    r = jnp.einsum("...uv,fopuv->...fop", w, bank)
    return jnp.sqrt(2 * jnp.mean(r * r, axis=-1))


@jax.jit
def selectivity(filters: jax.Array, bank: jax.Array) -> dict[str, jax.Array]:
    """Per filter: 1 - circular variance ("osi") and (max - min) / (max + min) ("osi_peak")
    of the tuning curve at the preferred frequency, the preferred orientation in radians
    (from the doubled-angle mean, in [0, pi)), and the normalized tuning curve."""
    amp = orientation_tuning(filters, bank)  # (..., n_freq, n_orient)
    best = jnp.argmax(amp.max(-1), axis=-1)
    curve = jnp.take_along_axis(amp, best[..., None, None], axis=-2)[..., 0, :]
    n_orient = bank.shape[1]
    theta = jnp.arange(n_orient) * jnp.pi / n_orient
    total = curve.sum(-1)
    vector = (curve * jnp.exp(2j * theta)).sum(-1)
    safe = jnp.maximum(total, 1e-12)
    lo, hi = curve.min(-1), curve.max(-1)
    return {"osi": jnp.abs(vector) / safe, "osi_peak": (hi - lo) / jnp.maximum(hi + lo, 1e-12),
            "preferred": jnp.mod(jnp.angle(vector) / 2, jnp.pi),
            "frequency_index": best, "curve": curve / jnp.maximum(hi, 1e-12)[..., None]}


def aligned_curves(curves: np.ndarray) -> np.ndarray:
    """Tuning curves (..., n_orient) rolled so that each one's maximum sits at index
    n_orient // 2 (the preferred orientation in the middle)."""
    n = curves.shape[-1]
    shift = n // 2 - curves.argmax(-1)
    index = (np.arange(n) - shift[..., None]) % n
    return np.take_along_axis(curves, index, axis=-1)


@functools.partial(jax.jit, static_argnames=("n_classes",))
def probe_accuracy(x_train: jax.Array, y_train: jax.Array, x_test: jax.Array,
                   y_test: jax.Array, C: jax.Array, tol: jax.Array, max_iter: jax.Array, *,
                   n_classes: int) -> tuple[jax.Array, jax.Array]:
    """Test accuracy and L-BFGS iterations of LogisticRegression(C, tol, max_iter) fitted to
    every feature set (sets, n, d), after standardizing with the training statistics; zero
    columns (padding to one width) keep zero coefficients. Call under x64 for float64."""
    target = (y_train[:, None] == jnp.arange(n_classes)).astype(x_train.dtype)
    n = x_train.shape[1]
    weight = jnp.full(n, 1.0 / n, x_train.dtype)
    l2 = (1.0 / (C * n)).astype(x_train.dtype)

    def one(xtr, xte):
        mean, sd = xtr.mean(0), xtr.std(0)
        sd = jnp.where(sd > 0, sd, 1.0)
        xtr, xte = (xtr - mean) / sd, (xte - mean) / sd
        coef, intercept, n_iter, _ = logistic_lbfgs(
            xtr, target, weight, l2, jnp.asarray(1.0, xtr.dtype), tol.astype(xtr.dtype),
            max_iter)
        pred = jnp.argmax(xte @ coef.T + intercept, axis=-1)
        return jnp.mean(pred == y_test), n_iter

    return jax.vmap(one)(x_train, x_test)


def pad_columns(sets: list[np.ndarray], width: int) -> np.ndarray:
    """Stacks (n, d_i) feature sets as (sets, n, width), zero columns on the right."""
    return np.stack([np.pad(s, ((0, 0), (0, width - s.shape[1]))) for s in sets])
