"""Solvers: the flow solver against step-by-step GD, and the long-time theory (Soudry et al.; Prop. 3.2)."""

import numpy as np
import pytest

from grokedge import model
from grokedge.data import realisation
from grokedge.losses import LOSSES
from grokedge.separability import inseparable_limit, margin_limit_accuracy, max_margin, separable_from_origin
from grokedge.solvers import flow, operators
from grokedge.train import Problem, Schedule, TrainingDiverged, checkpoint_epochs, gradient_descent, train

SIGMA, LR, N = 5.0, 0.01, 400


def _block(lam, seeds, N=N, sigma=SIGMA):
    d = round(lam * N)
    reals = [realisation(N, d, sigma, s) for s in seeds]
    return np.stack([r.X for r in reals]), np.stack([r.S0 for r in reals])


def _observables(traj):
    s = np.linalg.norm(traj.S, axis=-1)
    return {"gen_acc": model.gen_accuracy(traj.b, SIGMA * s),
            "gen_loss": LOSSES["logistic"].population(traj.b, SIGMA * s), "s_norm": s, "b": traj.b}


@pytest.mark.parametrize("lam", [0.05, 0.48, 0.52])
def test_flow_agrees_with_gd_to_1e5_epochs(lam):
    """Issue #4's agreement: |dA_gen|, |d train acc| <= 1e-3; relative dL_gen, d|S|, db <= 1e-3, every checkpoint."""
    X, S0 = _block(lam, [11, 12] if lam < 0.1 else [11])  # one near-critical set: 1e5 GD steps take ~15 s
    epochs = checkpoint_epochs(1e5, 10)
    gd = train(Problem(X, S0), Schedule(LR, epochs), "gd")
    fl = train(Problem(X, S0), Schedule(LR, epochs), "flow")
    og, of = _observables(gd), _observables(fl)
    assert np.max(np.abs(og["gen_acc"] - of["gen_acc"])) <= 1e-3
    tr = lambda t: (np.matmul(X, np.swapaxes(t.S, 1, 2)) + t.b[:, None, :] <= 0).mean(axis=1)  # noqa: E731
    assert np.max(np.abs(tr(gd) - tr(fl))) <= 1e-3
    for key in ("gen_loss", "s_norm"):
        assert np.max(np.abs(og[key] - of[key]) / np.abs(og[key])) <= 1e-3, key
    nz = epochs > 0  # b0 = 0: relative difference of b from the first step on
    assert np.max(np.abs(og["b"][:, nz] - of["b"][:, nz]) / np.abs(og["b"][:, nz])) <= 1e-3


@pytest.mark.parametrize("lam", [0.48, 0.52])
def test_stopping_the_correction_at_1e4_epochs_is_negligible_to_1e9(lam):
    """The default flow drops the O(eta) correction after 10^4 epochs; against a flow corrected throughout
    the states differ by O(1e-6) (its remaining effect is ~1/E of its early one), far below GD agreement."""
    X, S0 = _block(lam, [31, 32])
    epochs = checkpoint_epochs(1e9, 5)
    switched = train(Problem(X, S0), Schedule(LR, epochs), "flow")
    always = train(Problem(X, S0), Schedule(LR, epochs), "flow", correction_epochs=np.inf)
    nz = epochs > 0
    s = np.linalg.norm(always.S, axis=-1)
    assert np.max(np.linalg.norm(switched.S - always.S, axis=-1) / s) <= 1e-4
    assert np.max(np.abs(switched.b[:, nz] - always.b[:, nz]) / np.abs(always.b[:, nz])) <= 1e-4
    # and the switch is not a no-op: the correction does change the late states, at the 1e-7 level or above
    assert np.max(np.abs(switched.b[:, nz] - always.b[:, nz]) / np.abs(always.b[:, nz])) > 1e-8


