"""gdm.hmm vs hmmlearn, side by side in one process: forward-backward, Viterbi and EM.

Data: 100 sequences x 1,000 steps sampled (by hmmlearn, fixed seed) from a 6-state GaussianHMM
with 3 features, and from a 6-state CategoricalHMM over 8 symbols. Both libraries start from the
SAME parameters (init_params=""), so log-likelihoods must agree to rounding and Viterbi paths
must be identical; the table reports the largest relative log-likelihood difference and the
number of differing path entries. Cold = first call (JAX compiles), warm = best of repeats.

Both `implementation`s are compared like for like: "log" (the default of both libraries,
log-space recursions) and "scaling" (normalized probabilities).

Run: python -m experiments.benchmarks.hmm [--repeats 15] [--implementations log scaling]
     [--n_sequences 100 --name hmm]   (e.g. --n_sequences 1000 --name hmm_1000: larger data)
"""

from __future__ import annotations

import argparse
import copy
import sys
from functools import partial

import numpy as np

from experiments.benchmarks import common

N_SEQUENCES, N_STEPS, N_STATES, N_FEATURES, N_SYMBOLS = 100, 1000, 6, 3, 8


def _gaussian_pair(covariance_type: str, rng: np.random.Generator, implementation: str):
    from hmmlearn import hmm as peer

    from gdm import hmm as ours

    k, d = N_STATES, N_FEATURES
    start = rng.dirichlet(np.ones(k))
    trans = 0.7 * np.eye(k) + 0.3 * rng.dirichlet(np.ones(k), size=k)
    means = rng.normal(scale=2.0, size=(k, d))
    if covariance_type == "diag":
        covars = rng.uniform(0.5, 2.0, size=(k, d))
    else:
        factors = rng.normal(scale=0.5, size=(k, d, d))
        covars = factors @ np.swapaxes(factors, 1, 2) + 0.5 * np.eye(d)
    models = []
    for cls in (ours.GaussianHMM, peer.GaussianHMM):
        model = cls(k, covariance_type=covariance_type, init_params="", n_iter=1, tol=0.0,
                    implementation=implementation)
        model.startprob_, model.transmat_, model.means_ = start, trans, means
        model.covars_ = covars
        models.append(model)
    return models


def _categorical_pair(rng: np.random.Generator, implementation: str):
    from hmmlearn import hmm as peer

    from gdm import hmm as ours

    k = N_STATES
    start = rng.dirichlet(np.ones(k))
    trans = 0.7 * np.eye(k) + 0.3 * rng.dirichlet(np.ones(k), size=k)
    emission = rng.dirichlet(np.ones(N_SYMBOLS) * 0.5, size=k)
    models = []
    for cls in (ours.CategoricalHMM, peer.CategoricalHMM):
        model = cls(k, n_features=N_SYMBOLS, init_params="", n_iter=1, tol=0.0,
                    implementation=implementation)
        model.startprob_, model.transmat_, model.emissionprob_ = start, trans, emission
        models.append(model)
    return models


def _time(fn, repeats: int):
    """(result, cold seconds, warm seconds = best of `repeats` further calls, peak MB)."""
    with common.PeakMemory() as memory:
        result, cold = common.timed(fn)
        warm = min(common.timed(fn)[1] for _ in range(repeats))
    return result, cold, warm, memory.peak_mb


def _fit_copy(model, X, lengths):
    """Fits a fresh copy that starts from the benchmark parameters (one EM iteration)."""
    fresh = copy.deepcopy(model)
    return fresh.fit(X, lengths)


