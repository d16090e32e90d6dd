#!/usr/bin/env bash
# TPU pod slice: run the same command on every host of the slice; jax.distributed.initialize()
# detects the TPU topology (--distributed). WORKDIR must be shared storage (e.g. a gs:// bucket
# mounted, or a GCS path orbax can write).
#   launch/tpu_vm.sh my-tpu us-central2-b experiments/resnet_cifar10.py /mnt/runs/r20
set -euo pipefail
tpu=${1:?usage: launch/tpu_vm.sh TPU_NAME ZONE CONFIG WORKDIR [overrides...]}
zone=${2:?}
config=${3:?}
workdir=${4:?}
shift 4
gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command \
  "cd ~/gdm && pip install -q -e . 'jax[tpu]' && python -m gdm.main --distributed \
   --config=$config --workdir=$workdir $*"
