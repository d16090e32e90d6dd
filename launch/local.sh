#!/usr/bin/env bash
# Run one experiment on this machine as N processes (default 1) that train as one job.
#   launch/local.sh [--num_processes=N] [--dry_run] CONFIG WORKDIR [--config.key=value ...]
# N > 1: the processes meet at a free 127.0.0.1 port (process 0 is the coordinator), each uses
# its own devices (on CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=K for K each),
# and each output line is prefixed with the process id ("[0] ..."). If any process fails, the
# others are stopped and the exit status is non-zero; Ctrl-C or SIGTERM stops them all (gdm
# saves a checkpoint on SIGTERM, so rerunning the same command resumes).
# DRY_RUN=1 (or --dry_run) prints the commands instead of running them.
set -euo pipefail
usage="usage: launch/local.sh [--num_processes=N] [--dry_run] CONFIG WORKDIR [overrides...]"
num_processes=1
dry_run=${DRY_RUN:-0}
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --num_processes=*) num_processes=${1#*=} ;;
    --dry_run) dry_run=1 ;;
    *) echo "launch/local.sh: unknown option $1; $usage" >&2; exit 2 ;;
  esac
  shift
done
[[ $num_processes =~ ^[1-9][0-9]*$ ]] || {
  echo "launch/local.sh: --num_processes must be a positive integer, got $num_processes" >&2
  exit 2
}
config=${1:?$usage}
workdir=${2:?$usage}
shift 2
python=${PYTHON:-python}

# Prints a command, shell-quoted (a dry run).
print_cmd() { printf '%q ' "$@" | sed 's/ $//'; echo; }

if [[ $num_processes -eq 1 ]]; then
  cmd=("$python" -m gdm.main --config="$config" --workdir="$workdir" "$@")
  if [[ $dry_run == 1 ]]; then print_cmd "${cmd[@]}"; exit 0; fi
  exec "${cmd[@]}"
fi

if [[ $dry_run == 1 ]]; then
  port=PORT
else
  # A port the OS reports free on 127.0.0.1 (bound and released; the coordinator rebinds it).
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
coordinator=127.0.0.1:$port

pids=()
killer=
# SIGTERM to every process group now (gdm checkpoints and exits), SIGKILL to what is left after
# a grace period: a process blocked in a collective with a dead peer never reaches its check.
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  if [[ -z $killer ]]; then
    ( sleep "${GDM_STOP_GRACE_S:-20}" & nap=$!
      trap 'kill "$nap" 2>/dev/null; wait "$nap"; exit 0' TERM
      wait "$nap"
      for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done ) &
    killer=$!
  fi
}
on_signal() {
  trap - INT TERM
  stop_all
  wait "${pids[@]}" 2>/dev/null || true
  kill "$killer" 2>/dev/null || true
  exit 143
}

for ((i = 0; i < num_processes; i++)); do
  cmd=("$python" -m gdm.main --config="$config" --workdir="$workdir"
       --coordinator_address="$coordinator" --num_processes="$num_processes" --process_id="$i"
       "$@")
  if [[ $dry_run == 1 ]]; then print_cmd "${cmd[@]}"; continue; fi
  # Each process leads its own process group (set -m) so stopping it stops its children too.
  # The subshell execs gdm, so $! is gdm itself and its exit status is the one waited for; a
  # sed that ignores SIGTERM prefixes every line of its stdout and stderr with its id, so the
  # lines a process prints while it checkpoints and exits still come out.
  set -m
  ( exec "${cmd[@]}" > >(trap '' TERM INT; exec sed -u "s/^/[$i] /") 2>&1 ) &
  set +m
  pids+=($!)
done
[[ $dry_run == 1 ]] && exit 0
trap on_signal INT TERM

status=0
running=("${pids[@]}")
while [[ ${#running[@]} -gt 0 ]]; do
  rc=0
  finished=
  wait -n -p finished "${running[@]}" || rc=$?
  [[ -n $finished ]] || break
  left=()
  for pid in "${running[@]}"; do [[ $pid == "$finished" ]] || left+=("$pid"); done
  running=("${left[@]}")
  if [[ $rc -ne 0 && $status -eq 0 ]]; then
    status=$rc
    echo "launch/local.sh: a process exited with status $rc; stopping the others" >&2
    stop_all
  fi
done
if [[ -n $killer ]]; then kill "$killer" 2>/dev/null || true; fi
exit "$status"