def test_flow_groups_cover_the_block_and_agree_with_one_system(monkeypatch):
    """Integrating a block in groups gives the same states as one system, to the solver tolerance (rtol 1e-5
    per step: 1e-4 over the run)."""
    X, S0 = _block(0.48, [41, 42, 43])
    epochs = checkpoint_epochs(1e6, 5)
    grouped_bytes = 8 * N * (X.shape[2] + 1)  # one realisation per group
    monkeypatch.setattr(flow, "FLOW_GROUP_BYTES", grouped_bytes)
    assert flow.flow_groups(3, N, X.shape[2]) == [(0, 1), (1, 2), (2, 3)]
    grouped = train(Problem(X, S0), Schedule(LR, epochs), "flow")
    monkeypatch.setattr(flow, "FLOW_GROUP_BYTES", 3 * grouped_bytes)
    assert flow.flow_groups(3, N, X.shape[2]) == [(0, 3)]
    joint = train(Problem(X, S0), Schedule(LR, epochs), "flow")
    assert np.max(np.abs(grouped.S - joint.S)) <= 1e-4 * np.max(np.abs(joint.S))
    assert np.max(np.abs(grouped.b - joint.b)) <= 1e-4 * np.max(np.abs(joint.b))
    assert not np.array_equal(grouped.b, joint.b)  # different systems, different (tolerance-level) steps


def test_plain_flow_is_the_small_eta_limit():
    """Without the O(eta) correction and warm-up the flow still tracks GD, to O(eta lambda_max) only."""
    X, S0 = _block(0.3, [3])
    epochs = checkpoint_epochs(1e3, 5)
    gd = train(Problem(X, S0), Schedule(LR, epochs), "gd")
    plain = train(Problem(X, S0), Schedule(LR, epochs), "flow", gd_warmup=0, correction_epochs=0)
    rel = np.abs(plain.b[:, 1:] - gd.b[:, 1:]) / np.abs(gd.b[:, 1:])
    assert 1e-4 < rel.max() < 5e-2  # visibly first order in eta, yet close


def test_inseparable_b_falls_like_log_t_and_s_converges_to_s_inf():
    X, S0 = _block(0.3, [21, 22, 23])
    epochs = checkpoint_epochs(1e12, 4)
    tr = train(Problem(X, S0), Schedule(LR, epochs), "flow")
    for r in range(len(X)):
        assert not separable_from_origin(X[r])
        lim = inseparable_limit(X[r])
        assert np.linalg.norm(tr.S[r, -1] - lim.s_inf) < 1e-3 * np.linalg.norm(lim.s_inf)
        # e^{-b} ~ eta t m: b + log(eta t m) -> 0 (the correction decays like 1/log t)
        t = LR * epochs[-1]
        assert tr.b[r, -1] == pytest.approx(-np.log(t * lim.m), abs=0.05)
        # slope of b against log t over the last three decades is -1
        k = epochs >= 1e9
        slope = np.polyfit(np.log(epochs[k]), tr.b[r, k], 1)[0]
        assert slope == pytest.approx(-1.0, abs=0.01)


def test_separable_accuracy_approaches_margin_prediction():
    """Prop. 3.2: b/|S| -> -1/M, so A_gen -> Phi(1/(sigma M)). The direction converges only like 1/log t
    (Soudry et al. 2018): err(t) = M (-b/|S|) - 1 obeys |err| <= C/log t with C = O(1); C = 5 leaves room
    above the C ~ 3-4 of these sets. |err| must fall monotonically over the decades, and A_gen rise towards
    the prediction from below (overfitting side)."""
    X, S0 = _block(0.8, [31, 32], N=100, sigma=1.0)
    lr = 0.1
    epochs = checkpoint_epochs(1e14, 1)
    tr = train(Problem(X, S0), Schedule(lr, epochs), "flow")
    late = epochs >= 1e4
    for r in range(len(X)):
        M = max_margin(X[r]).margin
        s = np.linalg.norm(tr.S[r], axis=-1)
        err = M * (-tr.b[r] / s) - 1
        assert np.all(np.abs(err[late]) <= 5 / np.log(lr * epochs[late]))
        assert np.all(np.diff(np.abs(err[late])) < 0)
        pred = margin_limit_accuracy(M, 1.0)
        acc = model.gen_accuracy(tr.b[r], s)
        assert np.all(acc[late] < pred) and np.all(np.diff(acc[late]) > 0)
        # the learned direction turns towards the bias-free max-margin separator, again logarithmically slowly
        sep = max_margin(X[r]).separator
        cos = tr.S[r, late] @ sep / (s[late] * np.linalg.norm(sep))
        assert np.all(np.diff(cos) > 0) and cos[-1] > 0.95


