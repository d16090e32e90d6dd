"""HMM internals: packing sequences into blocks, chunking over threads, the call plan and the
emission kernels, each checked against a direct computation or against hmmlearn."""

from __future__ import annotations

import copy
import itertools

import jax
import numpy as np
import pytest
from hmmlearn import hmm as peer

from gdm import hmm
from tests.test_hmm import (
    LENGTHS,
    K,
    _categorical_pair,
    _pair,
    _with_parameters,
)


@pytest.fixture(scope="module")
def gaussian_data():
    _, theirs = _pair("full", seed=1)
    X, _ = theirs.sample(int(LENGTHS.sum()), random_state=2)
    return X


@pytest.mark.parametrize("n_symbols", [5, 30])
def test_categorical_score_frames_in_the_loop_equal_the_frames_block(n_symbols):
    """Categorical score() computes each step's scaled frames from its symbols inside the time
    loop (no (T, K, N) block); score_samples() scales a block first: the same
    log-likelihoods per sequence, padding sequences 0, and both equal hmmlearn's (selected
    frames up to SELECT_MAX_SYMBOLS symbols, gathered above)."""
    from gdm.hmm import _compiled as compiled
    ours, theirs = _categorical_pair(n_symbols)
    X, _ = theirs.sample(int(LENGTHS.sum()), random_state=4)
    (start, trans, emission), (block, padded), _, plan = ours._prepare(X, LENGTHS, "score")
    assert plan.kernel.frames_in_loop
    with jax.enable_x64(True):
        per_sequence = [np.asarray(compiled._score_chunk(
            plan.kernel, start, trans, emission, block[0], padded[0], posteriors,
            "scaling")[0]) for posteriors in (False, True)]
    np.testing.assert_allclose(per_sequence[0], per_sequence[1], rtol=1e-13)
    assert np.all(per_sequence[0][len(LENGTHS):] == 0)
    np.testing.assert_allclose(ours.score(X, LENGTHS), theirs.score(X, LENGTHS), rtol=1e-10)


@pytest.mark.parametrize("n_symbols", [1, 2, 3, 8, 9, 16, 17, 40])
def test_symbol_frames_equal_a_gather_of_the_table(n_symbols):
    """Up to SELECT_MAX_SYMBOLS the frames come from a tree of selects over the symbol's bits
    (odd counts pad the tree with the last column), above it from a gather: both must be
    exactly table[:, symbols] for every count, in the narrow dtype the plan packs symbols in."""
    import jax.numpy as jnp

    from gdm.hmm._emissions import _select_symbols
    from gdm.hmm._plan import symbol_dtype
    rng = np.random.default_rng(n_symbols)
    table = np.log(rng.dirichlet(np.ones(n_symbols), size=3))            # (K, S)
    symbols = rng.integers(0, n_symbols, size=(4, 7)).astype(symbol_dtype(n_symbols))
    symbols[0, 0], symbols[0, 1] = n_symbols - 1, 0                   # both ends of the table
    for by_selects in (True, False):
        with jax.enable_x64(True):
            frames = np.asarray(_select_symbols(jnp.asarray(table), jnp.asarray(symbols),
                                                by_selects))
        np.testing.assert_array_equal(frames, np.moveaxis(table[:, symbols], 0, -2))


def test_symbols_are_packed_in_the_narrowest_integer_type():
    from gdm.hmm._plan import symbol_dtype
    assert [symbol_dtype(n) for n in (1, 128, 129, 32768, 32769, 2**31 + 1)] == [
        np.int8, np.int8, np.int16, np.int16, np.int32, np.int64]
    ours, theirs = _categorical_pair(n_symbols=300)                   # int16 symbols
    X, _ = theirs.sample(int(LENGTHS.sum()), random_state=7)
    assert X.max() > 127
    np.testing.assert_allclose(ours.score(X, LENGTHS), theirs.score(X, LENGTHS), rtol=1e-10)
    log_prob, path = ours.decode(X, LENGTHS)
    ref_log_prob, ref_path = theirs.decode(X, LENGTHS)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-12)
    np.testing.assert_array_equal(path, ref_path)


