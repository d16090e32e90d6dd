"""Plain CNNs vs ResNets of growing depth (He et al. 2016): the networks, the vmapped trainer,
the findings and the tiny run."""

from __future__ import annotations

import functools
import json
import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdm.nn.resnet import BasicBlock, CifarResNet
from gdm.runners import depth_ablation as da
from tests.helpers_train import experiment_config, run_tiny

tiny_config = functools.partial(experiment_config, "depth_ablation")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_tiny(da, "depth_ablation", tmp_path_factory)


def test_tiny_run_writes_the_schema_figure_and_findings(tiny_run):
    results, workdir = tiny_run
    saved = json.loads((workdir / "results.json").read_text())
    config = tiny_config()
    assert saved["depth"] == list(config.depths)
    for form in da.FORMS:
        for metric in ("train_error", "test_error"):
            per_seed = np.asarray(saved["per_seed"][f"{form}/{metric}"])
            assert per_seed.shape == (len(config.depths), config.seeds)
            np.testing.assert_allclose(saved[f"{form}/{metric}"], per_seed.mean(1))
            np.testing.assert_allclose(saved[f"{form}/{metric}_std"], per_seed.std(1))
    # Even at the tiny budget every network learns: far below the 0.9 error of chance.
    assert max(saved["plain/test_error"] + saved["resnet/test_error"]) < 0.6
    # He et al.'s degradation already shows at 60 steps: the deeper plain net fits worse.
    assert saved["plain/train_error"][1] > saved["plain/train_error"][0] + 0.02
    assert saved["anchor"]["resnet_test_error_percent"][0] == 8.75
    assert [f["holds"] for f in saved["findings"]] == [f["holds"] for f in da.findings(saved)]
    assert (workdir / "figures" / "depth_ablation.png").stat().st_size > 10_000
    assert (workdir / "figures" / "depth_ablation.pdf").exists()
    assert "| depth | plain train |" in (workdir / "results.md").read_text()


def test_residual_block_is_the_identity_at_initialization():
    """With the last batch norm's scale at zero the residual branch adds nothing, so a block on
    non-negative input returns it unchanged; the plain block, the same layers without the
    shortcut, does not."""
    x = jax.nn.relu(jax.random.normal(jax.random.key(0), (4, 6, 6, 8)))
    residual, plain = BasicBlock(8), BasicBlock(8, residual=False)
    v_res = residual.init(jax.random.key(1), x, train=False)
    v_plain = plain.init(jax.random.key(1), x, train=False)
    np.testing.assert_allclose(residual.apply(v_res, x, train=False), x, atol=1e-6)
    assert float(jnp.abs(plain.apply(v_plain, x, train=False) - x).mean()) > 0.1
    sizes = [jax.tree.map(jnp.size, v["params"]) for v in (v_res, v_plain)]
    assert sizes[0] == sizes[1]  # same layers, same parameters


def test_vmapped_training_matches_each_network_trained_alone():
    config = tiny_config()
    x, y, _, _ = (jnp.asarray(a) for a in da.splits(config))
    model = CifarResNet(depth=8, width=4, residual=True)
    keys = jax.random.split(jax.random.key(3), 2)
    train = functools.partial(da.train_networks, model, learning_rate=jnp.float32(0.05),
                              weight_decay=jnp.float32(5e-4), steps=15, batch=16)
    both = train(x, y, keys)
    for i in range(2):
        alone = train(x[i:i + 1], y[i:i + 1], keys[i:i + 1])
        got, want = (jax.tree.leaves(jax.tree.map(operator.itemgetter(i), both)),
                     jax.tree.leaves(jax.tree.map(lambda a: a[0], alone)))
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    errors = da.errors(model, both, x, y)
    for i in range(2):
        v = jax.tree.map(operator.itemgetter(i), both)
        predicted = np.argmax(model.apply(v, x[i], train=False), -1)
        assert float(errors[i]) == pytest.approx(np.mean(predicted != np.asarray(y[i])))


def _results(plain_train, plain_test, resnet_test):
    """Constructed per-seed results at two depths, (depth, seed) lists per form and metric."""
    per_seed = {"plain/train_error": plain_train, "plain/test_error": plain_test,
                "resnet/train_error": [[0.0, 0.0, 0.0]] * 2, "resnet/test_error": resnet_test}
    out = {"depth": [8, 20], "per_seed": per_seed}
    for key, values in per_seed.items():
        out[key] = np.mean(values, 1).tolist()
    return out


def test_findings_hold_on_he_et_al_curves_and_differ_on_flat_ones():
    he = _results(plain_train=[[0.00, 0.01, 0.00], [0.05, 0.06, 0.07]],
                  plain_test=[[0.02, 0.03, 0.02], [0.08, 0.09, 0.10]],
                  resnet_test=[[0.03, 0.02, 0.03], [0.02, 0.02, 0.01]])
    assert [f["holds"] for f in da.findings(he)] == [True, True, True, True]
    flat = _results(plain_train=[[0.00, 0.01, 0.00], [0.00, 0.01, 0.00]],
                    plain_test=[[0.02, 0.03, 0.02], [0.02, 0.02, 0.03]],
                    resnet_test=[[0.01, 0.01, 0.02], [0.05, 0.06, 0.05]])
    assert [f["holds"] for f in da.findings(flat)] == [False, False, False, False]
    assert "plain-20" in da.findings(he)[0]["measured"]


@pytest.mark.parametrize("key,value", [("depths", (8, 10)), ("depths", ()), ("seeds", 0),
                                       ("steps", 0), ("test_fraction", 1.0)])
def test_bad_config_values_name_the_key(key, value):
    with pytest.raises(ValueError, match=f"config.{key}"):
        da.run(tiny_config(**{key: value}), "/tmp/unused")


def test_config_args():
    assert tiny_config(arg=None).runner == "depth_ablation"
    assert tiny_config(arg="mlp").runner == "sweep"
    assert tiny_config(arg="resnet").experiment == "experiments/resnet_cifar10.py"
    with pytest.raises(ValueError, match="'tiny', 'mlp', 'resnet'"):
        tiny_config(arg="deep")
