"""The gradient-flow limit of GD: the solver ``flow``.

Flow:      d(S, b)/dt = -g - (c eta / 2) H g, t = eta * epoch, with g = grad L and H the Hessian.
           c = 0 is the gradient flow, the eta -> 0 limit of GD. c = 1 is GD's first-order modified
           equation: GD's iterates stay within O(eta^2) of it instead of O(eta), which matters in the first
           ~1/(eta lambda_max(H)) epochs, where a GD step is not small. The default is c = 1 up to epoch
           10^4 and c = 0 after it, where eta lambda_max(H) has fallen with the loss. Integrated with an
           adaptive, error-controlled, stabilised explicit Runge-Kutta method (RKS3; RKC on request,
           ``grokedge.solvers.stabilised``) whose step grows as the loss flattens, so its cost grows with
           log(horizon), not with the horizon.

The solver takes the first ``gd_warmup`` epochs as exact GD steps (``Flow.run``), then integrates the flow from
the GD state (``gradient_flow``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .. import validate
from .base import Problem, Schedule, Solver, TrainingDiverged, TrainJob, Trajectory, check_finite, names
from .descent import gradient_descent
from .operators import Batched, Streamed, streamed
from .stabilised import ErrorNorm, rkc, rks3

log = logging.getLogger("grokedge.train")

# The flow integrates a block's realisations in groups whose data fit in a typical last-level cache (about
# 6 MiB of X per group): a group is one ODE system with one error norm, so its step is that of its stiffest
# member, and the RHS streams the group's data several times per step. Measured at N = 400, d = 220,
# 40 realisations: groups of 8 run 2.7x faster than one 40-realisation system. A constant, not the machine's
# cache size, so that the groups, and hence the results, are the same on every machine.
FLOW_GROUP_BYTES = 6 * 2**20
GD_WARMUP = 100  # epochs of exact GD before the flow takes over
# Tolerances of the corrected stretch under method "auto" (see gradient_flow).
EARLY_TOL = (1e-4, 1e-7)
# The methods of grokedge.solvers.stabilised, by ``method`` name; any other name goes to scipy's solve_ivp.
STABILISED = {"rkc": rkc, "rks3": rks3}


def flow_groups(R: int, N: int, d: int) -> list[tuple[int, int]]:
    """Contiguous realisation ranges [lo, hi) of at most FLOW_GROUP_BYTES of float64 data each (>= 1)."""
    size = max(1, FLOW_GROUP_BYTES // (8 * N * (d + 1)))
    return [(lo, min(lo + size, R)) for lo in range(0, R, size)]


@dataclass(frozen=True)
class FlowOptions:
    """``gd_warmup``: epochs of exact GD first (``Flow.run`` only); ``correction_epochs``: the epoch up to which
    the modified-equation correction is on; ``rtol``, ``atol``: the integrator's tolerances; ``method``: "auto",
    "rks3", "rkc" or a ``scipy.integrate.solve_ivp`` method; ``norm``: "state" or "abs" (see ``gradient_flow``)."""

    gd_warmup: int = GD_WARMUP
    correction_epochs: float = 1e4
    rtol: float = 3e-6
    atol: float = 3e-9
    method: str = "auto"
    norm: str = "state"


def gradient_flow(problem: Problem, schedule: Schedule, options: FlowOptions | None = None) -> Trajectory:
    """Integrate the gradient flow in t = lr * epoch from the problem's state with RKS3 (``rks3``), with the
    modified-equation correction (see the module docstring) up to epoch ``options.correction_epochs`` and
    without it afterwards (no GD warm-up here: ``Flow.run`` adds it).

    With u_i = (x_i, c_i), w = (S, b) and a pointwise loss l (``grokedge.losses``): g = (1/N) U^T l'(U w) and
    H v = (1/N) U^T (l''(U w) * (U v)). Why the correction can stop: it is (eta/2) H g against g, and
    lambda_max(H) falls like the training loss, i.e. like 1/t, once every point is classified; what it still
    adds to w after epoch E is of order 1/E relative to its early effect (tests/test_train.py checks the switch
    against GD and against a flow corrected throughout). Dropping it halves the cost of each RHS.
    Realisations are integrated in groups (``flow_groups``); each group's error norm covers all its members,
    so every realisation is integrated to the requested tolerance. X may be float32 (then it is not copied
    and products accumulate in float64); a realisation of at least STREAM_MIN_BYTES is streamed in row blocks
    over ``problem.threads`` threads. ``method``: "rkc", "rks3" (``STABILISED``, the correction evaluated in every
    stage); "auto" (default): RKS3 on both stretches (``EARLY_TOL`` on the corrected one, rtol/atol after it),
    with the correction as RKS3's held ``slow`` term (one Hessian-vector product per step, not five: the
    corrected stretch costs ~1.2 instead of 2 passes over X per right-hand side). RKS3's steps are set by
    stability, not accuracy, where it takes ~0.6x the right-hand sides of Bogacki-Shampine RK23 or RKC and is
    ~10x more accurate than RKC. The stiffness, rho(H) ~ 5 sigma^2 / t late (``rhs_count``), does not depend
    on N at fixed lambda, so this holds for streamed data too. Measured at N = 1000, lambda = 0.48, to 5e5
    epochs, passes over X (GD warm-up included) and largest relative disagreement with GD in b, |S|, L_gen: RKC
    1580 and 5e-5; RKS3 with the correction in every stage 1085 and 8e-6; "auto" ~760 and 7e-5 (the tests
    require 1e-3). Or a
    ``scipy.integrate.solve_ivp`` method (e.g. "DOP853", the solver before RKC, kept for comparison).
    ``norm``: "state" (``_GroupFlow.magnitude``) or "abs" (componentwise).
    Shapes: X (R, N, d), S0 (R, d), b0 a number or (R,), epochs (K,) -> Trajectory with S (R, K, d), b (R, K).
    """
    p = problem
    validate.training_inputs(p.X, p.S0, p.b0, schedule.lr, schedule.epochs, whole_epochs=False)
    X, c, w0 = p.data(), p.bias_feature(), p.state()
    options = options or FlowOptions()
    R, N, d = X.shape
    schedule = dataclasses.replace(schedule, epochs=np.asarray(schedule.epochs, dtype=float))
    Y = np.empty((R, len(schedule.epochs), d + 1))
    big = streamed(X)
    for lo, hi in [(r, r + 1) for r in range(R)] if big else flow_groups(R, N, d):
        op = Streamed(X[lo], c[lo], p.loss, p.threads) if big else Batched(np.asarray(X[lo:hi], dtype=float),
                                                                          c[lo:hi], p.loss)
        try:
            Y[lo:hi] = _GroupFlow(op, hi - lo, p.first_realisation + lo, schedule, options).run(w0[lo:hi].copy())
        finally:
            if big:
                op.close()
                log.info("realisation %d: %d passes over the data in the flow", p.first_realisation + lo, op.passes)
    check_finite(Y[:, -1, :d], Y[:, -1, d], schedule.offset + schedule.epochs[-1], p.first_realisation)
    return Trajectory(schedule.epochs, Y[..., :d].copy(), Y[..., d].copy())


class _GroupFlow:
    """One group of R realisations on its operator ``op`` (``Batched`` or ``Streamed``) as one ODE system."""

    def __init__(self, op, R: int, first: int, schedule: Schedule, options: FlowOptions):
        self.op, self.R, self.d1 = op, R, op.d + 1
        self.names, self.schedule, self.options = names(first, R), schedule, options
        self.next_report = schedule.epochs[0] + 10.0

    def rhs(self, t, y, half_eta):
        """-g - half_eta H g at y (flattened), logging the progress once per decade of epochs."""
        epoch = t / self.schedule.lr
        if epoch >= self.next_report:
            log.info("%s: flow at epoch %.3g of %.3g", self.names, self.schedule.offset + epoch, self.schedule.last)
            self.next_report = max(self.next_report * 10.0, epoch)
        return -self.op.grad(y.reshape(self.R, self.d1), half_eta).ravel()

    def magnitude(self, y):
        """Error weights per realisation: |S| / sqrt(d) for every component of S (the error of S relative to
        its norm, not to each component), and min(|b|, 1) for b: where |b| > 1 b's error is absolute, because
        the population loss ~ e^(b + a^2/2) sees b's absolute error as its relative one."""
        d1 = self.d1
        w = y.reshape(self.R, d1)
        out = np.empty_like(w)
        s2 = np.sum(w[:, :-1] ** 2, axis=1)
        out[:, :-1] = np.sqrt(s2 / (d1 - 1))[:, None]
        out[:, -1] = np.minimum(np.abs(w[:, -1]), 1.0)
        return out.ravel()

    def run(self, y0) -> np.ndarray:
        """(R, d + 1) initial state -> (R, K, d + 1) states at the schedule's epochs: the corrected stretch
        [0, switch] and the plain one [switch, end], each checkpoint in exactly one."""
        epochs, lr, offset = self.schedule.epochs, self.schedule.lr, self.schedule.offset
        switch = float(np.clip(self.options.correction_epochs, epochs[0], epochs[-1]))
        out = np.empty((self.R, len(epochs), self.d1))
        y, k = y0.ravel(), 0
        for a, b, half_eta in ((epochs[0], switch, 0.5 * lr), (switch, epochs[-1], 0.0)):
            if b <= a:
                continue
            seg = epochs[((epochs >= a) if k == 0 else (epochs > a)) & (epochs <= b)]
            ys = self._stretch(a, b, half_eta, y, lr * np.unique(np.append(seg, b)))
            out[:, k:k + len(seg)] = ys[:len(seg)].reshape(len(seg), self.R, self.d1).transpose(1, 0, 2)
            y, k = ys[-1], k + len(seg)
        log.info("%s: flow reached epoch %.3g of %.3g", self.names, offset + epochs[-1], self.schedule.last)
        return out

    def _stretch(self, a, b, half_eta, y, t_eval) -> np.ndarray:
        """Integrate from epoch a to b (with the correction half_eta H g) -> y at t_eval, (len(t_eval), y.size)."""
        o, lr, offset, R, d1 = self.options, self.schedule.lr, self.schedule.offset, self.R, self.d1
        method, rtol, atol, split = o.method, o.rtol, o.atol, {}
        if method == "auto":  # see gradient_flow
            method, rtol, atol = ("rks3", *EARLY_TOL) if half_eta else ("rks3", o.rtol, o.atol)
            if half_eta:  # the correction -half_eta H g = half_eta H f, held over each step's stages
                split = {"slow": lambda t, y, fy, h=half_eta: h * self.op.hess(fy.reshape(R, d1)).ravel()}
        try:
            if method in STABILISED:
                norm = ErrorNorm(rtol, atol, self.magnitude if o.norm == "state" else np.abs)
                f = (lambda t, y: self.rhs(t, y, 0.0)) if split else (lambda t, y, h=half_eta: self.rhs(t, y, h))
                ys, nfev = STABILISED[method](f, lr * a, lr * b, y, t_eval, norm, **split)
            else:
                sol = solve_ivp(self.rhs, (lr * a, lr * b), y, method=method, t_eval=t_eval, rtol=rtol, atol=atol,
                                args=(half_eta,))
                if sol.status != 0:
                    raise FloatingPointError(sol.message)
                ys, nfev = sol.y.T, sol.nfev
        except FloatingPointError as exc:
            raise TrainingDiverged(f"{self.names}: gradient flow failed in epochs {offset + a:.3g}-"
                                   f"{offset + b:.3g}: {exc}") from exc
        log.debug("%s: %d right-hand sides for epochs %.3g-%.3g", self.names, nfev, offset + a, offset + b)
        return ys


