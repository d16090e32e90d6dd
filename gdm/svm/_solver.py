"""The libsvm dual (with the bias's equality constraint) for many binary problems at once.

Each problem is  min_a 0.5 a'Qa + p'a  s.t.  y'a = 0, 0 <= a <= C,  Q_tu = y_t y_u K(s_t, s_u),
the form libsvm reduces C-SVC and epsilon-SVR to. Variables map to kernel columns ("slots")
through S segments of L consecutive columns each: an SVC pair (a, b) is two segments (the
samples of class a, then of class b, sorted by class), a binary SVC one segment, an SVR two
segments over the same samples (a and a*). C = 0 switches a variable off (padding, held-out
fold, zero weight), so folds, C grids and class pairs are all just more rows of one batch.

Solver (ThunderSVM-style decomposition): pick a working set of up to q maximal violators per
problem, solve that subproblem on-chip with libsvm's SMO (second-order pair selection) inside
`lax.while_loop`, then update all gradients with one matmul against the kernel. When a problem
has no more than q variables the working set is the whole problem, no kernel block is
gathered, and the inner SMO reads kernel rows straight from the cached matrix.
All problems run in one compiled call (vmap); converged ones idle as no-ops.

Devices: the kernel's rows (the slots' samples) are split over a 1-D mesh (gdm.utils.devices;
a mesh of one device runs the same code) under `jax.shard_map`. Every device runs the same SMO
steps on the same replicated state; a kernel row is read on the device that holds it and
summed with the others' exact zeros, and the gradient update's product with K is computed
column block by column block on the devices holding those rows (K is symmetric). Each kernel
value and gradient entry is so computed whole on one device, the same way for every device
count, and every device count gives the same solution.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from gdm.utils.devices import AXIS, on_devices

TAU = 1e-12  # libsvm's floor for a non-positive curvature
ROWS = P(AXIS)  # kernel rows / samples split over the devices


class Problems(NamedTuple):
    y: jax.Array       # (P, m) +-1 (0 on padding)
    p: jax.Array       # (P, m) linear term (-1 for SVC; epsilon -+ target for SVR)
    C: jax.Array       # (P, m) upper bounds; 0 switches a variable off
    starts: jax.Array  # (P, S) int32, first kernel column of each segment


class Solution(NamedTuple):
    alpha: jax.Array   # (P, m)
    grad: jax.Array    # (P, m) gradient Q a + p
    steps: jax.Array   # (P,) SMO steps taken
    gap: jax.Array     # (P,) final maximal violation (converged iff <= tol)
    rho: jax.Array     # (P,) libsvm's rho: decision = sum_t y_t a_t K(., s_t) - rho
    objective: jax.Array  # (P,) dual objective
    outer: jax.Array   # () working-set rounds (1 when problems are solved whole)


def slots_of(starts: jax.Array, L: int) -> jax.Array:
    """(P, S) segment starts -> (P, S*L) kernel column of every variable."""
    return (starts[..., :, None] + jnp.arange(L, dtype=starts.dtype)).reshape(
        *starts.shape[:-1], -1)


def _violations(y, C, alpha, grad):
    minus_yg = -y * grad
    up = ((y > 0) & (alpha < C)) | ((y < 0) & (alpha > 0))
    low = ((y > 0) & (alpha > 0)) | ((y < 0) & (alpha < C))
    return minus_yg, up, low


def gap_of(y, C, alpha, grad):
    """libsvm's stopping quantity m(a) - M(a) (last axis = variables)."""
    minus_yg, up, low = _violations(y, C, alpha, grad)
    return (jnp.max(jnp.where(up, minus_yg, -jnp.inf), -1)
            - jnp.min(jnp.where(low, minus_yg, jnp.inf), -1))


