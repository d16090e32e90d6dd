"""SVM vs random forest vs k-NN vs logistic regression vs naive Bayes vs MLP vs CNN, one table.

Default: the 8x8 digits (offline). On the MNIST benchmark split:
  --config.dataset.name=mnist_idx --config.dataset.data_dir=DIR
Expected on that split (8,000 train): RBF SVM ~96.9%, forest ~95%, k-NN ~95%, logistic
regression ~90-91%, Gaussian NB ~55-60%, MLP ~96-97%, LeNet-5 ~97-98%.
"""

import ml_collections


def get_config(arg=None):
    c = ml_collections.ConfigDict()
    c.runner = "classifier_table"
    c.seed = 0
    c.dataset = ml_collections.ConfigDict(dict(name="digits", data_dir=""))
    c.neural_steps = 1500
    return c