def test_divergent_learning_rate_stops_with_a_clear_error():
    X, S0 = _block(0.3, [5])
    with pytest.raises(TrainingDiverged, match=r"realisation 7: .*epoch \d+"):
        gradient_descent(Problem(X, S0, first_realisation=7), Schedule(50.0, checkpoint_epochs(100, 5)))


def test_checkpoints_are_log_spaced_integers_ending_at_horizon():
    ep = checkpoint_epochs(12345, 10)
    assert ep[0] == 0 and ep[-1] == 12345 and np.all(np.diff(ep) > 0) and np.all(ep == np.round(ep))
    # above ~100 epochs every rounded 10^(k/20) is distinct: exactly 20 checkpoints per decade
    big = checkpoint_epochs(1e9, 20)
    assert np.sum(big >= 100) == 7 * 20 + 1


def test_noisy_bias_flow_agrees_with_gd_and_gradient_is_exact():
    """The bias feature c_i = 1 + eps xi_i enters GD and the flow alike (and the gradient matches differences)."""
    from grokedge.data import realisation as make

    r = make(60, 24, 5.0, 99, bias_noise=0.5)
    X, S0, c = r.X[None], r.S0[None], r.c[None]
    epochs = checkpoint_epochs(1e4, 5)
    gd = train(Problem(X, S0, c=c), Schedule(0.004, epochs), "gd")
    fl = train(Problem(X, S0, c=c), Schedule(0.004, epochs), "flow")
    assert np.max(np.abs(gd.b[0, 1:] - fl.b[0, 1:]) / np.abs(gd.b[0, 1:])) < 1e-3
    # one GD step from b = 0 moves b by -lr * mean(expit(S0.x) * c)
    one = gradient_descent(Problem(X, S0, c=c), Schedule(0.004, np.array([0.0, 1.0])))
    p = 1 / (1 + np.exp(-(r.X @ r.S0)))
    assert one.b[0, 1] == pytest.approx(-0.004 * np.mean(p * r.c), rel=1e-12)


def test_streamed_operator_matches_the_batched_one_and_float32_storage_is_below_the_agreement_bound(monkeypatch):
    """The row-streamed gradient (no bias-column copy, threads over row blocks) equals the batched one to
    rounding, with and without the O(eta) correction; X stored in float32 (products in float64) moves the
    trajectory by far less than the 1e-3 agreement bound with GD."""
    from grokedge.data import realisation as make

    r = make(300, 144, SIGMA, 7, bias_noise=0.3)
    w = np.concatenate([r.S0 * 5, [-0.7]])[None]
    batched = operators.Batched(r.X[None], r.c[None], "logistic")
    monkeypatch.setattr(operators, "_STREAM_BLOCK_BYTES", 8 * 144 * 7)  # 7 rows a block: many blocks
    for threads in (1, 2):
        op = operators.Streamed(r.X, r.c, "logistic", threads)
        for half_eta in (0.0, 0.005):
            assert np.allclose(op.grad(w, half_eta), batched.grad(w, half_eta), rtol=1e-12, atol=1e-15)
        op.close()
    X, S0 = _block(0.48, [51])
    epochs = checkpoint_epochs(1e6, 5)
    f64 = train(Problem(X, S0), Schedule(LR, epochs), "flow")
    monkeypatch.setattr(operators, "STREAM_MIN_BYTES", 0)  # every realisation streamed, GD warm-up included
    streamed = train(Problem(X, S0, threads=2), Schedule(LR, epochs), "flow")
    f32 = train(Problem(X.astype(np.float32), S0), Schedule(LR, epochs), "flow")
    nz = epochs > 0
    for other, bound in ((streamed, 1e-4), (f32, 1e-4)):
        assert np.max(np.abs(other.b[:, nz] - f64.b[:, nz]) / np.abs(f64.b[:, nz])) <= bound
        s, s64 = np.linalg.norm(other.S, axis=-1), np.linalg.norm(f64.S, axis=-1)
        assert np.max(np.abs(s - s64) / s64) <= bound


