"""Flax linen modules by name. Every module takes `train` in __call__ and holds no training logic.

`create(name, kwargs, num_outputs=..., input_shape=...)` fills the dataset-dependent fields a
module declares (`num_outputs` for predictors, `output_shape` for decoders/generators) so configs
only state architecture.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import flax.linen as nn

MODELS = {
    "linear_regression": "gdm.nn.linear:LinearRegression",
    "logistic_regression": "gdm.nn.linear:LogisticRegression",
    "mlp": "gdm.nn.mlp:MLP",
    "lenet5": "gdm.nn.cnn:LeNet5",
    "alexnet": "gdm.nn.cnn:AlexNetSmall",
    "vgg11": "gdm.nn.cnn:VGG11",
    "vgg16": "gdm.nn.cnn:VGG16",
    "resnet_cifar": "gdm.nn.resnet:CifarResNet",
    "resnet18": "gdm.nn.resnet:ResNet18",
    "resnet50": "gdm.nn.resnet:ResNet50",
    "autoencoder": "gdm.nn.autoencoder:Autoencoder",
    "vae": "gdm.nn.vae:VAE",
    "gan": "gdm.nn.gan:GAN",
    "rbm": "gdm.nn.rbm:RBM",
}


def get_model_class(name: str) -> type[nn.Module]:
    if name not in MODELS:
        raise ValueError(f"config.model.name must be one of {sorted(MODELS)}, got {name!r}")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, kwargs: dict[str, Any] | None = None, *, num_outputs: int | None = None,
           input_shape: tuple[int, ...] | None = None) -> nn.Module:
    """Builds model `name` from config kwargs, filling dataset-dependent fields it declares."""
    cls = get_model_class(name)
    kwargs = dict(kwargs or {})
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - fields)
    if unknown:
        allowed = sorted(fields - {"parent", "name"})
        raise ValueError(f"config.model.{unknown[0]} is not a field of {name!r}; "
                         f"allowed: {allowed}")
    if "num_outputs" in fields and kwargs.get("num_outputs") is None and num_outputs is not None:
        kwargs["num_outputs"] = num_outputs
    if "output_shape" in fields and kwargs.get("output_shape") is None and input_shape:
        kwargs["output_shape"] = tuple(input_shape)
    return cls(**kwargs)
