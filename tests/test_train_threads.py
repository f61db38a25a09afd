"""The threaded GD kernel: results bitwise independent of ``threads``, divergences reported as a single pass would."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from grokedge.data import realisation
from grokedge.solvers import descent, operators
from grokedge.train import (
    AdamOptions,
    GDOptions,
    Problem,
    Schedule,
    TrainingDiverged,
    checkpoint_epochs,
    gradient_descent,
    train,
)

OPTIONS = {"gd": GDOptions(), "adam": AdamOptions()}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _block(N, d, seeds, sigma=5.0, bias_noise=0.0):
    reals = [realisation(N, d, sigma, s, bias_noise=bias_noise) for s in seeds]
    X, S0 = np.stack([r.X for r in reals]), np.stack([r.S0 for r in reals])
    c = np.stack([r.c for r in reals]) if bias_noise else None
    return X, S0, c


@pytest.fixture(params=["batched", "resident", "streamed"])
def kernel(request, monkeypatch):
    """Run a test under each GD kernel (the streamed one of large data too), whatever the problem size."""
    monkeypatch.setattr(descent, "_RESIDENT_MIN_ELEMENTS", 10**12 if request.param == "batched" else 0)
    if request.param == "streamed":
        monkeypatch.setattr(operators, "STREAM_MIN_BYTES", 0)
    return request.param


def _same(a, b):
    assert np.array_equal(a.epochs, b.epochs)
    assert np.array_equal(a.S, b.S) and np.array_equal(a.b, b.b)


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("N, d", [(400, 96), (60, 24)])  # GD: the cache-resident and the batched kernel
def test_threads_are_bitwise_identical(optimizer, N, d):
    X, S0, _ = _block(N, d, range(5))
    epochs = checkpoint_epochs(300, 5)
    lr = 0.01 if optimizer == "gd" else 1e-3
    one = gradient_descent(Problem(X, S0), Schedule(lr, epochs), OPTIONS[optimizer])
    for threads in (2, 3, 8):  # 5 realisations: uneven chunks, and more threads than realisations
        _same(one, gradient_descent(Problem(X, S0, threads=threads), Schedule(lr, epochs), OPTIONS[optimizer]))
    _same(one, train(Problem(X, S0, threads=2), Schedule(lr, epochs), optimizer))


def test_threads_bitwise_with_noisy_bias_feature():
    X, S0, c = _block(400, 64, range(4), bias_noise=0.5)
    epochs = checkpoint_epochs(200, 5)
    schedule = Schedule(0.01, epochs)
    _same(gradient_descent(Problem(X, S0, c=c), schedule), gradient_descent(Problem(X, S0, c=c, threads=2), schedule))


def test_flow_warmup_is_bitwise_identical_with_threads():
    """The flow solver's GD warm-up runs on the threads; the flow then starts from the identical state."""
    X, S0, _ = _block(400, 120, range(4))
    epochs = checkpoint_epochs(1e3, 10)
    one = train(Problem(X, S0, threads=1), Schedule(0.01, epochs), "flow")
    two = train(Problem(X, S0, threads=2), Schedule(0.01, epochs), "flow")
    _same(one, two)
    early = epochs <= 100  # the warm-up checkpoints are plain GD, also with threads
    gd = gradient_descent(Problem(X, S0, threads=2), Schedule(0.01, epochs[early]))
    assert np.array_equal(two.S[:, early], gd.S) and np.array_equal(two.b[:, early], gd.b)


def test_kernel_choice_does_not_change_results(monkeypatch):
    """The cache-resident per-realisation and the batched step-by-step kernel run the same gemv: identical bits."""
    X, S0, c = _block(400, 48, range(3), bias_noise=0.3)
    epochs = checkpoint_epochs(100, 5)
    resident = gradient_descent(Problem(X, S0, c=c, threads=2), Schedule(0.01, epochs))
    monkeypatch.setattr(descent, "_RESIDENT_MIN_ELEMENTS", 10**12)
    _same(resident, gradient_descent(Problem(X, S0, c=c, threads=2), Schedule(0.01, epochs)))