# Right-hand sides of the flow (RKS3, default tolerances), the larger of an accuracy floor and a stability count:
# the step is stable for h rho(H) <= RKS3_BETA, and late in training rho(H) ~ kappa sigma^2 / t (the Hessian is
# (1/N) sum_i l''_i u_i u_i^T: the weights l''_i fall like the loss, ~1/t, and the points' covariance is
# sigma^2 I), i.e. 1.2 ln(10) (5 + 1/3) kappa sigma^2 / RKS3_BETA ~ 1.4 kappa sigma^2 right-hand sides per decade
# of epochs (five stages and a third of a power iteration per step), whatever N and eta. Measured at
# lambda = 0.48, eta = 0.01, to 1e9 epochs, N = 400, 1000 and 2000, seeds 1-3 (load 3 on 2 cores): per decade
# after 10^4, 155-217 at sigma = 1 (accuracy-limited; falling slowly with N and the epoch), 180-224 at sigma = 5
# and 675-870 at sigma = 10 (stability: 4x sigma = 5's, kappa ~ 5; the same at eta = 0.004 and 0.1); on the
# corrected stretch (epochs 10^2 to 10^4) 199, 260-270 and 820-900. kappa depends on lambda (sigma = 10,
# N = 1000, per decade: 230 at lambda = 0.05, 440 at 0.3, 690 at 0.45, 870 at 0.5, 330 at 0.6) and the
# corrected stretch on eta (sigma = 10, N = 400: 570-600 at eta = 0.004, 2500 at eta = 0.1); the model takes
# lambda = 0.48 and eta = 0.01.
CORRECTED_RHS = 270.0  # the corrected stretch, floor
CORRECTED_RHS_SIGMA2 = 8.6  # ... and its stability count per sigma^2
DECADE_RHS = 180.0  # each later decade, floor
DECADE_RHS_SIGMA2 = 7.6  # ... and its stability count per sigma^2


