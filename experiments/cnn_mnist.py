"""LeNet-5 on MNIST (28x28x1), tfds 'mnist' by default.

Expected: ~99.0-99.2% test accuracy after ~10 epochs (LeCun et al. 1998 report 0.95% error for
LeNet-5). Offline: --config.dataset.name=mnist_idx --config.dataset.data_dir=DIR
(8,000 / 2,000 split of the 10k test set: expect ~97.5-98%).
"""

from gdm.train.config import base


def get_config(arg=None):
    c = base(task="classify", dataset="mnist", model="lenet5")
    c.batch_size = 128
    c.num_train_steps = 5000  # ~10.7 epochs of the 60k training set
    c.log_every_steps = 100
    c.eval_every_steps = 1000
    c.checkpoint_every_steps = 1000
    c.optimizer.learning_rate = 1e-3
    c.optimizer.schedule = "cosine"
    return c
