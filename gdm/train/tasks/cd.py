"""Contrastive divergence for gdm.nn.RBM: CD-k (Hinton 2002) and persistent CD (Tieleman 2008).

The log-likelihood gradient of an RBM is E_data[-dF/dtheta] - E_model[-dF/dtheta]; CD replaces
the model expectation with samples from k Gibbs sweeps started at the data (CD-k) or at
persistent chains carried from step to step (PCD, kept in TrainState.extra['chains'] so they
are checkpointed and a resumed run continues the same chains). The step differentiates the
surrogate  mean F(v_data) - mean F(stop_gradient(v_model)), whose gradient is exactly the CD
estimate, and hands it to the optimizer from config.optimizer (with sgd at learning rate lr
this is scikit-learn's BernoulliRBM update: lr / batch_size times the summed statistics).

Every eval: the pseudo-likelihood (sum_i log p(v_i | v_-i), the quantity scikit-learn's
BernoulliRBM.score_samples estimates by flipping one random bit; computed over all bits unless
task_options.exact_pseudo_likelihood=False), the squared reconstruction error per example and
the free energy. At the end: an AIS estimate (Salakhutdinov & Murray 2008) of log Z and thus of
the test log-likelihood, samples, filters and the Frechet distance of samples to the data.

task_options (all optional): cd_steps (k, 1), persistent (True), num_chains (batch_size),
exact_pseudo_likelihood (True), pseudo_likelihood_chunk (64 visible units at a time),
ais_chains (100), ais_steps (3000; 0 skips AIS), sample_steps (200 Gibbs sweeps from noise for
the final samples; 0 skips sampling, the figure and the Frechet distance), num_samples, frechet,
frechet_cache_dir, figures (as in gdm.train.tasks.gan).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdm.train.tasks.base import Task


def _flat(x: jax.Array) -> jax.Array:
    return x.reshape(x.shape[0], -1)


class ContrastiveDivergenceTask(Task):
    """Trains gdm.nn.RBM on binary (or [0, 1]) data with CD-k or PCD-k."""

    name = "cd"

    def __init__(self, config, num_classes, input_shape):
        super().__init__(config, num_classes, input_shape)
        opts = dict(config.get("task_options", {}) or {})
        self.options = opts
        self.cd_steps = int(opts.get("cd_steps", 1))
        self.persistent = bool(opts.get("persistent", True))
        self.num_chains = int(opts.get("num_chains", 0) or config.batch_size)
        self.exact_pl = bool(opts.get("exact_pseudo_likelihood", True))
        self.pl_chunk = int(opts.get("pseudo_likelihood_chunk", 64))
        self.ais_chains = int(opts.get("ais_chains", 100))
        self.ais_steps = int(opts.get("ais_steps", 3000))
        self.sample_steps = int(opts.get("sample_steps", 200))
        for key, value in (("cd_steps", self.cd_steps), ("num_chains", self.num_chains),
                           ("pseudo_likelihood_chunk", self.pl_chunk),
                           ("ais_chains", self.ais_chains), ("ais_steps", self.ais_steps),
                           ("sample_steps", self.sample_steps)):
            if value < (0 if key in ("ais_steps", "sample_steps") else 1):
                raise ValueError(f"task_options.{key} must be >= 1, got {value}")

    def init(self, model, rng, x):
        params, model_state, _ = super().init(model, rng, x)
        extra = {}
        if self.persistent:  # chains start from uniform noise, one per batch row by default.
            v0 = jax.random.bernoulli(jax.random.fold_in(rng, 7), 0.5,
                                      (self.num_chains, math.prod(x.shape[1:])))
            extra = {"chains": v0.astype(jnp.float32)}
        return params, model_state, extra

    def train_step(self, model, tx, state, batch, rng):
        data = _flat(batch["x"])
        start = state.extra["chains"] if self.persistent else data
        chains, _ = model.apply({"params": state.params}, start, rng, self.cd_steps,
                                method=model.gibbs)
        chains = jax.lax.stop_gradient(chains)

        def surrogate(params):
            free_energy = functools.partial(model.apply, {"params": params},
                                            method=model.free_energy)
            return jnp.mean(free_energy(data)) - jnp.mean(free_energy(chains))

        gap, grads = jax.value_and_grad(surrogate)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        recon = model.apply({"params": state.params}, data, method=model.reconstruct)
        metrics = {"loss": gap, "free_energy_gap": gap,
                   "reconstruction_error": jnp.mean(jnp.sum((data - recon) ** 2, axis=-1))}
        extra = {"chains": chains} if self.persistent else state.extra
        return state.replace(params=params, opt_state=opt_state, extra=extra), metrics

    def eval_batch(self, model, state, batch, rng):
        data = _flat(batch["x"])
        variables = {"params": state.params}
        if self.exact_pl:
            pl = model.apply(variables, data, self.pl_chunk, method=model.full_pseudo_likelihood)
        else:
            flips = jax.random.randint(rng, (data.shape[0],), 0, data.shape[1])
            pl = model.apply(variables, data, flips, method=model.pseudo_likelihood)
        recon = model.apply(variables, data, method=model.reconstruct)
        return {"pseudo_likelihood": pl,
                "reconstruction_error": jnp.sum((data - recon) ** 2, axis=-1),
                "free_energy": model.apply(variables, data, method=model.free_energy)}

    def final_metrics(self, model, state, dataset, workdir):
        from gdm.figures.gan_rbm import rbm_filters
        from gdm.train.tasks import _sample_report

        seed_key = jax.random.key(int(self.config.seed))
        params = jax.device_get(state.params)
        results = {}
        if self.ais_steps:
            log_z = ais_log_partition(params, base_rate_bias(_flat(dataset.x_train)),
                                      jax.random.fold_in(seed_key, 0xA15), self.ais_chains,
                                      self.ais_steps)
            test_nfe = -np.asarray(_free_energy_chunked(model, params, _flat(dataset.x_test)))
            results = {"eval/log_partition": float(log_z),
                       "eval/log_likelihood": float(np.mean(test_nfe) - float(log_z))}
        if dataset.image_shape is not None and self.options.get("figures", True):
            rbm_filters(params["weights"], f"{workdir}/figures", image_shape=dataset.image_shape)
        if self.sample_steps:
            num = _sample_report.num_samples(self.options, dataset)
            samples = np.asarray(_sample(model, params, jax.random.fold_in(seed_key, 0x5A3),
                                         num, self.sample_steps))
            results.update(_sample_report.report(samples, self.config, self.options, dataset,
                                                 workdir, prefix="rbm"))
        return results


@functools.partial(jax.jit, static_argnames=("model",))
def _free_energy_chunked(model, params, x):
    return jax.lax.map(lambda rows: model.apply({"params": params}, rows[None],
                                                method=model.free_energy)[0], x,
                       batch_size=1000)


@functools.partial(jax.jit, static_argnames=("model", "num_samples", "num_steps"))
def _sample(model, params, rng, num_samples, num_steps):
    return model.apply({"params": params}, rng, num_samples, num_steps, method=model.sample)[0]


def base_rate_bias(data: np.ndarray, smoothing: float = 0.05) -> np.ndarray:
    """Visible biases of the AIS base model: log-odds of each pixel's training mean, smoothed
    toward 1/2 so constant pixels stay finite (Salakhutdinov & Murray 2008, Sec. 4.2)."""
    mean = (np.asarray(data, np.float64).mean(axis=0) + smoothing) / (1.0 + 2.0 * smoothing)
    return np.log(mean / (1.0 - mean)).astype(np.float32)


def _neg_free_energy(params, base_bias, v, beta):
    """-F_beta(v) of the intermediate model: visible bias (1-b) b_A + b b_B, weights and hidden
    bias scaled by b; beta=0 is the base-rate model, beta=1 the RBM."""
    visible = (1.0 - beta) * base_bias + beta * params["visible_bias"]
    hidden = beta * (v @ params["weights"] + params["hidden_bias"])
    return v @ visible + jnp.sum(jax.nn.softplus(hidden), axis=-1)


@functools.partial(jax.jit, static_argnames=("num_chains", "num_steps"))
def ais_log_partition(params: dict[str, jax.Array], base_bias: jax.Array, rng: jax.Array,
                      num_chains: int = 100, num_steps: int = 3000) -> jax.Array:
    """Annealed importance sampling estimate of log Z of an RBM with `params`.

    Anneals from the base-rate model (independent pixels with biases `base_bias`, whose
    log Z_A = sum softplus(b_A) + H log 2 is exact) to the RBM along betas linear in [0, 1],
    `num_chains` independent chains under lax.scan, one Gibbs transition per beta. Returns
    log Z_A + log mean_chains exp(log w). The estimate is unbiased in Z, so log Z tends to be
    underestimated (and the log-likelihood overestimated) when too few steps are used.
    """
    base_bias = jnp.asarray(base_bias, jnp.float32)
    weights = params["weights"]
    num_hidden = weights.shape[1]
    betas = jnp.linspace(0.0, 1.0, num_steps + 1)
    init_key, chain_key = jax.random.split(rng)
    v = jax.random.bernoulli(init_key, jax.nn.sigmoid(base_bias),
                             (num_chains, base_bias.shape[0])).astype(jnp.float32)

    def anneal(carry, xs):
        v, log_w = carry
        beta_prev, beta, key = xs
        log_w = log_w + (_neg_free_energy(params, base_bias, v, beta)
                         - _neg_free_energy(params, base_bias, v, beta_prev))
        key_h, key_v = jax.random.split(key)
        h = jax.random.bernoulli(key_h, jax.nn.sigmoid(
            beta * (v @ weights + params["hidden_bias"]))).astype(jnp.float32)
        v_logits = (1.0 - beta) * base_bias + beta * (h @ weights.T + params["visible_bias"])
        v = jax.random.bernoulli(key_v, jax.nn.sigmoid(v_logits)).astype(jnp.float32)
        return (v, log_w), None

    keys = jax.random.split(chain_key, num_steps)
    (_, log_w), _ = jax.lax.scan(anneal, (v, jnp.zeros(num_chains)),
                                 (betas[:-1], betas[1:], keys))
    log_z_base = jnp.sum(jax.nn.softplus(base_bias)) + num_hidden * jnp.log(2.0)
    return log_z_base + jax.scipy.special.logsumexp(log_w) - jnp.log(num_chains)


def exact_log_partition(params: dict[str, Any]) -> float:
    """log Z by enumerating all 2^V visible states (V <= 20): the ground truth AIS is tested
    against. Float64 on host."""
    weights = np.asarray(params["weights"], np.float64)
    num_visible = weights.shape[0]
    if num_visible > 20:
        raise ValueError(f"exact_log_partition enumerates 2^V states; V={num_visible} > 20")
    states = ((np.arange(2 ** num_visible)[:, None] >> np.arange(num_visible)) & 1)
    states = states.astype(np.float64)
    neg_f = (states @ np.asarray(params["visible_bias"], np.float64)
             + np.logaddexp(0.0, states @ weights
                            + np.asarray(params["hidden_bias"], np.float64)).sum(axis=1))
    top = neg_f.max()
    return float(top + np.log(np.exp(neg_f - top).sum()))
