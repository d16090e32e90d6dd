"""What a trained CNN's layers compute: first-layer filters and feature maps at two depths.

The claims: the first layer of a trained CNN holds oriented edge and colour-blob detectors,
frequency- and orientation-selective kernels (Krizhevsky et al. 2012, Fig. 3; Zeiler & Fergus
2014, Fig. 2), general rather than task-specific (Yosinski et al. 2014); deeper layers respond
to larger, more class-specific patterns (Zeiler & Fergus 2014), so their features separate the
classes better.

`seeds` LeNet-5s (gdm.nn.cnn.LeNet5) train on the 8x8 digits, upsampled `image_upsample` times
(bilinear, as gdm/runners/features.py does), in one jit-compiled call vmapped over networks
(gdm.runners.features.train_cnns); each network's random initialization, the same draw its
training starts from, is the untrained baseline. Then:
  filters      the 6 first-layer 5x5 kernels, trained and at initialization.
  feature maps one test digit's ReLU maps after conv1 (6 channels) and after conv2 (16).
  orientation  every first-layer kernel (mean removed: its response to a grating's mean over
               the 5x5 window is an edge effect, not tuning) against sinusoidal gratings of
               `orientations` orientations in [0, pi), `phases` phases and a few spatial
               frequencies. Its response amplitude to a grating is the root mean square over
               the equally spaced phases times sqrt(2) (phase invariant; for >= 3 phases it
               equals the modulus of the kernel's Fourier transform at that frequency vector);
               the tuning curve is the amplitude over orientation at the kernel's preferred
               frequency, and the orientation selectivity index 1 - circular variance,
               |sum_k R_k exp(2 i theta_k)| / sum_k R_k (Ringach et al. 2002): 1 for a response
               at one orientation only, 0 for an isotropic kernel. (max - min) / (max + min)
               of the curve is kept too ("osi_peak").
  linear probe multinomial logistic regression (gdm.linear_model's L-BFGS solver and
               scikit-learn's objective, vmapped over feature sets) on standardized features:
               the input pixels, conv1 (ReLU, 2x2 max-pooled, flattened) and conv2 (ReLU,
               pooled, flattened: the input of the first dense layer), of every trained and
               every initial network; test accuracy on the held-out split.
Comparisons are paired over seeds: "better" means a mean difference over two standard errors
(gdm.runners.findings.paired). The findings read 1 - circular variance: 0 for any kernel
unchanged by 90-degree rotations, where (max - min) / (max + min) gives an isotropic Gaussian
0.26 on the 5x5 grid.

Measured (default config: digits, 1,437 training / 360 test images upsampled to 16x16, 4
networks x 300 Adam steps of 32 images, one vmapped call; networks' test accuracy 0.972-0.981;
one core, `python -m gdm.main`: 22-29 s wall, of which training 14-22 s, probe 3 s):
  orientation selectivity (1 - circular variance, 12 orientations, 4 phases, 4 frequencies):
  trained 0.253 +- 0.025 vs init 0.214 +- 0.012, paired difference 0.040 (SE 0.016): trained
  better, narrowly; (max - min) / (max + min) 0.747 vs 0.744, no difference. The trained kernels
  are their initialization moved by 38% (||W - W0|| / ||W0||; conv2 82%): still noise-like 5x5
  patches, not clean oriented edges.
  linear probe (test accuracy): pixels 0.981; conv1 trained 0.990 +- 0.001, init 0.985 +-
  0.009 (tie); conv2 trained 0.993 +- 0.001, init 0.983 +- 0.006 (trained better). conv2 beats
  conv1 for the trained networks (+0.0035, SE 0.0013) but not at random init (-0.001, tie).
So the first-layer claim holds weakly, the depth claim holds for trained networks, and "trained
beats random features" holds at conv2 but is a tie at conv1 (the finding needs both, so it
differs): on 8x8 digits every probe sits near the 0.98 that pixels alone reach, and a random
first layer keeps almost all of it. Training gains more at conv2 (+0.010) than at conv1
(+0.005), in line with a general first layer.
Without the upsampling (`image_upsample=1`, 8x8 inputs, same config, 15 s) the kernels gain no
selectivity (0.237 +- 0.051 vs 0.214, tie), conv2 no longer beats conv1 (0.986 vs 0.987, tie),
and random features fall further behind (conv2 init 0.933, conv1 init 0.974 vs trained 0.986 /
0.987), hence the 2x default. Results: results.json (+ results.md); figure
figures/cnn_features.{png,pdf}.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gdm import data as gdm_data
from gdm.figures import cnn_features as cnn_feature_figures
from gdm.nn.cnn import LeNet5
from gdm.runners._descriptors import upsample
from gdm.runners._filter_analysis import (
    aligned_curves,
    gratings,
    pad_columns,
    probe_accuracy,
    selectivity,
)
from gdm.runners.features import cnn_outputs, train_cnns
from gdm.runners.findings import finding, paired, winner
from gdm.train.logging import write_figure_results
from gdm.utils.validation import x64

DATASETS = ("digits",)
UPSAMPLES = (1, 2)
NETWORKS = ("trained", "init")

ANCHOR = {
    "zeiler_fergus": "Zeiler & Fergus 2014, Visualizing and understanding convolutional "
                     "networks, ECCV, Fig. 2 and Sec. 4: layer-1 features are oriented edges "
                     "and colour blobs; deeper layers respond to more complex, more "
                     "class-specific patterns; Sec. 5.2: a linear SVM or softmax on the "
                     "features of layers 1-7 gains accuracy with depth (Caltech-101/256)",
    "yosinski": "Yosinski et al. 2014, How transferable are features in deep neural "
                "networks?, NeurIPS: first-layer features are general (Gabor-like, appear "
                "whatever the task), the last layers specific",
    "krizhevsky": "Krizhevsky, Sutskever & Hinton 2012, ImageNet classification with deep "
                  "convolutional neural networks, NeurIPS, Fig. 3: the 96 first-layer 11x11x3 "
                  "kernels learned a variety of frequency- and orientation-selective kernels "
                  "and coloured blobs",
    "first_layer_orientation_selective": True,
    "deeper_more_linearly_separable": True,
    "trained_beat_random_features": True,
}


# ---- data and networks -------------------------------------------------------------------

def load_images(config: ml_collections.ConfigDict) -> gdm_data.Dataset:
    """The digits as NHWC images in [0, 1], upsampled `image_upsample` times."""
    ds = gdm_data.load(config.dataset.name, seed=int(config.seed),
                       test_fraction=float(config.dataset.test_fraction))
    factor = int(config.image_upsample)
    big = [upsample(x[..., 0], factor)[..., None].astype(np.float32)
           for x in (ds.x_train, ds.x_test)]
    return dataclasses.replace(ds, x_train=big[0], x_test=big[1],
                               image_shape=big[0].shape[1:])


def initial_params(model: LeNet5, x: jax.Array, keys: jax.Array):
    """The parameters train_cnns starts each network from (its key's first split)."""
    return jax.vmap(lambda k: model.init(jax.random.split(k)[0], x[:1]))(keys)


def train(ds: gdm_data.Dataset, config: ml_collections.ConfigDict):
    """(model, trained params, initial params), a leading axis of `seeds` networks, each
    trained on the whole training split."""
    model = LeNet5(num_outputs=ds.num_classes)
    s, n = int(config.seeds), len(ds.y_train)
    keys = jax.random.split(jax.random.key(int(config.seed)), s)
    rows = jnp.tile(jnp.arange(n, dtype=jnp.int32), (s, 1))
    c = config.cnn
    x = jnp.asarray(ds.x_train)
    params = train_cnns(model, x, jnp.asarray(ds.y_train), rows, jnp.full(s, n, jnp.int32),
                        keys, jnp.float32(c.learning_rate), steps=int(c.steps),
                        batch=int(c.batch_size))
    return model, params, initial_params(model, x, keys)


@functools.partial(jax.jit, static_argnames=("model",))
def conv_features(model: LeNet5, params, x: jax.Array, example: jax.Array):
    """Per network: pooled, flattened conv1 and conv2 features of x (nets, n, d1 / d2), and
    the ReLU feature maps of x[example] after conv1 (nets, H, W, 6) and conv2."""
    def one(p):
        _, state = model.apply(p, x, capture_intermediates=lambda m, _: m.name in (
            "Conv_0", "Conv_1"))
        c1 = nn.relu(state["intermediates"]["Conv_0"]["__call__"][0])
        c2 = nn.relu(state["intermediates"]["Conv_1"]["__call__"][0])
        p1 = nn.max_pool(c1, (2, 2), (2, 2))  # LeNet5's own pooling after each conv
        p2 = nn.max_pool(c2, (2, 2), (2, 2), padding="SAME")
        return (p1.reshape(len(x), -1), p2.reshape(len(x), -1), c1[example], c2[example])

    return jax.vmap(one)(params)


def conv1_filters(params) -> jax.Array:
    """(nets, 6, 5, 5) first-layer kernels (one input channel)."""
    return jnp.moveaxis(params["params"]["Conv_0"]["kernel"][..., 0, :], -1, 1)


# ---- orientation selectivity and linear probe --------------------------------------------

def probe(ds: gdm_data.Dataset, feats: dict[str, tuple[np.ndarray, np.ndarray]],
          config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    """Test accuracy (seeds,) of the probe on every feature set: "pixels" (the input, the
    same for every seed) and "conv1/trained", "conv1/init", "conv2/trained", "conv2/init",
    whose (train, test) features have a leading network axis. One vmapped fit of all."""
    names = list(feats)
    train_sets, test_sets, owner = [], [], []
    for name in names:
        tr, te = feats[name]
        tr, te = (tr, te) if tr.ndim == 3 else (tr[None], te[None])
        train_sets += list(tr)
        test_sets += list(te)
        owner += [name] * len(tr)
    width = max(s.shape[1] for s in train_sets)
    p = config.probe
    with x64():
        acc, n_iter = probe_accuracy(
            jnp.asarray(pad_columns(train_sets, width), jnp.float64), jnp.asarray(ds.y_train),
            jnp.asarray(pad_columns(test_sets, width), jnp.float64), jnp.asarray(ds.y_test),
            jnp.float64(p.C), jnp.float64(p.tol), jnp.int32(p.max_iter),
            n_classes=ds.num_classes)
    acc, n_iter, owner = np.asarray(acc, np.float64), np.asarray(n_iter), np.array(owner)
    if n_iter.max() >= int(p.max_iter):
        print(f"probe: {int((n_iter >= int(p.max_iter)).sum())} fits reached max_iter",
              flush=True)
    return {name: acc[owner == name] for name in names}


def orientation_results(filters: dict[str, jax.Array], config: ml_collections.ConfigDict):
    """Selectivity of every first-layer kernel, trained and at initialization, in one call."""
    g = config.gratings
    bank = gratings(5, int(g.orientations), int(g.phases), jnp.asarray(g.frequencies))
    stacked = jnp.stack([filters[k] for k in NETWORKS])  # (2, seeds, 6, 5, 5)
    s = {k: np.asarray(v) for k, v in selectivity(stacked, bank).items()}
    out = {}
    for i, name in enumerate(NETWORKS):
        osi = s["osi"][i].astype(np.float64)
        out[name] = {"osi": osi.mean(1).tolist(), "osi_filters": osi.tolist(),
                     "osi_peak": s["osi_peak"][i].astype(np.float64).mean(1).tolist(),
                     "preferred_degrees": np.degrees(s["preferred"][i].astype(np.float64)).tolist(),
                     "preferred_frequency": np.asarray(g.frequencies)[
                         s["frequency_index"][i]].tolist(),
                     "aligned_curve": aligned_curves(s["curve"][i].astype(np.float64)).reshape(
                         -1, s["curve"].shape[-1]).mean(0).tolist()}
    out["orientations_degrees"] = (np.arange(int(g.orientations)) * 180.0
                                   / int(g.orientations)).tolist()
    return out


def relative_change(params, init) -> dict[str, list[float]]:
    """||W - W0|| / ||W0|| of each conv kernel, per network."""
    out = {}
    for layer, key in (("conv1", "Conv_0"), ("conv2", "Conv_1")):
        w, w0 = params["params"][key]["kernel"], init["params"][key]["kernel"]
        axes = tuple(range(1, w.ndim))
        out[layer] = np.asarray(jnp.sqrt(((w - w0) ** 2).sum(axes) / (w0 ** 2).sum(axes)),
                                np.float64).tolist()
    return out


# ---- comparisons and findings ------------------------------------------------------------

def summarize(orientation: dict, accuracy: dict[str, np.ndarray]) -> dict:
    """The paired comparisons (over seeds) the findings read."""
    def acc(name):
        return accuracy[name].tolist()

    return {
        "osi_trained_vs_init": paired(orientation["trained"]["osi"], orientation["init"]["osi"]),
        "conv2_vs_conv1_trained": paired(acc("conv2/trained"), acc("conv1/trained")),
        "conv2_vs_conv1_init": paired(acc("conv2/init"), acc("conv1/init")),
        "trained_vs_init_conv1": paired(acc("conv1/trained"), acc("conv1/init")),
        "trained_vs_init_conv2": paired(acc("conv2/trained"), acc("conv2/init")),
        "conv1_trained_vs_pixels": paired(acc("conv1/trained"),
                                          [float(accuracy["pixels"][0])] * len(
                                              accuracy["conv1/trained"])),
    }


def _pm(values) -> str:
    v = np.asarray(values, np.float64)
    return f"{v.mean():.3f}+-{v.std():.3f}"


def findings(results: dict) -> list[dict]:
    """The four claims checked against results.json."""
    s, o, p = results["summary"], results["orientation"], results["probe"]
    acc = {k: v["seeds"] for k, v in p.items()}
    gaps = {layer: s[f"trained_vs_init_{layer}"]["difference"] for layer in ("conv1", "conv2")}
    change = results["weight_change"]
    return [
        finding("trained first-layer filters are more orientation selective than random init",
                "first-layer kernels are frequency- and orientation-selective: edges and "
                "blobs (Krizhevsky et al. 2012, Fig. 3; Zeiler & Fergus 2014, Fig. 2)",
                f"1 - circular variance over {len(o['orientations_degrees'])} orientations, "
                f"mean over the 6 kernels, over {results['seeds']} seeds: trained "
                f"{_pm(o['trained']['osi'])}, init {_pm(o['init']['osi'])}; better (paired): "
                f"{winner(s['osi_trained_vs_init'], 'trained', 'init')}; (max-min)/(max+min):"
                f" trained {_pm(o['trained']['osi_peak'])}, init {_pm(o['init']['osi_peak'])}",
                s["osi_trained_vs_init"]["better"] == "first"),
        finding("the conv2 linear probe beats the conv1 probe (deeper is more separable)",
                "a linear classifier on deeper layers' features is more accurate (Zeiler & "
                "Fergus 2014, Sec. 5.2)",
                f"probe test accuracy, trained: conv2 {_pm(acc['conv2/trained'])} vs conv1 "
                f"{_pm(acc['conv1/trained'])} (better: "
                f"{winner(s['conv2_vs_conv1_trained'], 'conv2', 'conv1')}); random init: "
                f"conv2 {_pm(acc['conv2/init'])} vs conv1 {_pm(acc['conv1/init'])}; pixels "
                f"{acc['pixels'][0]:.3f}",
                s["conv2_vs_conv1_trained"]["better"] == "first"),
        finding("trained features beat random features in the probe",
                "the accuracy comes from learned features (Zeiler & Fergus 2014, Sec. 5.2; "
                "Yosinski et al. 2014)",
                f"conv1 trained {_pm(acc['conv1/trained'])} vs init {_pm(acc['conv1/init'])} "
                f"({winner(s['trained_vs_init_conv1'], 'trained', 'init')}); conv2 trained "
                f"{_pm(acc['conv2/trained'])} vs init {_pm(acc['conv2/init'])} "
                f"({winner(s['trained_vs_init_conv2'], 'trained', 'init')})",
                s["trained_vs_init_conv1"]["better"] == "first"
                and s["trained_vs_init_conv2"]["better"] == "first"),
        finding("training changes the first layer less than the second (first layer general)",
                "first-layer features are general, the last layers specific (Yosinski et al. "
                "2014)",
                f"probe gain from training: conv1 {gaps['conv1']:+.3f}, conv2 "
                f"{gaps['conv2']:+.3f}; kernel change norm(W-W0)/norm(W0): conv1 "
                f"{_pm(change['conv1'])}, conv2 {_pm(change['conv2'])}",
                gaps["conv1"] < gaps["conv2"]),
    ]


def table(results: dict) -> str:
    """Markdown tables: probe accuracy per feature set and network, and orientation
    selectivity (mean +- std over seeds)."""
    p, o = results["probe"], results["orientation"]
    rows = ["| features | trained | random init |", "|---|---|---|",
            f"| pixels ({results['feature_dims']['pixels']}) | {_pm(p['pixels']['seeds'])} | "
            f"{_pm(p['pixels']['seeds'])} |"]
    for layer in ("conv1", "conv2"):
        rows.append(f"| {layer} ({results['feature_dims'][layer]}) | "
                    f"{_pm(p[f'{layer}/trained']['seeds'])} | "
                    f"{_pm(p[f'{layer}/init']['seeds'])} |")
    rows += ["", "| first-layer kernels | trained | random init |", "|---|---|---|"]
    for key, label in (("osi", "1 - circular variance"), ("osi_peak", "(max-min)/(max+min)")):
        rows.append(f"| {label} | {_pm(o['trained'][key])} | {_pm(o['init'][key])} |")
    return "\n".join(rows) + "\n"


# ---- config and run ----------------------------------------------------------------------

def _require(ok: bool, key: str, allowed: str, value) -> None:
    if not ok:
        raise ValueError(f"config.{key} must be {allowed}, got {value!r}")


def check_config(config: ml_collections.ConfigDict) -> None:
    d, c, g, p = config.dataset, config.cnn, config.gratings, config.probe
    _require(d.name in DATASETS, "dataset.name", f"one of {DATASETS}", d.name)
    _require(0.0 < float(d.test_fraction) < 1.0, "dataset.test_fraction", "in (0, 1)",
             d.test_fraction)
    _require(int(config.image_upsample) in UPSAMPLES, "image_upsample", f"one of {UPSAMPLES}",
             config.image_upsample)
    _require(int(config.seeds) >= 2, "seeds", ">= 2 (error bars over seeds)", config.seeds)
    for key in ("steps", "batch_size"):
        _require(int(c[key]) >= 1, f"cnn.{key}", ">= 1", c[key])
    _require(float(c.learning_rate) > 0, "cnn.learning_rate", "> 0", c.learning_rate)
    _require(int(g.orientations) >= 4, "gratings.orientations", ">= 4", g.orientations)
    _require(int(g.phases) >= 3, "gratings.phases", ">= 3 (phase-invariant amplitude)",
             g.phases)
    freqs = list(g.frequencies)
    _require(len(freqs) >= 1 and all(0 < f <= 0.5 for f in freqs), "gratings.frequencies",
             "one or more values in (0, 0.5] cycles per pixel", freqs)
    _require(float(p.C) > 0, "probe.C", "> 0", p.C)
    _require(int(p.max_iter) >= 1, "probe.max_iter", ">= 1", p.max_iter)
    _require(float(p.tol) >= 0, "probe.tol", ">= 0", p.tol)
    _require(int(config.example) >= 0, "example", ">= 0 (a test-set index)", config.example)


def network_accuracy(model: LeNet5, params, ds: gdm_data.Dataset) -> np.ndarray:
    """Test accuracy (nets,) of the networks themselves."""
    logits, _ = cnn_outputs(model, params, jnp.asarray(ds.x_test))
    return np.asarray(jnp.mean(jnp.argmax(logits, -1) == ds.y_test, axis=-1), np.float64)


def layer_features(model: LeNet5, nets: dict, ds: gdm_data.Dataset, example: int):
    """Probe feature sets (train, test) of the pixels and of conv1 / conv2 of every trained
    and initial network, and the feature maps of test digit `example` (trained seed 0)."""
    x = jnp.asarray(np.concatenate([ds.x_train, ds.x_test]))
    n_train = len(ds.y_train)
    feats = {"pixels": (ds.x_train.reshape(n_train, -1), ds.x_test.reshape(len(ds.y_test), -1))}
    maps = {}
    for name in NETWORKS:
        c1, c2, m1, m2 = (np.asarray(a) for a in conv_features(
            model, nets[name], x, jnp.int32(n_train + example)))
        feats[f"conv1/{name}"] = (c1[:, :n_train], c1[:, n_train:])
        feats[f"conv2/{name}"] = (c2[:, :n_train], c2[:, n_train:])
        maps[name] = {"conv1": m1[0], "conv2": m2[0]}
    maps["image"] = ds.x_test[example, ..., 0]
    return feats, maps


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    check_config(config)
    ds = load_images(config)
    example = int(config.example)
    _require(example < len(ds.y_test), "example", f"< {len(ds.y_test)} (test images)", example)
    seconds, t = {}, time.perf_counter()
    model, params, init = train(ds, config)
    jax.block_until_ready(params)
    seconds["train"], t = time.perf_counter() - t, time.perf_counter()
    nets = {"trained": params, "init": init}
    filters = {k: conv1_filters(v) for k, v in nets.items()}
    orientation = orientation_results(filters, config)
    seconds["orientation"], t = time.perf_counter() - t, time.perf_counter()
    feats, maps = layer_features(model, nets, ds, example)
    accuracy = probe(ds, feats, config)
    seconds["probe"] = time.perf_counter() - t
    results = {
        "dataset": config.dataset.name, "image_shape": list(ds.image_shape),
        "n_train": len(ds.y_train), "n_test": len(ds.y_test), "seeds": int(config.seeds),
        "network_test_accuracy": network_accuracy(model, params, ds).tolist(),
        "filters": {k: np.asarray(v, np.float64).tolist() for k, v in filters.items()},
        "feature_maps": {"image": maps["image"].tolist(), "label": int(ds.y_test[example]),
                         **{f"{layer}/{k}": np.asarray(maps[k][layer], np.float64).tolist()
                            for k in NETWORKS for layer in ("conv1", "conv2")}},
        "orientation": orientation,
        "probe": {k: {"accuracy": float(v.mean()), "std": float(v.std()), "seeds": v.tolist()}
                  for k, v in accuracy.items()},
        "feature_dims": {k: int(f[0].shape[-1]) for k, f in feats.items()
                         if "/" not in k or k.endswith("/trained")},
        "weight_change": relative_change(params, init),
        "summary": summarize(orientation, accuracy),
        "settings": {"cnn": config.cnn.to_dict(), "gratings": config.gratings.to_dict(),
                     "probe": config.probe.to_dict(),
                     "image_upsample": int(config.image_upsample)},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "anchor": ANCHOR,
    }
    results["feature_dims"] = {k.split("/")[0]: v for k, v in results["feature_dims"].items()}
    print(f"seconds {results['seconds']}", flush=True)
    write_figure_results(workdir, results, table(results), lambda d: cnn_feature_figures.
                         cnn_features_figure(results, d, "cnn_features"))
    return results
