"""Random-forest error vs number of trees, with the out-of-bag estimate (Breiman 2001).

Breiman's finding (Random Forests, Machine Learning 45, 2001, Sec. 2 and 3.1): as trees are
added the generalization error converges (strong law of large numbers, Theorem 1.2), so a
forest does not overfit with more trees; the out-of-bag error, each training example voted on
by the trees whose bootstrap sample left it out, estimates it without a test set.

One gdm.ensemble.RandomForestClassifier of `n_trees` trees per seed (seed s: its own random
train/test split of digits and its own forest), with oob_score=True. The curves of every prefix
of k trees come from the fitted trees without refitting: each tree's leaf class fractions for
every example, cumulated over trees, in one jit-compiled call over (seed, k). The OOB curve
uses each tree's bootstrap counts, so at k = n_trees it equals the forest's 1 - oob_score_.

Measured (default config, 5 seeds, digits, 1,348 training / 449 test examples): test error
falls from 0.245 with one tree to 0.051 with 10 and 0.027 with 100, and stays at 0.027 up to
200 (no overfitting: the last value is the smallest); OOB error lies above it at small k
(0.18 at 7 trees vs 0.07: each example is voted on by only the ~37% of trees that left it
out) and meets it at 200 trees (0.029 vs 0.027). The importances picture the centre
of the 8x8 digits; the border pixels, nearly always blank, get none. Results: results.json;
figure figures/forest_trees.{png,pdf}.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from sklearn.datasets import load_digits

from gdm.ensemble import RandomForestClassifier
from gdm.figures import curves as curve_figures
from gdm.runners.findings import finding
from gdm.train.logging import write_figure_results

ANCHOR = {
    "source": "Breiman 2001, Random Forests, Machine Learning 45(1):5-32, Sec. 2, 3.1",
    "error_converges_with_trees": True,
    "overfits_with_more_trees": False,
    "oob_estimates_test_error": True,
}


class _BaggedForest(RandomForestClassifier):
    """A RandomForestClassifier that keeps the bootstrap counts (n_trees, n_train) of its fit,
    which the out-of-bag score is computed from."""

    def _compute_oob(self, X, y, target, in_bag) -> None:
        self.in_bag_ = np.asarray(in_bag)
        super()._compute_oob(X, y, target, in_bag)


def tree_votes(forest: RandomForestClassifier, x: np.ndarray) -> np.ndarray:
    """Every tree's class fractions for every example, (n_trees, n, n_classes)."""
    leaves = forest.apply(x)  # (n, n_trees)
    value = forest.tree_arrays_["value"]  # (n_trees, nodes, n_classes)
    votes = value[np.arange(leaves.shape[1])[None, :], leaves].transpose(1, 0, 2)
    return votes / votes.sum(-1, keepdims=True)


@jax.jit
def prefix_errors(votes: jax.Array, y: jax.Array, use: jax.Array,
                  trees: jax.Array) -> jax.Array:
    """Error of the forest of the first k trees, for every k in `trees`; `use` (n_trees, n)
    says which trees vote on which example (all for a test set, out-of-bag ones for OOB).
    Examples no tree votes on yet are left out."""
    sums = jnp.cumsum(votes * use[:, :, None], axis=0)[trees - 1]  # (n_k, n, n_classes)
    voted = jnp.cumsum(use, axis=0)[trees - 1] > 0
    wrong = (jnp.argmax(sums, axis=-1) != y[None, :]) & voted
    return wrong.sum(1) / jnp.maximum(voted.sum(1), 1)


def tree_grid(n_trees: int, points: int) -> list[int]:
    """Geometric grid from 1 to n_trees, with 10 and 100 where they fit."""
    grid = {int(round(k)) for k in np.geomspace(1, n_trees, points)}
    return sorted(grid | {k for k in (10, 100) if k <= n_trees})


