"""Multinomial logistic regression on scikit-learn's 8x8 digits, trained by the shared loop.

Expected: >= 95% test accuracy (typically ~97%) in a few seconds on 2 CPU cores.
"""

from gdm.train.config import base


def get_config(arg=None):
    c = base(task="classify", dataset="digits", model="logistic_regression")
    c.dataset.flatten = True
    c.batch_size = 64
    c.num_train_steps = 1500
    c.log_every_steps = 250
    c.optimizer.learning_rate = 0.01
    c.optimizer.weight_decay = 1e-4
    return c