def _smo(row, diag, y, C, alpha, grad, eps, max_steps):
    """libsvm's SMO with second-order (WSS2) pair selection on one (sub)problem.

    `row(i)` returns K(s_i, s_t) for all variables t of the (sub)problem. Written with
    elementwise one-hot updates and max/min reductions (no scatters or arg-reductions over
    floats), which XLA fuses into a few passes per step.
    """
    zero = jnp.zeros((), alpha.dtype)
    idx = jnp.arange(alpha.shape[0])
    big = alpha.shape[0]

    def first_index(mask):
        return jnp.min(jnp.where(mask, idx, big))

    def step(state):
        alpha, grad, steps, _ = state
        minus_yg, up, low = _violations(y, C, alpha, grad)
        s_up = jnp.where(up, minus_yg, -jnp.inf)
        gmax = jnp.max(s_up)
        gmin = jnp.min(jnp.where(low, minus_yg, jnp.inf))
        done = gmax - gmin < eps
        i = jnp.minimum(first_index(s_up == gmax), big - 1)
        k_i = row(i)
        b = gmax - minus_yg
        a = diag[i] + diag - 2 * k_i
        a = jnp.where(a > 0, a, TAU)
        score = jnp.where(low & (b > 0), -(b * b) / a, jnp.inf)
        j = jnp.minimum(first_index(score == jnp.min(score)), big - 1)
        k_j = row(j)
        y_i, y_j, c_i, c_j, a_i, a_j = y[i], y[j], C[i], C[j], alpha[i], alpha[j]
        room_i = jnp.where(y_i > 0, c_i - a_i, a_i)
        room_j = jnp.where(y_j > 0, a_j, c_j - a_j)
        lam = jnp.minimum(b[j] / a[j], jnp.minimum(room_i, room_j))
        lam = jnp.where(done, zero, lam)
        # Land exactly on a bound when the step is clipped there, as libsvm does.
        new_i = jnp.where(lam == room_i, jnp.where(y_i > 0, c_i, zero), a_i + y_i * lam)
        new_j = jnp.where(lam == room_j, jnp.where(y_j > 0, zero, c_j), a_j - y_j * lam)
        new_i = jnp.where(done, a_i, new_i)
        new_j = jnp.where(done, a_j, new_j)
        alpha = jnp.where(idx == i, new_i, jnp.where(idx == j, new_j, alpha))
        grad = grad + y * (k_i - k_j) * lam
        return alpha, grad, steps + (~done).astype(steps.dtype), done

    def cond(state):
        return (~state[3]) & (state[2] < max_steps)

    alpha, grad, steps, _ = lax.while_loop(
        cond, step, (alpha, grad, jnp.zeros((), jnp.int32), jnp.zeros((), bool)))
    return alpha, grad, steps


def _rho(y, C, alpha, grad):
    """libsvm's calculate_rho: mean of y*G over free variables, else the midpoint of bounds."""
    yg = y * grad
    valid = C > 0
    upper = valid & (alpha >= C)
    lower = valid & (alpha <= 0)
    free = valid & ~upper & ~lower
    ub = jnp.min(jnp.where((upper & (y < 0)) | (lower & (y > 0)), yg, jnp.inf))
    lb = jnp.max(jnp.where((upper & (y > 0)) | (lower & (y < 0)), yg, -jnp.inf))
    n_free = jnp.sum(free)
    mid = jnp.where(jnp.isfinite(ub) & jnp.isfinite(lb), (ub + lb) / 2,
                    jnp.where(jnp.isfinite(ub), ub, jnp.where(jnp.isfinite(lb), lb, 0.0)))
    return jnp.where(n_free > 0, jnp.sum(jnp.where(free, yg, 0)) / jnp.maximum(n_free, 1), mid)


def _finish(prob: Problems, alpha, grad, steps, outer):
    gap = gap_of(prob.y, prob.C, alpha, grad)
    rho = jax.vmap(_rho)(prob.y, prob.C, alpha, grad)
    objective = 0.5 * jnp.sum(alpha * (grad + prob.p), -1)
    return Solution(alpha, grad, steps, gap, rho, objective, outer)


def _offset(n_local: int):
    """Slot of this device's first kernel row."""
    return lax.axis_index(AXIS) * n_local


def _own_rows(slots, n_local: int):
    """(this device's local row of each slot, clipped; whether the device holds it)."""
    local = slots - _offset(n_local)
    return jnp.clip(local, 0, n_local - 1), (local >= 0) & (local < n_local)


def _from_owner(mine, values):
    """Each value from the device that holds its row: the others add exact zeros."""
    return lax.psum(jnp.where(mine, values, 0), AXIS)


def gradient_columns(rows_times, dbeta, n_cols: int):
    """dbeta @ K for (P, n_rows) coefficient changes, from this device's kernel rows.

    K[:n_rows, :n_rows] is symmetric, so a device's rows are the columns of its own slots:
    `rows_times(dbeta.T)` gives them (n_local, P) as K_rows @ dbeta.T, each a full reduction
    on one device; they are gathered and the zero columns past the slots appended.
    """
    cols = lax.all_gather(rows_times(dbeta.T), AXIS, axis=0, tiled=True).T
    return jnp.pad(cols, ((0, 0), (0, n_cols - cols.shape[1])))


