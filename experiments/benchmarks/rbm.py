"""gdm's RBM (cd task through the training loop) vs scikit-learn's BernoulliRBM, side by side.

    python -m experiments.benchmarks.rbm [--mnist_dir DIR] [--epochs 10] [--hidden 256]

Same data (binarized at 0.5), hidden units, learning rate, batch size and epochs. Making the
algorithms match: BernoulliRBM is persistent CD with one Gibbs sweep per update, one chain per
batch row, weights ~ N(0, 0.01^2), zero biases, and adds learning_rate / batch_size times the
summed statistics, i.e. plain SGD at `learning_rate` on the batch-mean gradient. gdm runs PCD-1
(task_options.persistent, cd_steps=1, num_chains=batch_size), the same initialization, and
optimizer sgd at the same learning rate. Remaining differences: sklearn visits batches in a
fixed order and keeps a short last batch; gdm reshuffles every epoch (seed, epoch) and drops
the remainder; gdm computes in float32, sklearn in float64.

Quality is measured on the test split by the same functions for both models: the exact
pseudo-likelihood (all bits, gdm.nn.RBM.full_pseudo_likelihood, the expectation of what
score_samples estimates), BernoulliRBM.score_samples itself (one random bit per row, same
random_state for both sets of weights) and an AIS log-likelihood (same chains and schedule).
gdm's fit time is the whole train_and_evaluate call (data loading, compilation, the final
evaluation with the one-bit pseudo-likelihood; AIS, sampling and the Frechet distance off);
warm is a second call into a fresh workdir in the same process.
"""

from __future__ import annotations

import os
import tempfile

import jax
import numpy as np
from sklearn.neural_network import BernoulliRBM

from experiments.benchmarks import common
from gdm import data
from gdm.nn.rbm import RBM
from gdm.train.config import base
from gdm.train.loop import train_and_evaluate
from gdm.train.restore import restore_state
from gdm.train.tasks.cd import ais_log_partition, base_rate_bias


def gdm_config(name: str, data_dir: str, hidden: int, lr: float, batch: int, steps: int):
    c = base(task="cd", dataset=name, model="rbm")
    c.dataset.data_dir = data_dir
    c.dataset.flatten = True
    c.dataset.binarize = 0.5
    c.model.num_hidden = hidden
    c.task_options.update(dict(cd_steps=1, persistent=True, num_chains=batch,
                               exact_pseudo_likelihood=False, ais_steps=0, sample_steps=0,
                               frechet=False))
    c.optimizer.name = "sgd"
    c.optimizer.learning_rate = lr
    c.batch_size = batch
    c.num_train_steps = steps
    c.log_every_steps = steps
    c.eval_every_steps = steps
    c.checkpoint_every_steps = steps
    c.keep_checkpoints = 1
    return c


def quality(params: dict, x_train: np.ndarray, x_test: np.ndarray, ais_steps: int,
            seed: int = 0) -> dict:
    """Exact pseudo-likelihood, sklearn's score_samples and AIS log-likelihood of `params`."""
    model = RBM(output_shape=(x_test.shape[1],), num_hidden=params["weights"].shape[1])
    variables = {"params": jax.tree.map(np.float32, params)}
    full_pl = jax.jit(lambda v, x: model.apply(v, x, method=model.full_pseudo_likelihood))
    neg_f = jax.jit(lambda v, x: -model.apply(v, x, method=model.free_energy))
    peer = BernoulliRBM(n_components=params["weights"].shape[1], random_state=seed)
    peer.components_ = np.asarray(params["weights"], np.float64).T
    peer.intercept_hidden_ = np.asarray(params["hidden_bias"], np.float64)
    peer.intercept_visible_ = np.asarray(params["visible_bias"], np.float64)
    log_z = float(ais_log_partition(variables["params"], base_rate_bias(x_train),
                                    jax.random.key(seed), 100, ais_steps))
    return {"pseudo_likelihood": float(np.mean(full_pl(variables, x_test))),
            "score_samples": float(np.mean(peer.score_samples(x_test))),
            "log_likelihood_ais": float(np.mean(neg_f(variables, x_test))) - log_z}