def test_divergence_in_second_chunk_names_the_global_realisation(kernel):
    X, S0, _ = _block(100, 30, range(4))
    X[3] *= 30.0  # lr 0.05 is stable for the others (2/L ~ 0.15), far above the bound for this one
    epochs = checkpoint_epochs(200, 5)
    messages = []
    for threads in (1, 2, 4):
        with pytest.raises(TrainingDiverged, match=r"^realisation 10: training loss rose .* by epoch 1:") as exc:
            gradient_descent(Problem(X, S0, first_realisation=7, threads=threads), Schedule(0.05, epochs))
        messages.append(str(exc.value))
    assert len(set(messages)) == 1


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the NaN reaches the loss
def test_first_failure_of_a_single_pass_wins_across_chunks(kernel):
    """Realisation 1 (first chunk) has a rising loss, realisation 4 (a later chunk) non-finite weights, both at
    epoch 1: one pass checks finiteness first and names realisation 4, and so does every ``threads``."""
    X, S0, _ = _block(100, 30, range(6))
    X[1] *= 30.0
    X[4, 0, 0] = np.nan
    epochs = checkpoint_epochs(300, 10)
    with pytest.raises(TrainingDiverged) as ref:
        gradient_descent(Problem(X, S0), Schedule(0.05, epochs))
    assert str(ref.value) == "realisation 4: non-finite weights at epoch 1"
    for threads in (2, 3, 6):
        with pytest.raises(TrainingDiverged) as exc:
            gradient_descent(Problem(X, S0, threads=threads), Schedule(0.05, epochs))
        assert str(exc.value) == str(ref.value)
    X[4, 0, 0] = 1.0  # only the rising loss is left
    for threads in (1, 2, 6):
        with pytest.raises(TrainingDiverged, match=r"^realisation 1: training loss rose"):
            gradient_descent(Problem(X, S0, threads=threads), Schedule(0.05, epochs))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the NaN reaches the loss
def test_non_finite_weights_reported_by_the_right_chunk(kernel):
    X, S0, _ = _block(60, 20, range(4))
    X[2, 0, 0] = np.nan
    with pytest.raises(TrainingDiverged, match=r"^realisation 2: non-finite weights at epoch 1$"):
        gradient_descent(Problem(X, S0, threads=2), Schedule(0.01, np.array([0.0, 1.0, 5.0])))


def test_threads_must_be_positive():
    X, S0, _ = _block(40, 8, range(2))
    with pytest.raises(ValueError, match="threads"):
        gradient_descent(Problem(X, S0, threads=0), Schedule(0.01, np.array([0.0, 1.0])))


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_streamed_descent_is_the_kernel_to_rounding_and_bitwise_independent_of_threads(optimizer, monkeypatch):
    """Large data are stepped on the streamed operator, without the (N, d + 1) float64 copy [X, c]: the same GD
    and Adam iterates as the copying kernel up to the order of floating-point sums (relative 1e-12 after 300
    steps; measured ~1e-15), bitwise the same for every ``threads`` (fixed row chunks); float32 storage moves
    them by ~1e-7 (bound 1e-6)."""
    X, S0, c = _block(300, 100, range(3), bias_noise=0.3)
    epochs = checkpoint_epochs(300, 5)
    schedule = Schedule(0.01 if optimizer == "gd" else 1e-3, epochs)
    copied = gradient_descent(Problem(X, S0, 0.1, c=c), schedule, OPTIONS[optimizer])
    monkeypatch.setattr(operators, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(operators, "_STREAM_BLOCK_BYTES", 8 * 100 * 7)  # 7 rows a block: many blocks and chunks
    streamed = gradient_descent(Problem(X, S0, 0.1, c=c), schedule, OPTIONS[optimizer])
    scale = np.max(np.abs(copied.S), axis=-1, keepdims=True)
    assert np.max(np.abs(streamed.S - copied.S) / scale) <= 1e-12
    assert np.max(np.abs(streamed.b - copied.b)) <= 1e-12 * np.max(np.abs(copied.b))
    assert not np.array_equal(streamed.S, copied.S)  # a different summation order: it is the other path
    for threads in (2, 3, 16):
        _same(streamed, gradient_descent(Problem(X, S0, 0.1, c=c, threads=threads), schedule, OPTIONS[optimizer]))
    f32 = gradient_descent(Problem(X.astype(np.float32), S0, 0.1, c=c, threads=2), schedule, OPTIONS[optimizer])
    assert np.max(np.abs(f32.S - copied.S) / scale) <= 1e-6
    assert np.max(np.abs(f32.b - copied.b)) <= 1e-6 * np.max(np.abs(copied.b))
