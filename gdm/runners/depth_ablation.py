"""Depth ablation: plain CNNs vs ResNets of growing depth on digits (He et al. 2016).

He et al. (Deep residual learning for image recognition, CVPR 2016, Sec. 4.2, Fig. 6, Table 6)
train CIFAR-10 networks of depth 6n + 2 in two forms: plain (stacked 3x3 conv + batch-norm
layers) and residual (the same layers with identity shortcuts every two layers). The plain
nets degrade with depth: the 56-layer one has higher training and test error than the 20-layer
one. The ResNets improve with depth (test error 8.75 / 7.51 / 7.17 / 6.97 / 6.43% at 20 / 32 /
44 / 56 / 110 layers).

Here: gdm.nn.resnet.CifarResNet (`residual=True` / `False`) of every depth in config.depths on
the 8x8 digits (one random train/test split per seed), trained by SGD with momentum, weight
decay and a cosine learning rate for a fixed number of steps. The networks of every random
seed of one (depth, form) train in one jit-compiled call, vmapped over networks with the
random keys traced, so each (depth, form) compiles once whatever the seeds. Training error is
measured on the whole training split, test error on the held-out split, both with the
batch-norm running averages. Seed s also draws split s, so error bars cover split and
initialization.

Measured: see the "Measured" paragraph of experiments/depth_ablation.py, and results.json.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gdm import data as gdm_data
from gdm.figures import curves as curve_figures
from gdm.nn.resnet import CifarResNet
from gdm.runners.findings import finding, paired_difference
from gdm.train.logging import write_figure_results

FORMS = ("plain", "resnet")

ANCHOR = {
    "source": "He et al. 2016, Deep residual learning for image recognition, CVPR, Sec. 4.2, "
              "Fig. 6 and Table 6 (CIFAR-10)",
    "resnet_depths": [20, 32, 44, 56, 110],
    "resnet_test_error_percent": [8.75, 7.51, 7.17, 6.97, 6.43],
    "plain_deeper_is_worse": True,
    "resnet_deeper_is_better": True,
}
CAPTION = ("He et al. 2016 (CIFAR-10, Table 6): ResNet test error 8.75 / 7.51 / 7.17 / 6.97 / "
           "6.43% at 20 / 32 / 44 / 56 / 110 layers; plain-56 worse than plain-20 (Fig. 6)")


def check_config(config: ml_collections.ConfigDict) -> list[int]:
    """The depths, each 6n + 2 (n >= 1), after checking the other sizes."""
    depths = [int(d) for d in config.depths]
    bad = [d for d in depths if d < 8 or (d - 2) % 6]
    if not depths or bad:
        raise ValueError(f"config.depths must be depths 6n + 2 (8, 14, 20, 26, 32, ...), got "
                         f"{tuple(config.depths)}")
    for key in ("seeds", "steps", "batch_size", "width"):
        if int(config[key]) < 1:
            raise ValueError(f"config.{key} must be a positive integer, got {config[key]}")
    if not 0.0 < float(config.test_fraction) < 1.0:
        raise ValueError(f"config.test_fraction must be in (0, 1), got {config.test_fraction}")
    return depths


def splits(config: ml_collections.ConfigDict) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) stacked over seeds: seed s is split s, NHWC images."""
    out = []
    for s in range(int(config.seeds)):
        ds = gdm_data.load("digits", seed=int(config.seed) + s,
                           test_fraction=float(config.test_fraction))
        out.append((ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    return tuple(np.stack(a) for a in zip(*out, strict=True))


@functools.partial(jax.jit, static_argnames=("model", "steps", "batch"))
def train_networks(model: CifarResNet, x: jax.Array, y: jax.Array, keys: jax.Array,
                   learning_rate: jax.Array, weight_decay: jax.Array, *, steps: int,
                   batch: int):
    """Trains one network per row of (x, y, keys): SGD with momentum 0.9, L2 weight decay and
    a cosine-decayed learning rate, minibatches drawn with replacement; batch-norm statistics
    updated each step. Vmapped over networks; keys and rates are traced."""
    tx = optax.sgd(1.0, momentum=0.9)
    decay = optax.cosine_decay_schedule(1.0, steps)

    def loss(params, stats, xb, yb):
        logits, new = model.apply({"params": params, "batch_stats": stats}, xb, train=True,
                                  mutable=["batch_stats"])
        l2 = sum(jnp.sum(w * w) for w in jax.tree.leaves(params))
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
        return ce + 0.5 * weight_decay * l2, new["batch_stats"]

    def one(x, y, key):
        k_init, k_data = jax.random.split(key)
        variables = model.init(k_init, x[:1], train=False)
        params, stats = variables["params"], variables["batch_stats"]

        def step(carry, inputs):
            params, stats, opt = carry
            t, k = inputs
            b = jax.random.randint(k, (batch,), 0, len(x))
            grads, stats = jax.grad(loss, has_aux=True)(params, stats, x[b], y[b])
            grads = jax.tree.map(lambda g: g * learning_rate * decay(t), grads)
            updates, opt = tx.update(grads, opt, params)
            return (optax.apply_updates(params, updates), stats, opt), None

        inputs = (jnp.arange(steps), jax.random.split(k_data, steps))
        (params, stats, _), _ = jax.lax.scan(step, (params, stats, tx.init(params)), inputs)
        return {"params": params, "batch_stats": stats}

    return jax.vmap(one)(x, y, keys)


@functools.partial(jax.jit, static_argnames=("model",))
def errors(model: CifarResNet, variables, x: jax.Array, y: jax.Array) -> jax.Array:
    """Classification error of every network on its own (x, y), (networks,)."""
    def one(v, x, y):
        return jnp.mean(jnp.argmax(model.apply(v, x, train=False), -1) != y)

    return jax.vmap(one)(variables, x, y)


def train_depth(depth: int, residual: bool, data: tuple[jax.Array, ...],
                config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    """Train and test errors (seeds,) of the `depth`-layer network in one form, per seed."""
    x_train, y_train, x_test, y_test = data
    model = CifarResNet(depth=depth, num_outputs=10, width=int(config.width),
                        residual=residual)
    keys = jax.random.split(jax.random.key(int(config.seed)), int(config.seeds))
    variables = train_networks(model, x_train, y_train, keys,
                               jnp.float32(config.learning_rate),
                               jnp.float32(config.weight_decay), steps=int(config.steps),
                               batch=int(config.batch_size))
    return {"train_error": np.asarray(errors(model, variables, x_train, y_train), np.float64),
            "test_error": np.asarray(errors(model, variables, x_test, y_test), np.float64)}


def curves(config: ml_collections.ConfigDict, depths: list[int],
           data: tuple[np.ndarray, ...]) -> dict[str, list]:
    """Results: per form, train/test error mean and std over seeds at every depth."""
    out: dict[str, list] = {"depth": depths}
    per_seed = {}
    data = tuple(jnp.asarray(a) for a in data)  # on the device once for every network
    for form in FORMS:
        runs = []
        for depth in depths:
            start = time.perf_counter()
            runs.append(train_depth(depth, form == "resnet", data, config))
            print(f"{form}-{depth}: test error {runs[-1]['test_error'].mean():.4f} "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
        for metric in ("train_error", "test_error"):
            values = np.stack([r[metric] for r in runs])  # (depths, seeds)
            per_seed[f"{form}/{metric}"] = values.tolist()
            out[f"{form}/{metric}"] = values.mean(1).tolist()
            out[f"{form}/{metric}_std"] = values.std(1).tolist()
    out["per_seed"] = per_seed
    return out


def _paired_gap(results: dict, a: str, i: int, b: str, j: int, metric: str) -> tuple[float,
                                                                                     float]:
    """Mean and standard error over seeds of metric(a at depth i) - metric(b at depth j)."""
    per_seed = results["per_seed"]
    return paired_difference(per_seed[f"{a}/{metric}"][i], per_seed[f"{b}/{metric}"][j])


def findings(results: dict) -> list[dict]:
    """He et al.'s three claims, each as a paired comparison over seeds: "worse" / "better"
    means a mean error difference over two standard errors."""
    depths, last = results["depth"], len(results["depth"]) - 1
    if last < 1:
        return []
    src = "He et al. 2016, CIFAR-10"

    def text(form: str, metric: str) -> str:
        values = results[f"{form}/{metric}"]
        return f"{form}-{depths[0]} {values[0]:.4f}, {form}-{depths[-1]} {values[-1]:.4f}"

    gap, se = _paired_gap(results, "plain", last, "plain", 0, "train_error")
    tgap, tse = _paired_gap(results, "plain", last, "plain", 0, "test_error")
    rgap, rse = _paired_gap(results, "resnet", last, "resnet", 0, "test_error")
    vgap, vse = _paired_gap(results, "plain", last, "resnet", last, "test_error")
    return [
        finding("plain nets degrade with depth: the deepest has the higher training error",
                f"plain-56 above plain-20 in training error ({src}, Fig. 6 left)",
                f"train error {text('plain', 'train_error')} (gap {gap:+.4f} +/- {se:.4f})",
                gap > 2 * se),
        finding("plain nets degrade with depth: the deepest has the higher test error",
                f"plain-56 above plain-20 in test error ({src}, Fig. 6 left)",
                f"test error {text('plain', 'test_error')} (gap {tgap:+.4f} +/- {tse:.4f})",
                tgap > 2 * tse),
        finding("ResNets do not degrade with depth (deepest test error not above shallowest)",
                f"test error 8.75% (20 layers) falls to 6.43% (110) ({src}, Table 6)",
                f"test error {text('resnet', 'test_error')} (gap {rgap:+.4f} +/- {rse:.4f})",
                rgap <= 2 * rse),
        finding("the residual form beats the plain one at the greatest depth",
                f"ResNet-56 6.97% vs plain-56 above plain-20's 8-9% ({src}, Fig. 6)",
                f"{depths[-1]} layers: plain {results['plain/test_error'][-1]:.4f} vs resnet "
                f"{results['resnet/test_error'][-1]:.4f} (gap {vgap:+.4f} +/- {vse:.4f})",
                vgap > 2 * vse),
    ]


def _table(results: dict) -> str:
    lines = ["| depth | plain train | plain test | resnet train | resnet test |",
             "|---|---|---|---|---|"]
    for i, d in enumerate(results["depth"]):
        cells = [f"{results[f'{f}/{m}'][i]:.4f} +/- {results[f'{f}/{m}_std'][i]:.4f}"
                 for f in FORMS for m in ("train_error", "test_error")]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains every (form, depth) for every seed; writes results.json, results.md and
    figures/depth_ablation.{png,pdf}; prints the table."""
    depths = check_config(config)
    start = time.perf_counter()
    results = curves(config, depths, splits(config))
    results.update(anchor=ANCHOR, seeds=int(config.seeds), steps=int(config.steps),
                   seconds=time.perf_counter() - start)
    results["findings"] = findings(results)
    write_figure_results(workdir, results, _table(results), lambda d: curve_figures.depth_curves(
        results, d, "depth_ablation", CAPTION))
    return results