def solve_local(K: jax.Array, diag: jax.Array, prob: Problems, *, L: int, q: int, tol,
                max_iter, inner_ratio=0.1, max_inner: int = 0) -> Solution:
    """`solve` on one device of the mesh (inside `jax.shard_map` over AXIS): K holds this
    device's kernel rows (slots offset .. offset + n_local, all columns), every other input
    and the solution are the same on every device."""
    slot = slots_of(prob.starts, L)
    n_local, n_cols = K.shape
    if prob.y.shape[1] <= q:
        return _solve_whole(K, diag, prob, slot, L, tol, max_iter)

    def block(s_ws):
        r, mine = _own_rows(s_ws, n_local)
        return _from_owner(mine[:, :, None], K[r[:, :, None], s_ws[:, None, :]])

    def apply(dbeta):
        return gradient_columns(lambda b: K[:, :dbeta.shape[1]] @ b, dbeta, n_cols)

    n_rows = n_local * lax.axis_size(AXIS)
    return _solve_decomposed(block, apply, n_rows, diag, prob, slot, q, tol, max_iter,
                             inner_ratio, max_inner or 4 * q, jnp.zeros_like(prob.p), prob.p)


@partial(jax.jit, static_argnames=("mesh", "L", "q", "max_inner"))
def solve(K: jax.Array, diag: jax.Array, prob: Problems, *, mesh: Mesh, L: int, q: int, tol,
          max_iter, inner_ratio=0.1, max_inner: int = 0) -> Solution:
    """Solves every problem in `prob` against the cached kernel K (rows x columns).

    K[r, c] is the kernel between slot r and column slot c (K[:, :rows] symmetric, zero
    columns past the rows), its rows split over the mesh's devices; diag holds K(c, c) for
    every column. q is the working-set size (even); problems with at most q variables are
    solved whole by the inner SMO. Every device runs the same SMO steps on the same
    (replicated) state; a kernel row comes from the device that holds it.
    """
    def local(K, diag, prob, tol, max_iter, inner_ratio):
        return solve_local(K, diag, prob, L=L, q=q, tol=tol, max_iter=max_iter,
                           inner_ratio=inner_ratio, max_inner=max_inner)

    return on_devices(local, mesh, (ROWS, P(), P(), P(), P(), P()))(
        K, diag, prob, tol, max_iter, inner_ratio)


@partial(jax.jit, static_argnames=("mesh", "kind", "degree", "n_cols", "L", "q", "chunk",
                                   "max_inner"))
