"""MLP autoencoder vs PCA: test reconstruction MSE for code sizes 2, 5, 10, 20, 30.

The claim: an autoencoder is a non-linear PCA, so with the same code size it should
reconstruct better. Runner gdm/runners/ae_vs_pca.py trains one autoencoder per code size through
the shared loop (sub-workdirs code_<K>, each resumable) and fits sklearn's PCA on the same
training split. Results: ae/mse@K and pca/mse@K (per pixel), ae/sse@K and pca/sse@K (per
image), figures/ae_vs_pca.png. Published reference: Hinton & Salakhutdinov (2006), 30-D code,
squared error per image 3.00 (deep autoencoder) vs 13.87 (PCA) on MNIST. Target: the AE below
PCA at every code size.

Research setting (default): tfds "mnist", 784-512-256-K autoencoder, 20 epochs per size.
Offline: `--config=experiments/ae_vs_pca.py:benchmark` (the 8,000 / 2,000 split of MNIST's 10k
test set, read from the IDX directory $GDM_MNIST_DIR, 2,000 steps per size), or
--config.dataset.name=mnist_idx --config.dataset.data_dir=DIR, or --config.dataset.name=digits.
"""

from gdm.train.config import base, mnist_benchmark


def get_config(arg=None):
    c = base(task="reconstruct", dataset="mnist", model="autoencoder")
    c.runner = "ae_vs_pca"
    c.code_sizes = (2, 5, 10, 20, 30)
    c.dataset.flatten = True
    c.model.arch = "mlp"
    c.model.hidden_sizes = (512, 256)
    c.model.output_activation = "sigmoid"
    c.task_options.loss = "mse"
    c.task_options.figures = False  # one curve for the sweep; ae_mnist.py draws the rest
    c.optimizer.learning_rate = 1e-3
    c.batch_size = 128
    c.num_train_steps = 9400  # ~20 epochs of 60,000
    c.log_every_steps = 500
    c.eval_every_steps = 9400
    c.checkpoint_every_steps = 2000
    return mnist_benchmark(c, arg, "ae_vs_pca.py",
                           num_train_steps=2000, eval_every_steps=2000,
                           checkpoint_every_steps=1000)