@pytest.mark.parametrize("implementation", ["log", "scaling"])
def test_chunked_sequences_give_the_same_results(implementation, gaussian_data):
    """A tiny chunk_memory_mb processes the sequences one at a time (a compiled call each);
    every output, and one EM step's parameters, must equal the single-chunk run and
    hmmlearn's."""
    from gdm.hmm._plan import padded_shape

    assert padded_shape(LENGTHS, K, 1e-3)[:2] == (len(LENGTHS), 1)
    X = gaussian_data
    whole, theirs = _pair("full", implementation=implementation)
    chunked = copy.deepcopy(whole).set_params(chunk_memory_mb=1e-3)
    log_prob, posteriors = chunked.score_samples(X, LENGTHS)
    np.testing.assert_allclose(log_prob, whole.score(X, LENGTHS), rtol=1e-12)
    np.testing.assert_allclose(log_prob, theirs.score(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(posteriors, whole.predict_proba(X, LENGTHS), atol=1e-12)
    np.testing.assert_array_equal(chunked.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    for model in (whole, chunked, theirs):
        model.fit(X, LENGTHS)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-10)
        np.testing.assert_allclose(getattr(chunked, name), getattr(theirs, name), rtol=1e-8)


def test_threads_give_identical_results():
    """n_jobs=2 splits the sequences into two chunks run on two CPU threads: every output and
    one EM step must be bitwise those of one thread (float64 must hold inside the workers,
    where JAX's x64 switch is off unless the caller's mode is carried over), and hmmlearn's."""
    from gdm.hmm._plan import BYTES_PER_CELL, padded_shape

    lengths = np.full(64, 400)
    assert padded_shape(lengths, K, workers=2)[0] == 2
    assert padded_shape(lengths, K, workers=1)[0] == 1
    one, theirs = _pair("diag")
    one.set_params(n_jobs=1)
    two = copy.deepcopy(one).set_params(n_jobs=2)
    X, _ = theirs.sample(int(lengths.sum()), random_state=3)
    log_prob, posteriors = two.score_samples(X, lengths)
    ref_log_prob, ref_posteriors = one.score_samples(X, lengths)
    assert log_prob == ref_log_prob
    np.testing.assert_array_equal(posteriors, ref_posteriors)
    np.testing.assert_allclose(log_prob, theirs.score(X, lengths), rtol=1e-10)
    decoded = two.decode(X, lengths)
    assert decoded[0] == one.decode(X, lengths)[0]
    np.testing.assert_array_equal(decoded[1], one.decode(X, lengths)[1])
    np.testing.assert_array_equal(decoded[1], theirs.decode(X, lengths)[1])
    # EM: chunks made by chunk_memory_mb (here 4) run on the threads, summed in chunk order.
    per_sequence_mb = padded_shape(lengths, K)[2] * K * BYTES_PER_CELL / 2**20
    for model in (one, two):
        model.set_params(chunk_memory_mb=16.5 * per_sequence_mb)
    assert padded_shape(lengths, K, one.chunk_memory_mb)[0] == 4
    for model in (one, two):
        model.fit(X, lengths)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_array_equal(getattr(two, name), getattr(one, name))


def test_chunks_are_bounded_even_and_cover_the_sequences():
    """CPU chunks hold at most max_chunk sequences, a multiple of 8, evened out so that the
    padding stays below 8 sequences per chunk; workers split enough work at least that many
    ways."""
    from gdm.hmm._plan import padded_shape

    for n in (1, 7, 40, 100, 119, 121, 200, 500, 1000, 5000):
        lengths = np.full(n, 1000)
        for workers, max_chunk in itertools.product((1, 2, 3), (96, 120)):
            n_chunks, chunk, _ = padded_shape(lengths, 6, workers=workers, max_chunk=max_chunk)
            assert n_chunks * chunk >= n and chunk <= max_chunk
            if n_chunks > 1:
                assert chunk % 8 == 0 and n_chunks * chunk - n < 8 * n_chunks
            if workers > 1 and n >= 16:
                assert n_chunks >= workers
        assert padded_shape(lengths, 6)[0] == 1  # no limit (GPU): one call


def test_pack_and_unpack_round_trip():
    from gdm.hmm._plan import make_plan
    from gdm.hmm._sequences import pack, unpack

    rng = np.random.default_rng(0)
    for lengths in (np.array([5, 1, 9, 3, 3, 7, 2, 8, 1, 4]), np.full(6, 7)):
        X = rng.normal(size=(int(lengths.sum()), 2))
        for memory in (np.inf, 1e-3):
            block, padded = pack(X, lengths, make_plan("score", "diag", lengths, 2,
                                                       chunk_memory_mb=memory))
            assert block.shape[0] == (1 if memory == np.inf else len(lengths))
            assert block.shape[:2] == padded.shape and padded.sum() == lengths.sum()
            np.testing.assert_array_equal(unpack(block, lengths), X)


def test_unpack_widens_paths_in_its_one_copy():
    """Viterbi paths come back from the kernel in int8 and leave as hmmlearn's int64, owned
    and writable (not a view of the kernel's output), for equal and unequal lengths."""
    from gdm.hmm._sequences import pack, unpack

    rng = np.random.default_rng(1)
    for lengths in (np.array([5, 1, 9, 3]), np.full(6, 7)):
        states = rng.integers(0, 100, size=(int(lengths.sum()), 1)).astype(np.int8)
        block, _ = pack(states, lengths)
        out = unpack(block[..., 0], lengths, np.int64)
        assert out.dtype == np.int64 and out.flags.writeable
        assert not np.shares_memory(out, block)
        np.testing.assert_array_equal(out, states[:, 0])
    with pytest.raises(TypeError):  # narrowing is refused, not wrapped around
        unpack(block.astype(np.int64)[..., 0], lengths, np.int8)


def test_viterbi_with_more_states_than_int8_holds():
    """Backpointers switch from int8 to int32 above 127 states."""
    rng = np.random.default_rng(3)
    k = 130
    start = np.full(k, 0.1 / (k - 2))
    start[-2:] = 0.45  # paths start in states 128 / 129, whose index int8 cannot hold
    params = {"startprob_": start,
              "transmat_": 0.8 * np.eye(k) + 0.2 * rng.dirichlet(np.ones(k), size=k),
              "emissionprob_": rng.dirichlet(np.ones(4), size=k)}
    ours = _with_parameters(hmm.CategoricalHMM(k, init_params=""), params)
    theirs = _with_parameters(peer.CategoricalHMM(k, init_params=""), params)
    X, _ = theirs.sample(40, random_state=0)
    log_prob, path = ours.decode(X)
    ref_log_prob, ref_path = theirs.decode(X)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-12)
    np.testing.assert_array_equal(path, ref_path)
    assert path.max() > 127 and path.dtype == ref_path.dtype == np.int64


def test_plan_chunks_inference_by_threads_and_fit_by_memory_only():
    """make_plan: score and decode split enough work into at least n_jobs chunks, EM keeps one
    chunk whatever n_jobs (its sums then round the same way); kernel variants follow the kind
    and the shapes; an unknown task is refused by name."""
    from gdm.hmm._plan import CPU_MAX_VITERBI_CHUNK, make_plan

    lengths = np.full(64, 400)
    fit = make_plan("fit", "diag", lengths, K, n_jobs=2)
    score = make_plan("score", "diag", lengths, K, n_jobs=2)
    assert (fit.n_chunks, fit.workers) == (1, 2) and score.n_chunks == 2
    assert fit.t_pad == score.t_pad >= 400 and score.n_chunks * score.chunk >= 64
    many = np.full(500, 100)
    decode = make_plan("decode", "full", many, K, n_jobs=1)
    assert decode.chunk <= CPU_MAX_VITERBI_CHUNK and not decode.kernel.frames_in_loop
    assert make_plan("decode", "diag", many, K).kernel.frames_in_loop
    categorical = make_plan("score", "categorical", lengths, 200, n_symbols=40)
    assert categorical.dtype == np.int8 and categorical.kernel.pointer_dtype == "int32"
    assert not categorical.kernel.select_symbols and not categorical.kernel.unroll
    with pytest.raises(ValueError, match="task"):
        make_plan("predict", "diag", lengths, K)


@pytest.mark.parametrize("make, name", [
    (lambda: hmm.GaussianHMM(2, tol=-1.0), "tol"),
    (lambda: hmm.GaussianHMM(2, min_covar=-1.0), "min_covar"),
    (lambda: hmm.GaussianHMM(2, n_iter=0), "n_iter"),
    (lambda: hmm.GaussianHMM(2, implementation="fast"), "implementation"),
    (lambda: hmm.CategoricalHMM(2, n_features=0), "n_features"),
])
def test_hyperparameters_are_checked_by_scikit_learns_constraints(make, name):
    """The same InvalidParameterError (a ValueError) scikit-learn's own estimators raise."""
    from sklearn.utils._param_validation import InvalidParameterError
    X = np.array([[0], [1], [1], [0]]) if name == "n_features" else np.ones((6, 2))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        make().fit(X)
