"""RBM: free energy, partition function and pseudo-likelihood against brute force and
scikit-learn's BernoulliRBM; CD training through the loop; exact resume."""

from __future__ import annotations

import itertools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.neural_network import BernoulliRBM

from gdm import data
from gdm.nn import create
from gdm.nn.rbm import RBM
from gdm.train.config import base
from gdm.train.loop import train_and_evaluate
from gdm.train.state import TrainState
from gdm.train.tasks.cd import (
    ContrastiveDivergenceTask,
    ais_log_partition,
    base_rate_bias,
    exact_log_partition,
)
from tests.helpers_train import assert_resume_matches, small_schedule

V, H = 6, 4


@pytest.fixture(scope="module")
def small():
    """A 6-visible, 4-hidden RBM with O(1) weights (so the brute-force checks are not trivial)."""
    model = RBM(output_shape=(V,), num_hidden=H)
    v = np.array(list(itertools.product([0.0, 1.0], repeat=V)), np.float32)  # all 64 states
    params = model.init(jax.random.key(0), v)["params"]
    keys = jax.random.split(jax.random.key(1), 3)
    params = {k: np.asarray(jax.random.normal(kk, p.shape), np.float32)
              for (k, p), kk in zip(sorted(params.items()), keys, strict=True)}
    return model, {"params": params}, v


def _energy_sum(params, v):
    """-log sum_h exp(-E(v, h)) by enumerating all 2^H hidden states, float64."""
    w, b, c = (np.asarray(params[k], np.float64) for k in ("weights", "visible_bias",
                                                           "hidden_bias"))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=H)))
    neg_e = (v @ b)[:, None] + hs @ c + np.einsum("bv,vh,kh->bk", v.astype(np.float64), w, hs)
    return -np.log(np.exp(neg_e).sum(axis=1))


def test_shapes():
    model = create("rbm", {"num_hidden": 7}, input_shape=(8, 8, 1))
    x = np.zeros((5, 8, 8, 1), np.float32)
    variables = model.init(jax.random.key(0), x)
    shapes = jax.tree.map(np.shape, variables["params"])
    assert shapes == {"weights": (64, 7), "visible_bias": (64,), "hidden_bias": (7,)}
    assert model.apply(variables, x).shape == (5,)
    assert model.apply(variables, x, method=model.hidden_probs).shape == (5, 7)
    samples, probs = model.apply(variables, jax.random.key(1), 3, 4, method=model.sample)
    assert samples.shape == probs.shape == (3, 64)
    assert set(np.unique(samples)) <= {0.0, 1.0}


def test_free_energy_matches_sum_over_hidden_states(small):
    model, variables, v = small
    np.testing.assert_allclose(model.apply(variables, v), _energy_sum(variables["params"], v),
                               rtol=1e-5, atol=1e-5)


def test_log_partition_brute_force_and_ais(small):
    model, variables, v = small
    brute = float(np.log(np.exp(-_energy_sum(variables["params"], v)).sum()))
    assert exact_log_partition(variables["params"]) == pytest.approx(brute, abs=1e-9)
    data = v[np.random.default_rng(0).integers(0, len(v), 50)]
    ais = float(ais_log_partition(variables["params"], base_rate_bias(data), jax.random.key(2),
                                  num_chains=200, num_steps=300))
    assert ais == pytest.approx(brute, abs=0.05)


def test_pseudo_likelihood_matches_sklearn_and_brute_force(small):
    model, variables, v = small
    p = variables["params"]
    peer = BernoulliRBM(n_components=H, random_state=3)
    peer.components_ = np.asarray(p["weights"], np.float64).T
    peer.intercept_hidden_ = np.asarray(p["hidden_bias"], np.float64)
    peer.intercept_visible_ = np.asarray(p["visible_bias"], np.float64)
    flips = np.random.RandomState(3).randint(0, V, len(v))  # the bits score_samples flips
    ours = model.apply(variables, v, flips, method=model.pseudo_likelihood)
    np.testing.assert_allclose(ours, peer.score_samples(v.astype(np.float64)), rtol=1e-5,
                               atol=1e-5)
    # The full pseudo-likelihood is sum_i log p(v_i | v_-i), from the exact joint p(v).
    log_p = -_energy_sum(p, v)  # unnormalized; states are indexed by their bits
    index = (v @ (2.0 ** np.arange(V)[::-1])).astype(int)
    flipped = index[:, None] ^ (1 << np.arange(V)[::-1])[None]
    expected = np.sum(log_p[:, None] - np.logaddexp(log_p[:, None], log_p[flipped]), axis=1)
    full = model.apply(variables, v, 4, method=model.full_pseudo_likelihood)  # chunk of 4 of 6
    np.testing.assert_allclose(full, expected, rtol=1e-5, atol=1e-5)


def test_sampling_is_deterministic_by_seed(small):
    model, variables, _ = small
    sample = jax.jit(lambda v, k: model.apply(v, k, 4, 10, method=model.sample)[0])
    a, b, c = (sample(variables, jax.random.key(seed)) for seed in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _config(steps: int, persistent: bool = True, figures: bool = False):
    c = base(task="cd", dataset="digits", model="rbm")
    c.dataset.flatten = True
    c.dataset.binarize = 0.5
    c.model.num_hidden = 32
    c.task_options.update(dict(persistent=persistent, cd_steps=1, ais_chains=16, ais_steps=50,
                               sample_steps=5, num_samples=16, frechet=False,
                               figures=figures))
    c.optimizer.name = "sgd"
    return small_schedule(c, steps, batch_size=32, eval_batch_size=None, log_every=10,
                          eval_every=20, checkpoint_every=20, learning_rate=0.1)


def _jsonl(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_cd_training_improves_and_resumes_exactly(tmp_path):
    full = train_and_evaluate(_config(40, figures=True), str(tmp_path / "full"), quiet=True)
    for key in ("eval/pseudo_likelihood", "eval/reconstruction_error", "eval/log_likelihood"):
        assert np.isfinite(full[key]), key
    logs = _jsonl(tmp_path / "full")
    recon = [r["train/reconstruction_error"] for r in logs if "train/reconstruction_error" in r]
    pl = [r["eval/pseudo_likelihood"] for r in logs if "eval/pseudo_likelihood" in r]
    assert recon[-1] < recon[0] and pl[-1] > pl[0]
    assert os.path.exists(tmp_path / "full" / "figures" / "rbm_filters.png")

    # (the split runs draw no figures; samples and figures do not enter the results)
    assert_resume_matches(_config(20), _config(40), tmp_path / "split", full)


def test_cd_k_step_without_persistence_lowers_reconstruction_error():
    """CD-3 from the data (no chains in the state), stepped directly: the task's own step."""
    ds = data.load("digits", seed=0, flatten=True, binarize=0.5)
    c = _config(1, persistent=False)
    c.task_options.cd_steps = 3
    task = ContrastiveDivergenceTask(c, 10, (64,))
    model = create("rbm", {"num_hidden": 32}, input_shape=(64,))
    x = jnp.asarray(ds.x_train[:256])
    params, model_state, extra = task.init(model, jax.random.key(0), x[:2])
    assert extra == {}
    tx = optax.sgd(0.1)
    state = TrainState(step=0, params=params, opt_state=tx.init(params), model_state=model_state,
                       extra=extra, rng=jax.random.key(1))
    step = jax.jit(task.train_step, static_argnums=(0, 1))
    errors = []
    for i in range(30):
        state, metrics = step(model, tx, state, {"x": x}, jax.random.key(i))
        errors.append(float(metrics["reconstruction_error"]))
    assert errors[-1] < 0.8 * errors[0]
