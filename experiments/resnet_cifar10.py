"""ResNet-20 on CIFAR-10, He et al. 2016's recipe (for GPU/TPU).

SGD momentum 0.9, batch 128, lr 0.1 divided by 10 at 32k and 48k of 64k steps, weight decay
1e-4, per-pixel standardization. Expected: 91.25% test accuracy (8.75% error, He et al. Table 6).
The paper's random crop + flip augmentation is not applied here (expect ~1-2 points less).
`arg` picks the depth: --config=experiments/resnet_cifar10.py:56.
"""

from gdm.train.config import base


def get_config(arg=None):
    c = base(task="classify", dataset="cifar10", model="resnet_cifar")
    c.dataset.normalize = "standardize"
    c.model.depth = int(arg) if arg else 20
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.num_train_steps = 64000
    c.log_every_steps = 200
    c.eval_every_steps = 4000
    c.checkpoint_every_steps = 2000
    c.optimizer.name = "momentum"
    c.optimizer.learning_rate = 0.1
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 1e-4
    c.optimizer.schedule = "step"
    c.optimizer.decay_fractions = (0.5, 0.75)
    return c
