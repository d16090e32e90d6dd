"""MLP (2 x 256, ReLU, dropout 0.1) on scikit-learn's 8x8 digits.

Expected: ~97-98% test accuracy in a few seconds on 2 CPU cores.
"""

from gdm.train.config import base


def get_config(arg=None):
    c = base(task="classify", dataset="digits", model="mlp")
    c.dataset.flatten = True
    c.model.depth = 2
    c.model.width = 256
    c.model.activation = "relu"
    c.model.dropout = 0.1
    c.batch_size = 64
    c.num_train_steps = 1500
    c.log_every_steps = 250
    c.eval_every_steps = 500
    c.checkpoint_every_steps = 500
    return c
