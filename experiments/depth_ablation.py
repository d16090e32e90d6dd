"""Depth ablation: MLP test accuracy on digits as hidden layers go 1 -> 8 (sweep runner).

`arg` chooses the study: default MLP depth on digits (CPU, ~1 minute); `resnet` sweeps the
CIFAR ResNet depth 20/32/44/56 on CIFAR-10 (GPU; He et al. 2016 Table 6: 8.75, 7.51, 7.17,
6.97% error). Expected on digits: accuracy flat around 98-99% from 1 to 4 layers, slightly lower
at 8 with this fixed budget of steps (depth without normalization trains slower).

One job per depth: `--config.point=K` trains grid point K (0-based) only, and
`--config.collect=True` then writes the sweep's table and figure from the points
(launch/slurm_array.sbatch).
"""

import ml_collections


def get_config(arg=None):
    c = ml_collections.ConfigDict()
    c.runner = "sweep"
    c.seed = 0
    c.metric = "eval/accuracy"
    c.point = -1  # -1: every grid point in this process
    c.collect = False
    if arg == "resnet":
        c.experiment = "experiments/resnet_cifar10.py"
        c.key = "model.depth"
        c.grid = "20,32,44,56"
    else:
        c.experiment = "experiments/mlp_digits.py"
        c.key = "model.depth"
        c.grid = "1,2,4,8"
    return c