def one_seed(x: np.ndarray, y: np.ndarray, seed: int, config: ml_collections.ConfigDict,
             trees: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(test errors, OOB errors over `trees`, importances, 1 - oob_score_) of one seed."""
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(config.test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    forest = _BaggedForest(n_estimators=config.n_trees, max_features=config.max_features,
                           oob_score=True, random_state=seed).fit(x[train], y[train])
    k = jnp.asarray(trees)
    test_votes = jnp.asarray(tree_votes(forest, x[test]))
    test_err = prefix_errors(test_votes, jnp.asarray(y[test]),
                             jnp.ones(test_votes.shape[:2], jnp.float32), k)
    oob_use = jnp.asarray(forest.in_bag_ == 0, jnp.float32)
    oob_err = prefix_errors(jnp.asarray(tree_votes(forest, x[train])), jnp.asarray(y[train]),
                            oob_use, k)
    return (np.asarray(test_err), np.asarray(oob_err), forest.feature_importances_,
            1.0 - float(forest.oob_score_))


def check_config(config: ml_collections.ConfigDict) -> None:
    if int(config.n_trees) < 10:
        raise ValueError(f"config.n_trees must be >= 10, got {config.n_trees}")
    if int(config.seeds) < 1:
        raise ValueError(f"config.seeds must be >= 1, got {config.seeds}")
    if int(config.points) < 2:
        raise ValueError(f"config.points must be >= 2, got {config.points}")
    if not 0.0 < float(config.test_fraction) < 1.0:
        raise ValueError(f"config.test_fraction must be in (0, 1), got {config.test_fraction}")
    if config.max_features not in ("sqrt", "log2", None):
        raise ValueError("config.max_features must be one of 'sqrt', 'log2', None; got "
                         f"{config.max_features!r}")


def findings(results: dict) -> list[dict]:
    """Breiman's three claims checked on the measured curves."""
    s, source = results["summary"], ANCHOR["source"]
    trees, test, oob = results["n_trees"], results["test/error"], results["oob/error"]
    at_100 = s["error_100_trees"]
    out = [finding("error falls as trees are added", f"converges ({source}, Theorem 1.2)",
                   f"{s['error_1_tree']:.3f} (1 tree), {s['error_10_trees']:.3f} (10)"
                   + (f", {at_100:.3f} (100)" if at_100 is not None else "")
                   + f", {s['error_max_trees']:.3f} ({trees[-1]})",
                   s["error_max_trees"] < s["error_10_trees"] < s["error_1_tree"]),
           finding("no overfitting with more trees", "does not overfit (Sec. 2)",
                   f"error at {trees[-1]} trees {s['error_max_trees']:.3f}, minimum "
                   f"{s['min_error']:.3f}", not s["overfits_with_more_trees"])]
    gap = s["oob_minus_test_at_max_trees"]
    out.append(finding("OOB error estimates the test error", "unbiased estimate (Sec. 3.1)",
                       f"OOB {oob[-1]:.3f} vs test {test[-1]:.3f} at {trees[-1]} trees",
                       abs(gap) <= 0.02))
    return out


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    check_config(config)
    x, y = load_digits(return_X_y=True)
    trees = tree_grid(int(config.n_trees), int(config.points))
    runs = [one_seed(x, y, config.seed + s, config, trees) for s in range(config.seeds)]
    test = np.stack([r[0] for r in runs]).astype(np.float64)
    oob = np.stack([r[1] for r in runs]).astype(np.float64)
    importances = np.mean([r[2] for r in runs], axis=0).reshape(8, 8)
    test_mean = test.mean(0)
    at = {k: i for i, k in enumerate(trees)}
    last = len(trees) - 1
    results = {
        "n_trees": trees,
        "test/error": test_mean.tolist(), "test/error_std": test.std(0).tolist(),
        "oob/error": oob.mean(0).tolist(), "oob/error_std": oob.std(0).tolist(),
        "oob/sklearn_error": [r[3] for r in runs],
        "feature_importances": importances.tolist(),
        "n_seeds": int(config.seeds), "n_train": len(y) - int(round(config.test_fraction
                                                                    * len(y))),
        "summary": {
            "error_1_tree": float(test_mean[0]),
            "error_10_trees": float(test_mean[at[10]]),
            "error_100_trees": float(test_mean[at[100]]) if 100 in at else None,
            "error_max_trees": float(test_mean[last]),
            "min_error": float(test_mean.min()),
            "overfits_with_more_trees": bool(test_mean[last] > test_mean.min() + 0.01),
            "oob_minus_test_at_max_trees": float(oob.mean(0)[last] - test_mean[last]),
        },
        "published": ANCHOR,
    }
    print(f"trees {trees}\n  test error {np.round(test_mean, 3).tolist()}\n"
          f"  OOB error  {np.round(oob.mean(0), 3).tolist()}", flush=True)
    write_figure_results(workdir, results, None, lambda d: curve_figures.forest_curves(
        trees, (test_mean, test.std(0)), (oob.mean(0), oob.std(0)), importances, d,
        "forest_trees"))
    return results
