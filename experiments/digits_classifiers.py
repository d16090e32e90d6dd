"""The default experiment: logistic regression, MLP and LeNet-5 on the 8x8 digits, one table.

Expected: logistic regression ~97%, MLP ~98-99%, CNN >= 97% (~98.5%), about a minute in all on
2 CPU cores.
"""

import ml_collections


def get_config(arg=None):
    c = ml_collections.ConfigDict()
    c.runner = "compare"
    c.seed = 0
    c.experiments = ",".join(f"experiments/{name}.py"
                             for name in ("logreg_digits", "mlp_digits", "cnn_digits"))
    c.metric = "eval/accuracy"
    return c
