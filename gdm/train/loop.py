"""The one training loop: train_and_evaluate(config, workdir) for every neural model in gdm.

Phases: validate config -> load data -> build task, model and state -> restore the latest
checkpoint if any -> jit-compiled steps over batches sharded on the mesh -> periodic logging,
evaluation and checkpoints -> final evaluation and results.json.
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gdm import data as gdm_data
from gdm import nn as gdm_nn
from gdm.data.batching import TrainBatches, eval_batches
from gdm.train import parallel
from gdm.train.checkpoint import Checkpointer
from gdm.train.config import validate
from gdm.train.logging import MetricLogger, write_results
from gdm.train.optim import make_optimizer
from gdm.train.state import TrainState
from gdm.train.tasks import get_task_class

_EVAL_RNG_SALT = 0x7FFFFFFF


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or Inf; the run stopped without saving the bad state."""


class PreemptedError(RuntimeError):
    """SIGTERM arrived; a checkpoint was saved and the run can be resumed."""


def load_dataset(config: ml_collections.ConfigDict) -> gdm_data.Dataset:
    """The data `config.dataset` names (keys and defaults: gdm.train.config.base)."""
    d = config.dataset
    return gdm_data.load(
        d.name, data_dir=d.data_dir or None, seed=config.seed, test_fraction=d.test_fraction,
        validation_fraction=d.validation_fraction, normalize=d.normalize, flatten=d.flatten,
        binarize=d.binarize if d.binarize >= 0 else None,  # < 0: not set
        n_samples=d.n_samples or None, noise=d.noise if d.noise >= 0 else None)


def build(config: ml_collections.ConfigDict, dataset: gdm_data.Dataset):
    """Task and model for `config` on `dataset` (also used by tools that load checkpoints)."""
    num_classes = dataset.num_classes
    task = get_task_class(config.task)(config, num_classes, dataset.input_shape)
    kwargs = {k: v for k, v in config.model.items() if k != "name"}
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    num_outputs = num_classes if num_classes else 1
    model = gdm_nn.create(config.model.name, kwargs, num_outputs=num_outputs,
                          input_shape=dataset.input_shape)
    return task, model


def initial_state(config, task, model, dataset, tx_base, mesh) -> tuple[TrainState, Any]:
    """The step-0 state (replicated on the mesh) and the task's optimizer; also the template
    that checkpoints restore into (gdm.train.restore)."""
    rng = jax.random.PRNGKey(config.seed)
    init_rng = jax.random.fold_in(rng, 0x5EED)
    x_sample = jnp.asarray(dataset.x_train[: min(2, len(dataset.x_train))])
    params, model_state, extra = jax.jit(functools.partial(task.init, model))(init_rng, x_sample)
    tx = task.make_optimizer(tx_base, params)
    state = TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                       model_state=model_state, extra=extra, rng=rng)
    return jax.device_put(state, parallel.replicated(mesh)), tx


def _make_steps(task, model, tx, mesh):
    """jit-compiled train and eval steps; state donated, outputs replicated."""
    rep = parallel.replicated(mesh)

    def train_step(state, batch, window):
        rng = jax.random.fold_in(state.rng, state.step)
        new_state, metrics = task.train_step(model, tx, state, batch, rng)
        # A step is bad if its loss or the parameters it produced are not finite, so every
        # checkpoint saved before the stop holds finite parameters.
        finite = jnp.isfinite(metrics["loss"]) & jnp.all(jnp.asarray(
            [jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(new_state.params)]))
        first_bad = jnp.where((window["first_bad"] < 0) & ~finite, state.step,
                              window["first_bad"])
        sums = {k: window["sums"][k] + v for k, v in metrics.items()}
        new_state = new_state.replace(step=state.step + 1)
        return new_state, {"sums": sums, "first_bad": first_bad, "count": window["count"] + 1}

    def eval_step(state, batch, index):
        rng = jax.random.fold_in(jax.random.fold_in(state.rng, _EVAL_RNG_SALT), index)
        per_example = task.eval_batch(model, state, batch, rng)
        mask = batch["mask"]
        sums = {k: jnp.sum(v * mask) for k, v in per_example.items()}
        return sums, jnp.sum(mask)

    train = jax.jit(train_step, donate_argnums=(0, 2), out_shardings=(rep, rep))
    evaluate = jax.jit(eval_step, out_shardings=(rep, rep))
    return train, evaluate


