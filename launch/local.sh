#!/usr/bin/env bash
# Run one experiment on this machine (all local GPUs/TPU cores or the CPU).
#   launch/local.sh experiments/cnn_mnist.py runs/cnn_mnist [--config.key=value ...]
set -euo pipefail
config=${1:?usage: launch/local.sh CONFIG WORKDIR [overrides...]}
workdir=${2:?usage: launch/local.sh CONFIG WORKDIR [overrides...]}
shift 2
exec python -m gdm.main --config="$config" --workdir="$workdir" "$@"
