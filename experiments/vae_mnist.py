"""VAE 784-500-20 (the Flax example's shape), Bernoulli likelihood, on binarized MNIST.

Research setting (default): tfds "mnist" thresholded at 0.5 (the data gan_mnist.py and
rbm_mnist.py use, so the Frechet distances of their samples compare), Adam 1e-3, batch 128,
30 epochs. Reported: eval/elbo (nats per example) with eval/reconstruction and eval/kl,
eval/log_likelihood (IWAE bound, k = task_options.iwae_samples), eval/frechet_distance of prior
samples. Published numbers to approach, on the stochastically binarized set of Larochelle
(--config.dataset.name=binarized_mnist --config.dataset.binarize=-1): -ELBO about 104 nats
after 10 epochs (Flax VAE example), and log-likelihood -86.76 with k = 5000 (Burda et al. 2016,
after 3,280 epochs of a 2-layer model). Thresholded MNIST is an easier set: expect higher
numbers there.

Offline, the MNIST benchmark split (8,000 / 2,000 split of MNIST's 10k test set,
read from the IDX directory $GDM_MNIST_DIR, binarized at 0.5):
`--config=experiments/vae_mnist.py:benchmark`, i.e. --config.dataset.name=mnist_idx
--config.dataset.data_dir=DIR with 3,000 steps (48 epochs; the test ELBO
peaks there and then overfits). Target: eval/elbo >= -97 nats within 60 s on 2 CPU cores.
Also --config.dataset.name=digits (8x8) runs offline.
"""

from gdm.train.config import base, mnist_benchmark


def get_config(arg=None):
    c = base(task="elbo", dataset="mnist", model="vae")
    c.dataset.flatten = True
    c.dataset.binarize = 0.5
    c.model.arch = "mlp"
    c.model.latent_size = 20
    c.model.hidden_sizes = (500,)
    c.model.likelihood = "bernoulli"
    c.task_options.iwae_samples = 1000
    c.task_options.iwae_chunk = 100
    c.task_options.iwae_batch_size = 250
    c.task_options.iwae_max_examples = 0
    c.task_options.figures = True
    c.task_options.frechet = True
    c.task_options.num_samples = 0
    c.task_options.frechet_cache_dir = ""
    # What the Frechet distance scores: 'auto' = Bernoulli draws x ~ p(x|z) (the model's own
    # samples, binary like the data); 'threshold' = means > 0.5 (gan_mnist's treatment of GAN
    # samples); 'mean' = gray decoder means. Benchmark split: 98.5 / 73.9 / 143.5 (floor 2.1).
    c.task_options.sample_kind = "auto"
    c.optimizer.learning_rate = 1e-3
    c.batch_size = 128
    c.num_train_steps = 14_000  # ~30 epochs of 60,000
    c.log_every_steps = 500
    c.eval_every_steps = 2000
    c.checkpoint_every_steps = 2000
    return mnist_benchmark(c, arg, "vae_mnist.py",
                           num_train_steps=3000, log_every_steps=250, eval_every_steps=1000,
                           checkpoint_every_steps=1000)