def run(repeats: int, implementations: list[str], n_sequences: int = N_SEQUENCES) -> list[dict]:
    cases = []
    for implementation in implementations:
        rng = np.random.default_rng(0)   # same models and data for both implementations
        cases += [("GaussianHMM diag", implementation,
                   _gaussian_pair("diag", rng, implementation)),
                  ("GaussianHMM full", implementation,
                   _gaussian_pair("full", rng, implementation)),
                  ("CategoricalHMM", implementation, _categorical_pair(rng, implementation))]
    lengths = np.full(n_sequences, N_STEPS)
    rows = []
    for name, implementation, (ours, peer) in cases:
        X, _ = peer.sample(n_sequences * N_STEPS, random_state=1)
        operations = [
            ("score", lambda m, X=X: m.score(X, lengths)),
            ("score_samples", lambda m, X=X: m.score_samples(X, lengths)),
            ("decode (Viterbi)", lambda m, X=X: m.decode(X, lengths)),
            ("fit (1 EM iteration)", lambda m, X=X: _fit_copy(m, X, lengths)),
        ]
        for op, fn in operations:
            ours_out, ours_cold, ours_warm, ours_mb = _time(partial(fn, ours), repeats)
            peer_out, peer_cold, peer_warm, peer_mb = _time(partial(fn, peer), repeats)
            row = {"model": name, "implementation": implementation, "operation": op,
                   "ours_cold_s": ours_cold, "ours_warm_s": ours_warm,
                   "hmmlearn_s": peer_warm, "ratio_warm": ours_warm / peer_warm,
                   "speedup_warm": peer_warm / ours_warm, "ratio_cold": ours_cold / peer_cold,
                   "ours_peak_mb": ours_mb, "hmmlearn_peak_mb": peer_mb}
            row.update(_agreement(op, ours_out, peer_out))
            rows.append(row)
            print(f"{name:18s} {implementation:8s} {op:22s} ours {ours_warm * 1e3:8.2f} ms "
                  f"(cold {ours_cold:6.2f} s)  hmmlearn {peer_warm * 1e3:8.2f} ms  "
                  f"x{peer_warm / ours_warm:5.1f}  {row['agreement']}", file=sys.stderr)
    return rows


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def _agreement(op: str, ours, peer) -> dict:
    if op == "score":
        rel = _relative(ours, peer)
        return {"max_rel_loglik_diff": rel, "agreement": f"loglik rel diff {rel:.1e}"}
    if op == "score_samples":
        rel = _relative(ours[0], peer[0])
        post = float(np.abs(ours[1] - peer[1]).max())
        return {"max_rel_loglik_diff": rel, "max_posterior_diff": post,
                "agreement": f"loglik rel diff {rel:.1e}, posteriors max diff {post:.1e}"}
    if op.startswith("decode"):
        rel = _relative(ours[0], peer[0])
        mismatches = int(np.sum(ours[1] != peer[1]))
        return {"max_rel_loglik_diff": rel, "path_mismatches": mismatches,
                "agreement": f"path log-prob rel diff {rel:.1e}, {mismatches} path mismatches"}
    names = [n for n in ("startprob_", "transmat_", "means_", "covars_", "emissionprob_")
             if hasattr(peer, n)]
    diff = max(float(np.abs(np.asarray(getattr(ours, n)) - getattr(peer, n)).max())
               for n in names)
    rel = _relative(ours.monitor_.history[-1], peer.monitor_.history[-1])
    return {"max_rel_loglik_diff": rel, "max_param_diff": diff,
            "agreement": f"loglik rel diff {rel:.1e}, updated params max diff {diff:.1e}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="warm repeats (best is kept)")
    parser.add_argument("--implementations", nargs="+", default=["log", "scaling"],
                        help="forward-backward implementations, each run by both libraries")
    parser.add_argument("--n_sequences", type=int, default=N_SEQUENCES,
                        help=f"sequences of {N_STEPS} steps")
    parser.add_argument("--name", default="hmm", help="results file name")
    args = parser.parse_args(argv)
    rows = run(args.repeats, args.implementations, args.n_sequences)
    columns = ["model", "implementation", "operation", "ours_cold_s", "ours_warm_s",
               "hmmlearn_s", "ratio_warm", "speedup_warm", "ours_peak_mb", "hmmlearn_peak_mb",
               "agreement"]
    extra = {"data": f"{args.n_sequences} sequences x {N_STEPS} steps, {N_STATES} states, "
                     f"{N_FEATURES} features (Gaussian) / {N_SYMBOLS} symbols (categorical)",
             "ratio": "ours / hmmlearn (warm); speedup = hmmlearn / ours"}
    print(common.write_report(args.name, rows, columns, extra=extra))


if __name__ == "__main__":
    main()