def test_streamed_flow_agrees_with_gd(monkeypatch):
    """The streamed path (as for paper-size data) against step-by-step GD, at the tolerances above."""
    X, S0 = _block(0.48, [61])
    epochs = checkpoint_epochs(2e4, 10)
    gd = train(Problem(X, S0), Schedule(LR, epochs), "gd")
    monkeypatch.setattr(operators, "STREAM_MIN_BYTES", 0)
    fl = train(Problem(X, S0, threads=2), Schedule(LR, epochs), "flow")
    og, of = _observables(gd), _observables(fl)
    nz = epochs > 0
    assert np.max(np.abs(og["gen_acc"] - of["gen_acc"])) <= 1e-3
    for key in ("gen_loss", "s_norm", "b"):
        assert np.max(np.abs(og[key][:, nz] - of[key][:, nz]) / np.abs(og[key][:, nz])) <= 1e-3, key


def test_flow_log_names_realisations_and_absolute_epochs_of_the_horizon(caplog):
    """After the GD warm-up the flow's log counts epochs of the whole run, up to the true horizon."""
    X, S0 = _block(0.3, [5])
    with caplog.at_level("INFO", logger="grokedge.train"):
        train(Problem(X, S0, first_realisation=3), Schedule(LR, checkpoint_epochs(1e5, 5)), "flow")
    text = caplog.text
    assert "realisation 3: flow reached epoch 1e+05 of 1e+05" in text
    assert "9.99e+04" not in text
    assert "GD warm-up reached epoch 100 of 1e+05" in text


def test_unknown_flow_loss_is_refused():
    X, S0 = _block(0.3, [5])
    from grokedge.train import gradient_flow

    with pytest.raises(ValueError, match="unknown loss 'hinge'; expected one of"):
        gradient_flow(Problem(X, S0, loss="hinge"), Schedule(LR, np.array([0.0, 10.0])))


# -- the RKS3 tableau (grokedge.solvers.stabilised): order, stability, embedded estimate, convergence ------------

def test_rks3_tableau_is_third_order_with_a_second_order_estimate():
    from grokedge.solvers.stabilised import RKS3_A as A
    from grokedge.solvers.stabilised import RKS3_B as b
    from grokedge.solvers.stabilised import RKS3_E as e

    c = A.sum(axis=1)
    assert np.allclose(np.triu(A), 0.0)  # explicit
    for lhs, rhs in ((b.sum(), 1.0), (b @ c, 1 / 2), (b @ c**2, 1 / 3), (b @ A @ c, 1 / 6)):
        assert abs(lhs - rhs) < 1e-12
    c6 = np.append(c, 1.0)  # the estimate also uses f(y_{n+1}) at c = 1
    assert abs(e.sum()) < 1e-12 and abs(e @ c6) < 1e-12  # embedded solution b + e of order 2: e kills orders 0, 1
    assert abs(e @ c6**2) > 1e-3  # ... and not order 3, so the estimate is O(h^3) and informative


