"""Linear regression on scikit-learn's diabetes set (standardized features), by minibatch SGD.

Expected: test R^2 ~0.45-0.5, the closed-form least-squares fit's value on this split
(compare sklearn.linear_model.LinearRegression; the test suite does).
"""

from gdm.train.config import base


def get_config(arg=None):
    c = base(task="regress", dataset="diabetes", model="linear_regression")
    c.batch_size = 64
    c.num_train_steps = 3000
    c.log_every_steps = 500
    c.eval_every_steps = 1000
    c.checkpoint_every_steps = 1000
    c.optimizer.name = "sgd"  # a quadratic: plain gradient descent converges to the LS fit
    c.optimizer.learning_rate = 0.1
    return c
