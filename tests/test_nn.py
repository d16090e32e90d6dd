"""gdm.nn classifiers: output shapes, and the accuracy their experiment configs promise."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdm import data
from gdm import nn as gnn
from gdm.nn.mlp import ACTIVATION_NAMES
from gdm.train.loop import train_and_evaluate


def _init_apply(model, shape, train=False):
    """Output of init + apply, traced abstractly (shapes only: no convolution is computed)."""

    def run(x):
        variables = model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x)
        out = model.apply(variables, x, train=train, rngs={"dropout": jax.random.key(2)},
                          mutable=["batch_stats"] if train else False)
        return out[0] if train else out

    return jax.eval_shape(run, jax.ShapeDtypeStruct(shape, jnp.float32))


@pytest.mark.parametrize("name,shape,kwargs,outputs", [
    ("linear_regression", (3, 10), {}, 1),
    ("logistic_regression", (3, 8, 8, 1), {}, 2),
    ("logistic_regression", (3, 64), {}, 10),
    ("mlp", (3, 64), {"depth": 3, "width": 16, "batch_norm": True, "dropout": 0.2}, 10),
    ("lenet5", (3, 8, 8, 1), {}, 10),
    ("lenet5", (3, 28, 28, 1), {}, 10),
    ("alexnet", (3, 32, 32, 3), {"width": 4}, 10),
    ("vgg11", (3, 8, 8, 1), {"width_multiplier": 0.125}, 10),
    ("vgg16", (3, 32, 32, 3), {"width_multiplier": 0.125}, 100),
    ("resnet_cifar", (3, 32, 32, 3), {"depth": 20, "width": 4}, 10),
    ("resnet18", (2, 64, 64, 3), {"width": 4}, 7),
    ("resnet50", (2, 64, 64, 3), {"width": 4}, 7),
])
def test_output_shapes(name, shape, kwargs, outputs):
    model = gnn.create(name, kwargs, num_outputs=outputs)
    for train in (False, True):
        assert _init_apply(model, shape, train).shape == (shape[0], outputs)


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_mlp_activations(act):
    assert _init_apply(gnn.create("mlp", {"activation": act, "width": 8}, num_outputs=3),
                       (2, 5)).shape == (2, 3)


def test_binary_logistic_is_one_sigmoid():
    """Two-class logits (0, z): softmax cross-entropy is then exactly binary cross-entropy."""
    model = gnn.create("logistic_regression", num_outputs=2)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 4)), jnp.float32)
    variables = model.init(jax.random.key(0), x)
    logits = model.apply(variables, x)
    w, b = variables["params"]["Dense_0"]["kernel"], variables["params"]["Dense_0"]["bias"]
    np.testing.assert_allclose(jax.nn.softmax(logits)[:, 1], jax.nn.sigmoid(x @ w + b)[:, 0],
                               rtol=1e-5)


def test_resnet_depth_must_be_6n_plus_2():
    with pytest.raises(ValueError, match="6n\\+2"):
        _init_apply(gnn.create("resnet_cifar", {"depth": 21}, num_outputs=10), (1, 8, 8, 1))


def test_resnet20_has_the_papers_parameter_count():
    model = gnn.create("resnet_cifar", {"depth": 20}, num_outputs=10)
    variables = jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, 32, 32, 3)))
    n = sum(p.size for p in jax.tree.leaves(variables["params"]))
    assert 0.26e6 < n < 0.28e6  # He et al. 2016, Table 6: 0.27M


def test_unknown_model_and_field():
    with pytest.raises(ValueError, match="config.model.name"):
        gnn.create("transformer")
    with pytest.raises(ValueError, match="config.model.widht"):
        gnn.create("mlp", {"widht": 3})


def _experiment(name):
    return importlib.import_module(f"experiments.{name}").get_config()


@pytest.mark.parametrize("name,minimum", [("logreg_digits", 0.95), ("cnn_digits", 0.97)])
def test_digits_accuracy_promised_by_the_config(name, minimum, tmp_path):
    results = train_and_evaluate(_experiment(name), str(tmp_path), quiet=True)
    assert results["eval/accuracy"] >= minimum


def test_linear_regression_reaches_the_least_squares_fit(tmp_path):
    from sklearn.linear_model import LinearRegression

    results = train_and_evaluate(_experiment("linreg_diabetes"), str(tmp_path), quiet=True)
    ds = data.load("diabetes")
    peer = LinearRegression().fit(ds.x_train, ds.y_train).score(ds.x_test, ds.y_test)
    assert abs(results["eval/r2"] - peer) < 0.01