def run_dataset(name: str, data_dir: str, args) -> list[dict]:
    ds = data.load(name, data_dir=data_dir or None, seed=0, flatten=True, binarize=0.5)
    x_train, x_test = ds.x_train, ds.x_test
    steps = args.epochs * (len(x_train) // args.batch_size)
    settings = dict(dataset=name, n_train=len(x_train), hidden=args.hidden, lr=args.lr,
                    batch=args.batch_size, epochs=args.epochs)

    config = gdm_config(name, data_dir, args.hidden, args.lr, args.batch_size, steps)
    with tempfile.TemporaryDirectory() as tmp:
        with common.PeakMemory() as mem:
            _, cold = common.timed(lambda: train_and_evaluate(config, f"{tmp}/cold", quiet=True))
        _, warm = common.timed(lambda: train_and_evaluate(config, f"{tmp}/warm", quiet=True))
        _, model, state = restore_state(config, f"{tmp}/warm", dataset=ds)
    ours_params = jax.tree.map(np.asarray, state.params)
    one_bit = jax.jit(lambda v, x, i: model.apply(v, x, i, method=model.pseudo_likelihood))
    flips = np.random.default_rng(0).integers(0, x_test.shape[1], len(x_test))
    jax.block_until_ready(one_bit({"params": ours_params}, x_test, flips))
    _, ours_score = common.timed(
        lambda: jax.block_until_ready(one_bit({"params": ours_params}, x_test, flips)))

    peer = BernoulliRBM(n_components=args.hidden, learning_rate=args.lr,
                        batch_size=args.batch_size, n_iter=args.epochs, random_state=0)
    x64 = x_train.astype(np.float64)
    with common.PeakMemory() as peer_mem:
        _, peer_fit = common.timed(lambda: peer.fit(x64))
    _, peer_score = common.timed(lambda: peer.score_samples(x_test.astype(np.float64)))
    peer_params = {"weights": peer.components_.T, "hidden_bias": peer.intercept_hidden_,
                   "visible_bias": peer.intercept_visible_}

    ours_q = quality(ours_params, x_train, x_test, args.ais_steps)
    peer_q = quality(peer_params, x_train, x_test, args.ais_steps)
    ours = {**settings, "impl": "gdm", "fit_cold_s": cold, "fit_warm_s": warm,
            "score_s": ours_score, "peak_mb": mem.peak_mb, **ours_q}
    theirs = {**settings, "impl": "sklearn", "fit_cold_s": peer_fit, "fit_warm_s": peer_fit,
              "score_s": peer_score, "peak_mb": peer_mem.peak_mb, **peer_q}
    ratio = {"dataset": name, "impl": "ratio gdm/sklearn"}
    for key in ("fit_cold_s", "fit_warm_s", "score_s", "peak_mb"):
        ratio[key] = ours[key] / max(theirs[key], 1e-9)
    for key in ("pseudo_likelihood", "score_samples", "log_likelihood_ais"):
        ratio[key] = ours[key] - theirs[key]  # differences in nats: > 0 means gdm is better
    return [ours, theirs, ratio]


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--datasets", default="digits,mnist")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--ais_steps", type=int, default=3000)
    args = parser.parse_args()
    rows = []
    for name in args.datasets.split(","):
        if name == "mnist":
            if not os.path.isdir(args.mnist_dir):
                print(f"skipping mnist: {args.mnist_dir} not found (pass --mnist_dir)")
                continue
            rows += run_dataset("mnist_idx", args.mnist_dir, args)
        else:
            rows += run_dataset(name, "", args)
    columns = ["dataset", "impl", "hidden", "lr", "batch", "epochs", "fit_cold_s", "fit_warm_s",
               "score_s", "peak_mb", "pseudo_likelihood", "score_samples", "log_likelihood_ais"]
    print(common.write_report("rbm", rows, columns, extra={
        "note": "ratio row: times and memory are gdm/sklearn; likelihood columns are "
                "gdm minus sklearn in nats (> 0: gdm better). pseudo_likelihood is exact "
                "(all bits); score_samples is sklearn's one-bit estimate on both models."}))


if __name__ == "__main__":
    main()
