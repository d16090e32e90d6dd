"""LeNet-5 on scikit-learn's 8x8 digits (NHWC 8x8x1).

Expected: >= 97% test accuracy (typically ~98.5%) in under 2 minutes on 2 CPU cores.
`experiments/cnn_digits.py:small` is a 60-step run (logs every 10 steps, evaluates at 30 and 60,
checkpoints every 10) for checking multi-process and multi-device launches in seconds.
"""

from gdm.train.config import base


def get_config(arg=None):
    c = base(task="classify", dataset="digits", model="lenet5")
    c.batch_size = 64
    c.num_train_steps = 1500
    c.log_every_steps = 250
    c.eval_every_steps = 500
    c.checkpoint_every_steps = 500
    c.optimizer.learning_rate = 3e-3
    c.optimizer.schedule = "cosine"
    if arg == "small":
        c.num_train_steps = 60
        c.log_every_steps = 10
        c.eval_every_steps = 30
        c.checkpoint_every_steps = 10
        c.eval_batch_size = 128
    elif arg:
        raise ValueError(f"experiments/cnn_digits.py takes no argument or 'small', got {arg!r}")
    return c