def solve_uncached(X_rows: jax.Array, gamma, coef0, diag: jax.Array, prob: Problems, *,
                   mesh: Mesh, kind: str, degree: int, n_cols: int, L: int, q: int,
                   chunk: int, tol, max_iter, inner_ratio=0.1, max_inner: int = 0) -> Solution:
    """`solve` without the kernel matrix, for when it exceeds the memory budget.

    X_rows holds the slots' samples, split by rows over the mesh. Always decomposes
    (q < variables): working-set blocks are computed from the samples (P q^2 d), and the
    gradient update recomputes each device's kernel rows K(x_r, X) in blocks of `chunk`
    rows, so memory stays at chunk x rows per device instead of rows x columns.
    """
    from gdm.svm import _kernels  # local: keeps the solver free of kernel details otherwise

    def local(X_local, gamma, coef0, diag, prob, tol, max_iter, inner_ratio):
        X_all = lax.all_gather(X_local, AXIS, axis=0, tiled=True)
        n_rows, n_local = X_all.shape[0], X_local.shape[0]
        X_cols = jnp.pad(X_all, ((0, n_cols - n_rows), (0, 0)))
        n_blocks = -(-n_local // chunk)
        sq = _kernels.row_norms(X_all)
        extra = ((0, n_blocks * chunk - n_local),)
        X_pad, sq_pad = jnp.pad(X_all, extra + ((0, 0),)), jnp.pad(sq, extra)
        offset = _offset(n_local)
        sq_cols = jnp.pad(sq, (0, n_cols - n_rows))

        def block(s_ws):
            def one(s):
                b = _kernels.base(X_cols[s], X_cols[s], kind, sq_cols[s], sq_cols[s])
                return _kernels.finish(b, kind, gamma, coef0, degree)
            return jax.vmap(one)(s_ws)

        def rows_times(b):  # K(X_local, X_all) @ b, kernel rows recomputed per block
            def one_block(i, out):
                part = _kernels.kernel_rows(X_pad, sq_pad, offset + i * chunk, chunk, X_all,
                                            sq, kind, gamma, coef0, degree) @ b
                return lax.dynamic_update_slice_in_dim(out, part, i * chunk, axis=0)

            out = jnp.zeros((n_blocks * chunk, b.shape[1]), b.dtype)
            return lax.fori_loop(0, n_blocks, one_block, out)[:n_local]

        return _solve_decomposed(block, lambda d: gradient_columns(rows_times, d, n_cols),
                                 n_rows, diag, prob, slots_of(prob.starts, L), q, tol,
                                 max_iter, inner_ratio, max_inner or 4 * q,
                                 jnp.zeros_like(prob.p), prob.p)

    return on_devices(local, mesh, (ROWS,) + (P(),) * 7)(
        X_rows, gamma, coef0, diag, prob, tol, max_iter, inner_ratio)


def _solve_whole(K, diag, prob, slot, L, tol, max_iter):
    n_local = K.shape[0]

    def one(y, p, C, starts, slot_p):
        def row(i):
            r, mine = _own_rows(slot_p[i], n_local)
            return _from_owner(mine, jnp.concatenate(
                [lax.dynamic_slice(K, (r, c0), (1, L))[0] for c0 in starts]))
        return _smo(row, diag[slot_p], y, C, jnp.zeros_like(p), p, tol, max_iter)

    alpha, grad, steps = jax.vmap(one)(prob.y, prob.p, prob.C, prob.starts, slot)
    return _finish(prob, alpha, grad, steps, jnp.ones((), jnp.int32))


def _solve_decomposed(block, apply, n_rows, diag, prob, slot, q, tol, max_iter, inner_ratio,
                      max_inner, alpha, grad):
    """Working-set rounds: `block(slots)` gives the (P, q, q) kernel of each working set,
    `apply(dbeta)` the product dbeta @ K for (P, n_rows) coefficient changes."""
    P, m = prob.y.shape
    half = q // 2
    rows = jnp.arange(P)[:, None]

    def select(y, C, alpha, grad):
        minus_yg, up, low = _violations(y, C, alpha, grad)
        v_up, i_up = lax.top_k(jnp.where(up, minus_yg, -jnp.inf), half)
        v_low, i_low = lax.top_k(jnp.where(low, -minus_yg, -jnp.inf), half)
        mark = jnp.zeros(m, bool).at[i_up].max(v_up > -jnp.inf).at[i_low].max(v_low > -jnp.inf)
        # The marked variables (at most q), as q distinct indices; unmarked fillers are dead.
        rank = jnp.where(mark, m - jnp.arange(m), 0).astype(jnp.float32)
        score, ws = lax.top_k(rank, q)
        return ws, score > 0

    def body(state):
        alpha, grad, steps, gap, it = state
        ws, live = jax.vmap(select)(prob.y, prob.C, alpha, grad)
        take = partial(jnp.take_along_axis, indices=ws, axis=1)
        s_ws = take(slot)
        k_ws = block(s_ws)
        y_ws = jnp.where(live, take(prob.y), 0)
        c_ws = jnp.where(live, take(prob.C), 0)
        a_ws, g_ws = take(alpha), take(grad)
        eps = jnp.maximum(tol, inner_ratio * gap)
        budget = jnp.clip(max_iter - steps, 0, max_inner)
        a_new, _, st = jax.vmap(
            lambda kb, d, y, c, a, g, e, mx: _smo(lambda i: kb[i], d, y, c, a, g, e, mx)
        )(k_ws, diag[s_ws], y_ws, c_ws, a_ws, g_ws, eps, budget)
        delta = jnp.where(live, a_new - a_ws, 0)
        alpha = alpha.at[rows, ws].set(a_new)
        dbeta = jnp.zeros((P, n_rows), alpha.dtype).at[rows, s_ws].add(y_ws * delta,
                                                                        mode="drop")
        dk = apply(dbeta)
        grad = grad + prob.y * jnp.take_along_axis(dk, slot, axis=1)
        gap = gap_of(prob.y, prob.C, alpha, grad)
        return alpha, grad, steps + st, gap, it + 1

    def cond(state):
        _, _, steps, gap, it = state
        return jnp.any((gap > tol) & (steps < max_iter)) & (it < 100_000)

    gap = gap_of(prob.y, prob.C, alpha, grad)
    state = (alpha, grad, jnp.zeros(P, jnp.int32), gap, jnp.zeros((), jnp.int32))
    alpha, grad, steps, _, outer = lax.while_loop(cond, body, state)
    return _finish(prob, alpha, grad, steps, outer)