def rhs_count(horizon: float, sigma: float) -> tuple[float, float]:
    """(all, corrected) right-hand sides of the flow solver (RKS3, default tolerances) to ``horizon`` epochs for
    points of scale ``sigma``: max(CORRECTED_RHS, CORRECTED_RHS_SIGMA2 sigma^2) on the corrected stretch from
    the warm-up's epoch 100 to 10^4, then max(DECADE_RHS, DECADE_RHS_SIGMA2 sigma^2) per decade (see above):
    270 and 180-190 per decade at sigma = 1 ... 5, 860 and 760 per decade at sigma = 10."""
    decades = max(0.0, math.log10(max(horizon, 1.0)) - 4.0)
    share = min(1.0, max(0.0, math.log10(max(horizon, 1.0)) - 2.0) / 2.0)
    corrected = share * max(CORRECTED_RHS, CORRECTED_RHS_SIGMA2 * sigma**2)
    return corrected + max(DECADE_RHS, DECADE_RHS_SIGMA2 * sigma**2) * decades, corrected


HV_PER_RHS = 0.2  # corrected stretch: one Hessian-vector product per 5-stage RKS3 step
PER_RHS_S = 6e-5  # Python and solver overhead per right-hand side and group


class Flow(Solver):
    """GD warm-up, then the flow (module docstring). Costs: the warm-up's GD steps and the right-hand sides of
    ``rhs_count``, each one gradient, and on the corrected stretch one Hessian-vector product per RKS3 step
    (~HV_PER_RHS per right-hand side), plus PER_RHS_S of Python per right-hand side and group."""

    name, Options = "flow", FlowOptions
    # one thread: a streamed realisation is memory-bound (N = 4000, d = 1920 to 1e9 epochs took 11.3 s on one
    # thread and on two, idle machine)
    threads = 1
    gd_first_step = True

    def run(self, problem: Problem, schedule: Schedule, options: FlowOptions) -> Trajectory:
        """The first ``options.gd_warmup`` epochs as exact GD steps (there a step of size eta is not small against
        the fastest time scale 1/lambda_max(H), and the GD iterates are cheap), then the modified gradient flow
        from the GD state up to epoch ``correction_epochs`` and the plain flow after it: the result tracks GD to
        better than 1e-3 at every checkpoint. The warm-up's threads split the realisations (bitwise independent
        of their number)."""
        epochs, lr = np.asarray(schedule.epochs, dtype=float), schedule.lr
        warm = min(int(options.gd_warmup), int(epochs[-1]))
        early = epochs[epochs <= warm]
        head = gradient_descent(problem, Schedule(lr, np.unique(np.append(early, warm))))
        first = problem.first_realisation
        log.info("%s: GD warm-up reached epoch %d of %.3g; the flow takes over", names(first, len(head.b)), warm,
                 epochs[-1])
        late = epochs[epochs > warm]
        if len(late) == 0:
            keep = np.isin(head.epochs, epochs)
            return Trajectory(epochs, head.S[:, keep], head.b[:, keep])
        tail = gradient_flow(dataclasses.replace(problem, S0=head.S[:, -1], b0=head.b[:, -1]),
                             Schedule(lr, np.concatenate([[0.0], late - warm]), offset=warm, horizon=epochs[-1]),
                             dataclasses.replace(options, correction_epochs=options.correction_epochs - warm))
        keep = np.isin(head.epochs, early)
        return Trajectory(epochs, np.concatenate([head.S[:, keep], tail.S[:, 1:]], axis=1),
                          np.concatenate([head.b[:, keep], tail.b[:, 1:]], axis=1))

    def train_seconds(self, job: TrainJob, grad_s: float) -> float:
        total, corrected = rhs_count(job.horizon, job.sigma)
        R, N, d = job.realisations, job.N, job.d
        groups = R if job.streamed else max(1, math.ceil(8 * R * N * (d + 1) / FLOW_GROUP_BYTES))
        return (min(GD_WARMUP, job.horizon) + total + HV_PER_RHS * corrected) * grad_s + total * groups * PER_RHS_S