def _new_window(metric_names: list[str], mesh) -> dict:
    window = {"sums": {k: jnp.zeros((), jnp.float32) for k in metric_names},
              "first_bad": jnp.array(-1, jnp.int32), "count": jnp.zeros((), jnp.int32)}
    return jax.device_put(window, parallel.replicated(mesh))


def evaluate_split(evaluate, state, x, y, batch_size: int, mesh) -> dict[str, float]:
    """Averages the task's per-example eval metrics over (x, y), padding the last batch."""
    rows = parallel.process_slice(batch_size)
    sharding = parallel.batch_sharded(mesh)
    totals, count = None, 0.0
    for i, batch in enumerate(eval_batches(x, y, batch_size, rows)):
        sums, n = evaluate(state, parallel.to_global(batch, sharding), i)
        sums = jax.device_get(sums)
        totals = sums if totals is None else {k: totals[k] + sums[k] for k in sums}
        count += float(n)
    return {f"eval/{k}": float(v) / count for k, v in totals.items()}


class _SigtermFlag:
    """Turns SIGTERM into a flag the loop checks between steps (preemption-safe exit)."""

    def __init__(self):
        self.raised = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread: no handler, no flag.
            self._previous = None
        return self

    def _handle(self, signum, frame):
        self.raised = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _metric_names(task, model, tx, state, batch: dict, batch_size: int) -> list[str]:
    """The train step's metric names, from one abstract evaluation (no compilation, no data)."""
    abstract_batch = {k: jax.ShapeDtypeStruct((batch_size, *v.shape[1:]), v.dtype)
                      for k, v in batch.items()}
    return list(jax.eval_shape(
        lambda s, b: task.train_step(model, tx, s, b, s.rng)[1], state, abstract_batch))


def _log_window(logger: MetricLogger, window, step: int, steps_per_sec: float) -> None:
    """Writes the mean of each train metric over the window that ends at `step`."""
    host = jax.device_get(window)
    count = max(int(host["count"]), 1)
    train_metrics = {f"train/{k}": float(v) / count for k, v in host["sums"].items()}
    logger.write(step, {**train_metrics, "steps_per_sec": steps_per_sec})
    logger.progress(step, train_metrics["train/loss"], steps_per_sec)


@dataclasses.dataclass
class _Run:
    """What the training loop reads: the config and data, the task and model, the compiled
    steps, and where checkpoints and metrics go."""

    config: ml_collections.ConfigDict
    workdir: str
    dataset: gdm_data.Dataset
    mesh: Any
    eval_bs: int  # eval batch size, a multiple of the device count
    task: Any
    model: Any
    tx: Any
    checkpointer: Checkpointer
    logger: MetricLogger
    train_step: Any
    evaluate: Any
    batches: TrainBatches


