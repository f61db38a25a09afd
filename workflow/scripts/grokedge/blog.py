"""Toy grokking with a bias-free linear model (X. Davies, "Toy Grokking with a Linear Model", 2022).

Setting. Points x_n in R^2 with labels y_n = +-1, a weight w in R^2 and NO bias; the prediction is
sign(w.x). The loss is the *summed* exponential loss

    L(w) = sum_n exp(-y_n w.x_n),        grad L(w) = -sum_n exp(-y_n w.x_n) y_n x_n,

minimised by plain full-batch gradient descent w <- w - lr grad L(w) (lr = 1e-4 in the blog).
With z_n = y_n x_n, a training set is separable through the origin iff some w has w.z_n > 0 for all n.
Then L has no minimiser: |w| -> infinity, and (Soudry et al. 2018) the direction converges to the hard-margin
SVM through the origin,

    w* = argmin |w|  subject to  w.z_n >= 1 for all n,   w(t) = w* log t + O(1),

so w/|w| approaches w*/|w*| only logarithmically slowly, after the training set is already fitted.

Grokking. The test set holds points within a thin band on either side of the max-margin boundary
w*.x = 0, labelled by their side of it. A test point at coordinate s along the boundary and at signed
distance delta from it is misclassified by w iff s tan(theta) and delta have opposite signs and
|s| tan(theta) > |delta|, theta being the angle between w and w*; with a band |delta| << |s| test accuracy
stays at chance (1/2) until theta is small, long after train accuracy reached 1, and then rises to 1.
Dropping the central test points (small |s|) keeps it at chance even longer and makes the jump sharper.

Everything is float64; all functions are pure (randomness only through the ``rng`` argument).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .seeds import realisation_seed, streams
from .separability import max_margin
from .train import Trajectory, checkpoint_epochs

log = logging.getLogger("grokedge.blog")

VARIANTS = ("full", "no_central")
BLOG_TAG = "davies_blog"  # the distribution tag of the blog's data in grokedge.seeds
"""The two test sets: all near-boundary points, and the same points without the central ones."""


# ----------------------------------------------------------------------------------------------- data
def elongated_cluster(rng: np.random.Generator, n: int, mean, std_long: float, std_short: float,
                      angle_deg: float) -> np.ndarray:
    """n points of N(mean, R diag(std_long^2, std_short^2) R^T), R the rotation by ``angle_deg``:
    x = mean + std_long g_1 u + std_short g_2 v, u = (cos a, sin a), v = (-sin a, cos a), g ~ N(0, I)."""
    a = np.deg2rad(float(angle_deg))
    u = np.array([np.cos(a), np.sin(a)])
    v = np.array([-u[1], u[0]])
    g = rng.standard_normal((n, 2))
    return (np.asarray(mean, dtype=np.float64)[None, :] + np.outer(std_long * g[:, 0], u)
            + np.outer(std_short * g[:, 1], v))


def make_training_set(params: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two elongated Gaussian clusters of ``n_per_class`` points, label +1 around ``mean_pos`` and -1 around
    ``mean_neg``, both with long axis at ``angle_deg`` (std ``std_long``) and ``std_short`` across it.

    Returns X (2n, 2) float64 and y (2n,) in {+1, -1} (the +1 class first). Raises ValueError unless the
    set is separable through the origin (w.y_n x_n > 0 for all n for some w), which the experiment needs.
    """
    n = int(params["n_per_class"])
    shape = dict(std_long=float(params["std_long"]), std_short=float(params["std_short"]),
                 angle_deg=float(params["angle_deg"]))
    X = np.vstack([elongated_cluster(rng, n, params["mean_pos"], **shape),
                   elongated_cluster(rng, n, params["mean_neg"], **shape)])
    y = np.concatenate([np.ones(n), -np.ones(n)])
    if max_margin(-(y[:, None] * X)).margin <= 0.0:
        raise ValueError("blog training set is not separable through the origin; move the cluster means "
                         "apart, shrink std_short, or change the seed")
    return X, y


