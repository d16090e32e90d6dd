"""Bernoulli-Bernoulli RBM, 500 hidden units, persistent CD on binarized MNIST.

Research setting (default): tfds "mnist" binarized at 0.5, PCD-1 with 100 chains, SGD 0.05,
batch 100, 50 epochs. Published numbers to approach (Salakhutdinov & Murray 2008, Table 2, AIS
test log-likelihood of 500-hidden RBMs on binarized MNIST): CD-1 -125.5 nats, CD-3 -105.5,
CD-25 -86.3 (Tieleman 2008 reports PCD between CD-1 and CD-25). Reported: eval/log_likelihood
(AIS, end), eval/pseudo_likelihood and eval/reconstruction_error (every eval),
eval/frechet_distance of 2,000 Gibbs samples (vs eval/frechet_distance_floor for real data).

Offline, the MNIST benchmark split (8,000 / 2,000 split of MNIST's 10k test set,
read from the IDX directory $GDM_MNIST_DIR, binarized at 0.5):
`--config=experiments/rbm_mnist.py:benchmark`, i.e. --config.dataset.name=mnist_idx
--config.dataset.data_dir=DIR with 50 epochs (4,000 steps), AIS with 3,000
intermediate distributions and 200-sweep samples. The side-by-side comparison with
scikit-learn's BernoulliRBM is experiments/benchmarks/rbm.py. Also
--config.dataset.name=digits (8x8, thresholded at 0.5 after scaling to [0, 1]).
"""

from gdm.train.config import base, mnist_benchmark


def get_config(arg=None):
    c = base(task="cd", dataset="mnist", model="rbm")
    c.dataset.flatten = True
    c.dataset.binarize = 0.5
    c.model.num_hidden = 500
    c.task_options.cd_steps = 1
    c.task_options.persistent = True
    c.task_options.ais_chains = 100
    c.task_options.ais_steps = 10000
    c.task_options.sample_steps = 1000
    c.task_options.frechet = True
    c.task_options.frechet_cache_dir = ""
    c.optimizer.name = "sgd"
    c.optimizer.learning_rate = 0.05
    c.batch_size = 100
    c.num_train_steps = 30_000  # 50 epochs of 60,000
    c.log_every_steps = 500
    c.eval_every_steps = 5000
    c.checkpoint_every_steps = 5000
    return mnist_benchmark(c, arg, "rbm_mnist.py",
                           num_train_steps=4000, task_options__ais_steps=3000,
                           task_options__sample_steps=200, log_every_steps=250,
                           eval_every_steps=1000, checkpoint_every_steps=1000)
