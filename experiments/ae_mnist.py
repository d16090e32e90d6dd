"""Deep autoencoder on MNIST: Hinton & Salakhutdinov's (2006) 784-1000-500-250-30 shape.

Research setting (default): tfds "mnist" in [0, 1], ReLU layers and a sigmoid output trained
end to end with Adam 1e-3 on squared error (no RBM pretraining), batch 128, 20 epochs.
Reported: eval/mse (per pixel) and eval/sse (squared error per image). Published number to
approach: 3.00 squared error per image for the 30-D code vs 13.87 for 30-D PCA (Hinton &
Salakhutdinov 2006, Fig. 2, 60,000 training images); experiments/ae_vs_pca.py sweeps code sizes.
Figures: reconstructions, denoising and inpainting demos.

Denoising autoencoder (Vincent et al. 2008): --config.model.corruption=mask
--config.model.corruption_level=0.3 (or corruption=gaussian, level = noise std).
Convolutional: --config.model.arch=conv --config.dataset.flatten=False
--config.model.hidden_sizes="()".

Offline: --config.dataset.name=mnist_idx --config.dataset.data_dir=DIR, or
`--config=experiments/ae_mnist.py:benchmark` (that split, 3,000 steps); also
--config.dataset.name=digits.
"""

from gdm.train.config import base, mnist_benchmark


def get_config(arg=None):
    c = base(task="reconstruct", dataset="mnist", model="autoencoder")
    c.dataset.flatten = True
    c.model.arch = "mlp"
    c.model.code_size = 30
    c.model.hidden_sizes = (1000, 500, 250)
    c.model.conv_features = (32, 64)
    c.model.activation = "relu"
    c.model.output_activation = "sigmoid"
    c.model.corruption = "none"
    c.model.corruption_level = 0.0
    c.task_options.loss = "mse"
    c.task_options.figures = True
    c.optimizer.learning_rate = 1e-3
    c.batch_size = 128
    c.num_train_steps = 9400  # ~20 epochs of 60,000
    c.log_every_steps = 500
    c.eval_every_steps = 2000
    c.checkpoint_every_steps = 2000
    return mnist_benchmark(c, arg, "ae_mnist.py",
                           num_train_steps=3000, log_every_steps=250, eval_every_steps=1000,
                           checkpoint_every_steps=1000)