def _eval_batch_size(config: ml_collections.ConfigDict, dataset: gdm_data.Dataset) -> int:
    """config.eval_batch_size, at most the test set, rounded up to a multiple of the device
    count (eval batches are sharded over the devices)."""
    n_dev = jax.device_count()
    eval_bs = min(config.eval_batch_size, len(dataset.x_test))
    return -(-eval_bs // n_dev) * n_dev


def _start(config: ml_collections.ConfigDict, workdir: str, quiet: bool,
           dataset: gdm_data.Dataset) -> tuple[_Run, TrainState]:
    """Builds task, model, optimizer and compiled steps on the mesh, and the state to start
    from: the latest checkpoint in `workdir` if any, else step 0."""
    mesh = parallel.make_mesh()
    parallel.check_batch_size(config.batch_size)
    eval_bs = _eval_batch_size(config, dataset)

    task, model = build(config, dataset)
    tx_base = make_optimizer(config.optimizer, config.num_train_steps)
    state, tx = initial_state(config, task, model, dataset, tx_base, mesh)

    checkpointer = Checkpointer(workdir, keep=config.keep_checkpoints)
    if checkpointer.latest_step() is not None:
        state = checkpointer.restore(state)
    start = int(state.step)
    logger = MetricLogger(workdir, config.num_train_steps, resumed_step=start, quiet=quiet)
    if start and not quiet and jax.process_index() == 0:
        print(f"resumed from checkpoint at step {start}", flush=True)

    train_step, evaluate = _make_steps(task, model, tx, mesh)
    batches = TrainBatches(dataset.x_train, dataset.y_train, config.batch_size, config.seed,
                           rows=parallel.process_slice(config.batch_size))
    return _Run(config, workdir, dataset, mesh, eval_bs, task, model, tx, checkpointer, logger,
                train_step, evaluate, batches), state


def _check_finite(run: _Run, window) -> None:
    """Raises NonFiniteLossError if a step of the window was not finite, naming the last good
    checkpoint (every one saved so far holds finite parameters)."""
    first_bad = int(window["first_bad"])
    if first_bad >= 0:
        run.checkpointer.wait()
        last = run.checkpointer.latest_step()
        raise NonFiniteLossError(
            f"loss or parameters became NaN or Inf at step {first_bad}; stopping. "
            f"The last good checkpoint is step {last} in {run.workdir}/checkpoints")


def _evaluate_test(run: _Run, state) -> dict[str, float]:
    """The eval metrics over the test split."""
    return evaluate_split(run.evaluate, state, run.dataset.x_test, run.dataset.y_test,
                          run.eval_bs, run.mesh)


def _train(run: _Run, state: TrainState) -> TrainState:
    """Steps from state.step to config.num_train_steps: logs window means, evaluates and
    checkpoints on their schedules; on SIGTERM saves a checkpoint and raises PreemptedError."""
    config, checkpointer, logger = run.config, run.checkpointer, run.logger
    start = int(state.step)
    sharding = parallel.batch_sharded(run.mesh)
    metric_names = _metric_names(run.task, run.model, run.tx, state, run.batches.batch(0),
                                 config.batch_size)
    window = _new_window(metric_names, run.mesh)
    t_window, s_window = time.perf_counter(), start

    with _SigtermFlag() as sigterm:
        for step in range(start, config.num_train_steps):
            batch = parallel.to_global(run.batches.batch(step), sharding)
            state, window = run.train_step(state, batch, window)
            done = step + 1
            is_log = done % config.log_every_steps == 0 or done == config.num_train_steps
            is_ckpt = done % config.checkpoint_every_steps == 0
            if is_log or is_ckpt or sigterm.raised:
                _check_finite(run, window)
            if is_log:
                now = time.perf_counter()
                _log_window(logger, window, done, (done - s_window) / max(now - t_window, 1e-9))
                t_window, s_window = now, done
                window = _new_window(metric_names, run.mesh)
            if done % config.eval_every_steps == 0 and done != config.num_train_steps:
                logger.write(done, _evaluate_test(run, state))
            if is_ckpt or sigterm.raised:
                checkpointer.save(done, state, force=True)
            if sigterm.raised:
                checkpointer.close()
                logger.close()
                raise PreemptedError(f"SIGTERM: saved a checkpoint at step {done} in "
                                     f"{run.workdir}/checkpoints; rerun the same command to "
                                     "resume")
    return state


def _finish(run: _Run, state: TrainState) -> dict[str, float]:
    """Saves the final checkpoint, evaluates the final state and writes results.json."""
    config = run.config
    if run.checkpointer.latest_step() != config.num_train_steps:
        run.checkpointer.save(config.num_train_steps, state, force=True)
    run.checkpointer.close()
    eval_metrics = _evaluate_test(run, state)
    run.logger.write(config.num_train_steps, eval_metrics)
    results = _final_results(run.task, run.model, state, run.dataset, run.workdir, eval_metrics)
    run.logger.close()
    return results


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       quiet: bool = False,
                       dataset: gdm_data.Dataset | None = None) -> dict[str, float]:
    """Trains config.model on config.dataset with config.task; returns the final metrics.

    Resumes from the latest checkpoint in `workdir` and, from there, computes exactly what an
    uninterrupted run computes (data order and RNG are functions of the step). `dataset`, when
    given, replaces the arrays config.dataset names (e.g. a subsample of its training split);
    a resumed run must be given the same arrays.
    """
    validate(config)
    dataset = dataset if dataset is not None else load_dataset(config)
    run, state = _start(config, workdir, quiet, dataset)
    state = _train(run, state)
    return _finish(run, state)


def _final_results(task, model, state, dataset, workdir: str, eval_metrics: dict) -> dict:
    """Final eval metrics plus the task's own (figures, bounds), written to results.json.

    Only final metrics go in: they are what a resumed run must reproduce exactly."""
    host_state = jax.device_get(state)
    results = {**eval_metrics, **task.final_metrics(model, host_state, dataset, workdir)}
    results = {k: float(np.asarray(v)) for k, v in results.items()}
    write_results(workdir, results)
    return results