def svm_direction(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The bias-free hard-margin SVM w* = argmin |w| s.t. y_n w*.x_n >= 1 (so |w*| = 1 / margin).

    By duality w* = p / |p|^2 with p the point of conv{z_n = y_n x_n} nearest the origin.
    ``separability.max_margin(A)`` returns S* = -p_A/|p_A|^2 for the hull of the rows of A, with
    S*.a_n <= -1; applied to A = -Z (whose nearest hull point is -p) it gives S* = p/|p|^2 = w* with
    w*.z_n >= 1. Raises ValueError for a set not separable through the origin.
    """
    Z = np.asarray(y, dtype=np.float64)[:, None] * np.asarray(X, dtype=np.float64)
    mm = max_margin(-Z)
    if mm.margin <= 0.0:
        raise ValueError("svm_direction: the set is not separable through the origin")
    return np.asarray(mm.separator, dtype=np.float64)


def make_test_set(w_star: np.ndarray, params: dict, rng: np.random.Generator,
                  drop_central: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points in a thin band around the max-margin boundary w*.x = 0, labelled by their side of it.

    With n = w*/|w*| and t the unit vector along the boundary (t = (-n_2, n_1)), the ``n`` points are
    x = s t + delta n with s ~ U[-half_length, half_length] and |delta| ~ U[band_min, band_max] with a
    random sign; the label is sign(delta) = sign(w*.x). With ``drop_central`` the points with
    |s| < ``central_cut`` are removed *after* sampling, so the same rng state gives a subset of the full set.
    """
    n_pts = int(params["n"])
    L, lo, hi = float(params["half_length"]), float(params["band_min"]), float(params["band_max"])
    if not 0.0 < lo <= hi:
        raise ValueError("test band needs 0 < band_min <= band_max")
    nrm = np.asarray(w_star, dtype=np.float64) / np.linalg.norm(w_star)
    tan = np.array([-nrm[1], nrm[0]])
    s = rng.uniform(-L, L, n_pts)
    delta = rng.uniform(lo, hi, n_pts) * rng.choice(np.array([-1.0, 1.0]), n_pts)
    X = np.outer(s, tan) + np.outer(delta, nrm)
    y = np.sign(delta)
    if drop_central:
        keep = np.abs(s) >= float(params["central_cut"])
        X, y = X[keep], y[keep]
        if len(y) == 0:
            raise ValueError("central_cut removes every test point")
    return X, y


# ------------------------------------------------------------------------------------- loss and GD
def margins(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y_n w.x_n for one weight (shape (N,)) or a stack of weights W (K, 2) (shape (K, N))."""
    return (np.asarray(W, dtype=np.float64) @ X.T) * y


def log_loss(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log L(w) = logsumexp_n(-y_n w.x_n), overflow-free; scalar for w (2,), array (K,) for W (K, 2)."""
    return logsumexp(-margins(W, X, y), axis=-1)


def loss(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L(w) = sum_n exp(-y_n w.x_n) = exp(logsumexp(-y w.x)) (summed, not averaged)."""
    return np.exp(log_loss(W, X, y))


def gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """grad L(w) = -sum_n exp(-y_n w.x_n) y_n x_n  (w of shape (2,))."""
    Z = y[:, None] * X
    return -(np.exp(-(Z @ w)) @ Z)


def train_gd(X: np.ndarray, y: np.ndarray, w0, lr: float, checkpoints) -> Trajectory:
    """Full-batch GD on the summed exponential loss, w_{k+1} = w_k + lr sum_n exp(-w_k.z_n) z_n (z = y x),
    recording w after each epoch in ``checkpoints`` (non-negative integers; epoch 0 is w0). Returns the
    project's ``Trajectory`` of one realisation: S = w of shape (1, K, 2) and b = 0 (the model has no bias).

    Between checkpoints the iteration runs in a tight loop on preallocated buffers (two 100x2 matrix-vector
    products and one exp per step; a few microseconds each). Raises FloatingPointError if w turns
    non-finite (only possible for absurd learning rates: this loss has no finite minimiser, but GD's
    steps shrink as the loss decays).
    """
    ep = np.asarray(checkpoints)
    if ep.ndim != 1 or len(ep) == 0 or np.any(ep < 0) or np.any(np.diff(ep) <= 0) or np.any(ep != np.round(ep)):
        raise ValueError("checkpoints must be strictly increasing non-negative integers")
    ep = ep.astype(np.int64)
    Z = np.asarray(y, dtype=np.float64)[:, None] * np.asarray(X, dtype=np.float64)
    neg_Z = np.ascontiguousarray(-Z)           # (N, 2): neg_Z @ w = -margins
    step_mat = np.ascontiguousarray(lr * Z.T)  # (2, N): step_mat @ exp(-margins) = -lr grad L
    buf = np.empty(Z.shape[0])
    step = np.empty(2)
    w = np.array(w0, dtype=np.float64).reshape(2).copy()
    dot, exp = np.dot, np.exp
    out = np.empty((len(ep), 2))
    t = 0
    for k, target in enumerate(ep):
        for _ in range(int(target) - t):
            dot(neg_Z, w, out=buf)
            exp(buf, out=buf)
            dot(step_mat, buf, out=step)
            w += step
        t = int(target)
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"GD diverged: non-finite w at epoch {t}")
        out[k] = w
    return Trajectory(ep, out[None], np.zeros((1, len(ep))))


# --------------------------------------------------------------------------------------------- metrics
def accuracy(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fraction of points with y_n w.x_n > 0; a point exactly on the boundary (w.x = 0, e.g. at w = 0)
    counts 1/2, so w = 0 scores chance."""
    m = margins(W, X, y)
    return (m > 0).mean(axis=-1) + 0.5 * (m == 0).mean(axis=-1)


def angle_to(W: np.ndarray, w_star: np.ndarray) -> np.ndarray:
    """Angle in [0, pi] between w (or each row of W) and w*, as atan2(|w x w*|, w.w*) (accurate near 0,
    where arccos of the cosine loses half the digits). NaN for w = 0."""
    W = np.asarray(W, dtype=np.float64)
    ws = np.asarray(w_star, dtype=np.float64)
    cross = W[..., 0] * ws[1] - W[..., 1] * ws[0]
    dot = W @ ws
    ang = np.arctan2(np.abs(cross), dot)
    return np.where(np.linalg.norm(W, axis=-1) > 0, ang, np.nan)


def metrics(traj: Trajectory, X_train, y_train, X_test, y_test, w_star) -> pd.DataFrame:
    """One row per checkpoint: epoch, train/test accuracy, train/test loss (both *summed* exponential
    losses, the training objective's form), |w|, angle to w* (radians), and w = (w0, w1)."""
    W = traj.S[0]
    return pd.DataFrame({
        "epoch": traj.epochs.astype(np.int64),
        "train_acc": accuracy(W, X_train, y_train),
        "test_acc": accuracy(W, X_test, y_test),
        "train_loss": loss(W, X_train, y_train),
        "test_loss": loss(W, X_test, y_test),
        "w_norm": np.linalg.norm(W, axis=1),
        "angle": angle_to(W, w_star),
        "w0": W[:, 0],
        "w1": W[:, 1],
    })


def first_epoch(epochs: np.ndarray, values: np.ndarray, threshold: float) -> float:
    """First checkpoint epoch from which ``values >= threshold`` holds at every later checkpoint
    (NaN if never): robust to a single lucky checkpoint before the transition."""
    ok = np.asarray(values) >= threshold
    if not ok[-1]:
        return float("nan")
    bad = np.flatnonzero(~ok)
    i = 0 if len(bad) == 0 else bad[-1] + 1
    return float(np.asarray(epochs)[i])


def summary(curves: pd.DataFrame, chance_exit: float = 0.6, solved: float = 0.95) -> pd.DataFrame:
    """Per variant: epoch train accuracy reaches 1, test accuracy stays >= ``chance_exit`` (leaves chance),
    and stays >= ``solved``."""
    rows = []
    for variant, g in curves.groupby("variant", sort=False):
        e = g["epoch"].to_numpy()
        rows.append({"variant": variant,
                     "train_acc_1": first_epoch(e, g["train_acc"].to_numpy(), 1.0),
                     "test_leaves_chance": first_epoch(e, g["test_acc"].to_numpy(), chance_exit),
                     "test_solved": first_epoch(e, g["test_acc"].to_numpy(), solved)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- experiment
def data_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent (training, test) generators of the blog's ``seed`` through the project's one seed scheme
    (grokedge.seeds): the data and test streams of ``realisation_seed(seed, "davies_blog", 0, 2, 0)``, the
    stable tag keeping the blog's draws apart from the paper model's. A fresh pair per call, so both test
    variants are drawn from the same state (the reduced set is a subset)."""
    data, _, test = streams(realisation_seed(int(seed), BLOG_TAG, 0, 2, 0))
    return data, test


def run_experiment(params: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The whole blog experiment from the ``blog`` config section.

    Builds the training set and w*, trains GD once (the training run is the same for both variants),
    and evaluates it on both test sets. Returns (curves, points, info): curves has one row per
    (variant, checkpoint); points holds x0, x1, y, split in {train, test}, variant (training points are
    repeated under each variant); info has w*, the margin 1/|w*| and the number of test points per variant.
    """
    X, y = make_training_set(params["train"], data_streams(params["seed"])[0])
    w_star = svm_direction(X, y)
    epochs = checkpoint_epochs(float(params["horizon"]), int(params["checkpoints_per_decade"]))
    log.info("training set: %d points, margin %.4g, w* = (%.4g, %.4g)", len(y), 1 / np.linalg.norm(w_star),
             *w_star)
    traj = train_gd(X, y, params["w0"], float(params["lr"]), epochs)
    curves, points, n_test = [], [], {}
    for variant in VARIANTS:
        Xt, yt = make_test_set(w_star, params["test"], data_streams(params["seed"])[1],
                               drop_central=(variant == "no_central"))
        n_test[variant] = len(yt)
        c = metrics(traj, X, y, Xt, yt, w_star)
        c.insert(0, "variant", variant)
        curves.append(c)
        for split, (A, b) in (("train", (X, y)), ("test", (Xt, yt))):
            points.append(pd.DataFrame({"x0": A[:, 0], "x1": A[:, 1], "y": b.astype(np.int64),
                                        "split": split, "variant": variant}))
    info = {"w_star": [float(v) for v in w_star], "margin": float(1 / np.linalg.norm(w_star)),
            "n_test": n_test}
    return pd.concat(curves, ignore_index=True), pd.concat(points, ignore_index=True), info