def test_rks3_is_stable_on_its_interval_stage_by_stage():
    from grokedge.solvers.stabilised import RKS3_A as A
    from grokedge.solvers.stabilised import RKS3_B as b
    from grokedge.solvers.stabilised import RKS3_BETA

    z = np.linspace(-RKS3_BETA, 0.0, 4001)
    n = len(b)
    # y' = z y: stage values Y = (I - z A)^-1 1 and the step R(z) = 1 + z b.Y
    Y = np.array([np.linalg.solve(np.eye(n) - zi * A, np.ones(n)) for zi in z])
    R = 1 + z * (Y @ b)
    assert np.abs(R).max() <= 1 + 1e-9
    assert np.abs(Y).max() <= 1 + 1e-9  # internal stability
    assert np.abs(1 + z[z < -1.0] * (Y[z < -1.0] @ b)).max() <= 0.95 + 1e-5  # the design margin, to 5 digits
    # just beyond the interval it is unstable: the stated interval is the method's, not a loose bound
    zo = -1.02 * RKS3_BETA
    assert abs(1 + zo * (np.linalg.solve(np.eye(n) - zo * A, np.ones(n)) @ b)) > 1


def test_rks3_converges_on_a_stiff_linear_system():
    from scipy.linalg import expm

    from grokedge.solvers.stabilised import ErrorNorm, rks3

    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((12, 12)))[0]
    H = Q @ np.diag(np.logspace(-2, 3, 12)) @ Q.T  # symmetric, spectrum 0.01 .. 1000: stiff
    y0 = rng.standard_normal(12)
    t_out = np.array([0.0, 0.1, 1.0, 10.0])
    exact = np.array([expm(-t * H) @ y0 for t in t_out])
    errs = []
    for rtol in (1e-4, 1e-6, 1e-8):
        ys, nfev = rks3(lambda t, y: -H @ y, 0.0, 10.0, y0, t_out, ErrorNorm(rtol, rtol * 1e-3))
        errs.append(np.abs(ys - exact).max() / np.abs(y0).max())
    assert errs[0] < 1e-2 and errs[2] < 1e-6
    assert errs[2] < errs[1] < errs[0]


def test_rks3_with_a_held_slow_term_converges_like_the_full_right_hand_side():
    """The O(eta) correction as RKS3's ``slow`` term (evaluated at step ends, held over the stages): on
    y' = -H y - eps H^2 y (eps rho(H) = 0.06, as eta rho / 2 after the warm-up) against the exact expm, at a
    fifth of the slow evaluations of the full right-hand side, to 10 rtol (first order in the held term: measured
    9e-6 and 1.5e-6 at rtol 1e-4 and 1e-6; leaving the term out errs by 1.4e-4)."""
    from scipy.linalg import expm

    from grokedge.solvers.stabilised import ErrorNorm, rks3

    rng = np.random.default_rng(1)
    Q = np.linalg.qr(rng.standard_normal((12, 12)))[0]
    H = Q @ np.diag(np.logspace(-2, 3, 12)) @ Q.T
    eps = 0.06 / 1e3
    y0 = rng.standard_normal(12)
    t_out = np.array([0.0, 0.1, 1.0, 10.0])
    exact = np.array([expm(-t * (H + eps * H @ H)) @ y0 for t in t_out])
    calls = {"slow": 0}

    def slow(t, y, fy):  # -eps H^2 y = eps H fy with fy = -H y, the form the flow uses
        calls["slow"] += 1
        return eps * H @ fy

    for rtol in (1e-4, 1e-6):
        full, nfull = rks3(lambda t, y: -(H + eps * H @ H) @ y, 0.0, 10.0, y0, t_out, ErrorNorm(rtol, rtol * 1e-3))
        calls["slow"] = 0
        held, nheld = rks3(lambda t, y: -H @ y, 0.0, 10.0, y0, t_out, ErrorNorm(rtol, rtol * 1e-3), slow=slow)
        err_full = np.abs(full - exact).max() / np.abs(y0).max()
        err_held = np.abs(held - exact).max() / np.abs(y0).max()
        assert err_held < max(3 * err_full, 10 * rtol)
        without = rks3(lambda t, y: -H @ y, 0.0, 10.0, y0, t_out, ErrorNorm(rtol, rtol * 1e-3))[0]
        assert err_held < 0.1 * np.abs(without - exact).max() / np.abs(y0).max()
        assert calls["slow"] < 0.3 * nfull  # one slow evaluation per step (plus rejections), not five
