"""Runs one experiment: python -m gdm.main --config=experiments/<name>.py --workdir=DIR.

Overrides: --config.<key>=<value>. A bad config fails at start with one message naming the key.
"""

from __future__ import annotations

import os
import sys

from absl import flags, logging
from ml_collections import config_flags

from gdm.config import load_config
from gdm.runners import run_experiment

config_flags.DEFINE_config_file("config", None, "Experiment config file (get_config).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for metrics, checkpoints, results, figures.")
flags.DEFINE_bool("distributed", False,
                  "Call jax.distributed.initialize(): multi-process. Without the three flags "
                  "below it auto-detects SLURM, Open MPI or a TPU pod.")
flags.DEFINE_string("coordinator_address", None,
                    "host:port of process 0's coordinator (implies --distributed).")
flags.DEFINE_integer("num_processes", None, "Number of processes (implies --distributed).")
flags.DEFINE_integer("process_id", None, "This process's index in [0, num_processes).")
flags.mark_flags_as_required(["config", "workdir"])
FLAGS = flags.FLAGS

EXIT_PREEMPTED = 143  # 128 + SIGTERM, as schedulers expect from a preempted job


def main(argv: list[str]) -> None:
    del argv
    if not FLAGS["verbosity"].present:  # orbax/tfds INFO lines would bury the progress line
        logging.set_verbosity(logging.WARNING)
    from gdm.train.loop import NonFiniteLossError, PreemptedError

    explicit = (FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    if FLAGS.distributed or any(v is not None for v in explicit):
        from gdm.train.parallel import initialize_distributed

        try:
            initialize_distributed(*explicit)
        except ValueError as e:
            sys.exit(f"gdm: error: {e}")
    workdir = os.path.expanduser(FLAGS.workdir)
    try:
        os.makedirs(workdir, exist_ok=True)
        run_experiment(FLAGS.config, workdir)
    except ValueError as e:
        sys.exit(f"gdm: error: {e}")
    except NonFiniteLossError as e:
        sys.exit(f"gdm: error: {e}")
    except PreemptedError as e:
        print(f"gdm: {e}", file=sys.stderr)
        sys.exit(EXIT_PREEMPTED)


def _unknown_override(argv: list[str]) -> str | None:
    """The first --config.<key> override whose key the config file does not have."""
    path = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    if path is None:
        return None
    config = load_config(path)
    for arg in argv:
        if arg.startswith("--config.") and "=" in arg:
            node, key = config, arg[len("--config."):].split("=", 1)[0]
            for part in key.split("."):
                if not hasattr(node, "keys") or part not in node:
                    return f"config.{key}"
                node = node[part]
    return None


def entry() -> None:
    """Parses flags first so an unknown key or a bad value is one line, not a traceback."""
    try:
        FLAGS(sys.argv)
    except flags.Error as e:
        sys.exit(f"gdm: error: {e}")
    except (AttributeError, KeyError) as e:
        key = _unknown_override(sys.argv)
        sys.exit(f"gdm: error: unknown config key {key or e}; see the config file for the keys")
    main(sys.argv)


if __name__ == "__main__":
    entry()
