#!/usr/bin/env bash
# A TPU pod slice: the same command on every host of the slice (one process per host, all its
# TPU chips in the mesh); jax.distributed.initialize() detects the TPU topology (--distributed).
# Each host needs the checkout at $GDM_DIR (default ~/gdm) with gdm and jax[tpu] installed, e.g.
#   gcloud compute tpus tpu-vm ssh TPU --zone=ZONE --worker=all \
#     --command="cd ~/gdm && pip install -e . 'jax[tpu]'"
# WORKDIR must be storage every host sees (a mounted bucket or NFS). If a host is preempted the
# command fails; rerunning it resumes from WORKDIR's latest checkpoint.
#   launch/tpu_vm.sh [--dry_run] TPU_NAME ZONE CONFIG WORKDIR [--config.key=value ...]
#   DRY_RUN=1 launch/tpu_vm.sh ...   (or --dry_run): print the gcloud command only
# PROJECT sets gcloud's --project; PYTHON the interpreter on the hosts (default python3).
set -euo pipefail
usage="usage: launch/tpu_vm.sh [--dry_run] TPU_NAME ZONE CONFIG WORKDIR [overrides...]"
dry_run=${DRY_RUN:-0}
if [[ ${1:-} == --dry_run ]]; then dry_run=1; shift; fi
tpu=${1:?$usage}
zone=${2:?$usage}
config=${3:?$usage}
workdir=${4:?$usage}
shift 4
gdm_dir=${GDM_DIR:-"~/gdm"}  # expanded on the hosts
python=${PYTHON:-python3}

# The remote command line, each argument shell-quoted for the hosts' shell.
remote="cd $gdm_dir && $(printf '%q ' "$python" -m gdm.main --distributed --config="$config" \
  --workdir="$workdir" "$@" | sed 's/ $//')"
cmd=(gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all)
if [[ -n ${PROJECT:-} ]]; then cmd+=(--project="$PROJECT"); fi
if [[ $dry_run == 1 ]]; then
  # Shell-quoted, the remote command in single quotes so that it reads as it runs there.
  printf '%q ' "${cmd[@]}"
  printf -- "--command='%s'\n" "${remote//\'/\'\\\'\'}"
  exit 0
fi
exec "${cmd[@]}" --command="$remote"
