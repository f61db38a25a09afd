"""Stabilised explicit Runge-Kutta integrators for the gradient flow, whose Jacobian (minus the Hessian) has its
spectrum on the negative real axis: RKC (second order, Sommeijer, Shampine & Verwer 1997) and RKS3 (third order,
5 stages, designed for this flow). Both return y at requested times and their count of f evaluations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# rho(H) is re-estimated every RKC_RHO_EVERY steps by 3 power iterations (RKC), every RKS3_RHO_EVERY steps by
# RKS3_RHO_ITERS (RKS3; why: ``rks3``)
RKC_RHO_EVERY = 10
RKS3_RHO_EVERY, RKS3_RHO_ITERS = 3, 1


@dataclass(frozen=True)
class ErrorNorm:
    """The RMS error norm of a step: errors weighted by atol + rtol * magnitude(y), with magnitude |y|
    componentwise by default (the flow passes its per-realisation weights)."""

    rtol: float
    atol: float
    magnitude: Callable = np.abs

    def weights(self, magnitude):
        return self.atol + self.rtol * magnitude


class _Dense:
    """y at the output times t_out (increasing): those <= t0 set to y0 at once, the others written by ``hermite``
    as the steps pass them."""

    def __init__(self, t_out, t0, y0):
        self.t = np.asarray(t_out, dtype=float)
        self.y = np.empty((len(self.t), y0.size))
        self.k = 0
        while self.k < len(self.t) and self.t[self.k] <= t0:
            self.y[self.k] = y0
            self.k += 1

    def hermite(self, t, h, y, ynew, fn, fnew) -> None:
        """The cubic Hermite interpolant of (y, fn) at t and (ynew, fnew) at t + h at the t_out in (t, t + h]."""
        t_out, out, k = self.t, self.y, self.k
        while k < len(t_out) and t_out[k] <= t + h:
            th = (t_out[k] - t) / h
            out[k] = ((1 + 2 * th) * (1 - th) ** 2 * y + th * th * (3 - 2 * th) * ynew
                      + h * th * (1 - th) ** 2 * fn - h * th * th * (1 - th) * fnew)
            k += 1
        self.k = k


def _rms(v, scale):
    return float(np.sqrt(np.mean((v / scale) ** 2)))


def _spectral_radius(f, t, y, fy, v, iters):
    """Largest |eigenvalue| of the Jacobian of f at y by the nonlinear power method on differences of f
    (f(y + e v) - f(y)) / e, warm-started from the direction v; returns (radius, direction)."""
    ynorm = np.linalg.norm(y)
    dy = np.sqrt(np.finfo(float).eps) * max(ynorm, 1e-3)
    v = v / np.linalg.norm(v)
    rho = 0.0
    for _ in range(iters):
        df = f(t, y + dy * v) - fy
        dn = np.linalg.norm(df)
        if dn == 0:
            break
        rho, v = dn / dy, df / dn
    return rho, v


def _stabilised_start(f, t0, t1, y0, norm: ErrorNorm, h_rho):
    """The start shared by ``rkc`` and ``rks3``: f(t0, y0), rho(H) from 12 power iterations (1.2x safety), and
    the first step: the smaller of the stability bound h_rho / rho and 1% of |y| / |f| in the error norm.
    -> (f0, rho, v, h, nfev)."""
    fn = f(t0, y0)
    rho, v = _spectral_radius(f, t0, y0, fn, np.random.default_rng(0).standard_normal(y0.size), 12)
    rho *= 1.2
    scale = norm.weights(norm.magnitude(y0))
    h = min(t1 - t0, h_rho / max(rho, 1e-30), 0.01 * max(_rms(y0, scale), 1.0) / max(_rms(fn, scale), 1e-30))
    return fn, rho, v, h, 13


def _step_factor(err, errold, h, hold, safety) -> float:
    """Step-size factor of a third-order error estimate: safety err^(-1/3), limited by rkc.f's step-size
    history (a PI-like controller) once there is a previous accepted step."""
    fac = safety * err ** (-1.0 / 3.0)
    if errold is not None:
        fac = min(fac, safety * (h / hold) * errold ** (1.0 / 3.0) / err ** (2.0 / 3.0))
    return fac


def _rkc_step(f, t, h, y, fn, s):
    """One s-stage RKC step of size h from (t, y) with fn = f(t, y): the Chebyshev recursion of the stages
    (Sommeijer, Shampine & Verwer 1997, with w0 = 1 + 2 / (13 s^2)); returns y at t + h."""
    w0 = 1.0 + 2.0 / (13.0 * s * s)
    t1_, t2_ = w0 * w0 - 1.0, np.sqrt(w0 * w0 - 1.0)
    arg = s * np.log(w0 + t2_)
    w1 = np.sinh(arg) * t1_ / (np.cosh(arg) * s * t2_ - w0 * np.sinh(arg))
    bjm1 = bjm2 = 1.0 / (2.0 * w0) ** 2
    mus = w1 * bjm1
    yjm2, yjm1 = y, y + h * mus * fn
    thjm2, thjm1 = 0.0, mus
    zjm1, zjm2, dzjm1, dzjm2, d2zjm1, d2zjm2 = w0, 1.0, 1.0, 0.0, 0.0, 0.0
    for _ in range(2, s + 1):
        zj = 2.0 * w0 * zjm1 - zjm2
        dzj = 2.0 * w0 * dzjm1 - dzjm2 + 2.0 * zjm1
        d2zj = 2.0 * w0 * d2zjm1 - d2zjm2 + 4.0 * dzjm1
        bj = d2zj / dzj ** 2
        ajm1 = 1.0 - zjm1 * bjm1
        mu, nu = 2.0 * w0 * bj / bjm1, -bj / bjm2
        mus = mu * w1 / w0
        fj = f(t + h * thjm1, yjm1)
        yj = mu * yjm1 + nu * yjm2 + (1.0 - mu - nu) * y + h * mus * (fj - ajm1 * fn)
        thj = mu * thjm1 + nu * thjm2 + mus * (1.0 - ajm1)
        yjm2, yjm1, thjm2, thjm1 = yjm1, yj, thjm1, thj
        zjm2, zjm1, dzjm2, dzjm1, d2zjm2, d2zjm1 = zjm1, zj, dzjm1, dzj, d2zjm1, d2zj
        bjm2, bjm1 = bjm1, bj
    return yjm1


def rkc(f, t0, t1, y0, t_out, norm: ErrorNorm):
    """Integrate y' = f(t, y) from t0 to t1 with the second-order Runge-Kutta-Chebyshev method (Sommeijer,
    Shampine & Verwer 1997) and return y at the times ``t_out`` (in [t0, t1], increasing).

    Why RKC: here f = -grad L, whose Jacobian -H is symmetric negative semi-definite, so its spectrum lies on
    the negative real axis, where an s-stage RKC step is stable up to h rho(H) ~ 0.65 s^2. Steps are taken as
    long as accuracy allows, with s ~ sqrt(h rho) right-hand sides each, instead of the O(h rho) of a classical
    explicit method whose step the stiffness caps. rho is re-estimated every RKC_RHO_EVERY steps by a few
    warm-started power iterations on differences of f (1.2x safety). Error estimate per step (RKC's):
    0.8 (y_n - y_{n+1}) + 0.4 h (f_n + f_{n+1}), in the ``norm``. Between steps the solution is the cubic
    Hermite interpolant of (y, f) at both ends."""
    y, t = y0.copy(), float(t0)
    out = _Dense(t_out, t, y)
    fn, rho, v, h, nfev = _stabilised_start(f, t, t1, y, norm, 1.0)
    steps, errold, hold = 0, None, None
    while t < t1:
        h = min(h, t1 - t)
        s = max(2, 1 + int(np.sqrt(1.0 + 1.54 * h * rho)))
        if s > 250:
            s = 250
            h = (s * s - 1) / (1.54 * rho)
        ynew = _rkc_step(f, t, h, y, fn, s)
        if not np.all(np.isfinite(ynew)):
            err = np.inf
            fnew = None
        else:
            fnew = f(t + h, ynew)
            scale = norm.weights(np.maximum(norm.magnitude(y), norm.magnitude(ynew)))
            err = _rms(0.8 * (y - ynew) + 0.4 * h * (fn + fnew), scale)
        nfev += s
        if err > 1.0:  # reject
            h *= max(0.1, 0.8 * err ** (-1.0 / 3.0)) if np.isfinite(err) else 0.1
            if h < 1e-14 * max(1.0, abs(t)):
                raise FloatingPointError(f"step size underflow at t = {t:.6g}")
            continue
        out.hermite(t, h, y, ynew, fn, fnew)
        err = max(err, 1e-10)
        fac = _step_factor(err, errold, h, hold, 0.8)
        errold, hold = err, h
        t, y, fn = t + h, ynew, fnew
        h *= min(10.0, max(0.1, fac))
        steps += 1
        if steps % RKC_RHO_EVERY == 0:
            r, v = _spectral_radius(f, t, y, fn, v, 3)
            nfev += 3
            rho = 1.2 * r
    return out.y, nfev


# A 5-stage, third-order explicit Runge-Kutta method with a long real stability interval (``rks3``), designed
# for this flow: its stability polynomial P(z) = 1 + z + z^2/2 + z^3/6 + a4 z^4 + a5 z^5 keeps |P| <= 1 on
# [-RKS3_BETA, 0] (|P| <= 0.95 beyond z = -1), the longest interval a third-order 5-stage polynomial reaches
# (a linear programme), against 2.51 for Bogacki-Shampine with 3 stages. The tableau solves the order-3
# conditions (b.1 = 1, b.c = 1/2, b.c^2 = 1/3, b.Ac = 1/6) and b.A^2c = a4, b.A^3c = a5, and among those
# solutions keeps every stage's polynomial within 1 on the same interval (internal stability; found by SLSQP).
# The error estimate h sum_j RKS3_E[j] F_j (F_6 = f(y_{n+1})) is that of an embedded second-order solution,
# ~ z^3/24 on slow modes and below 0.24 in magnitude on stiff ones (a linear programme).
RKS3_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [0.10074986164501426, 0.0, 0.0, 0.0, 0.0],
    [0.06045334921486728, 0.5660287549518486, 0.0, 0.0, 0.0],
    [0.05668629205535163, 0.3928792230293141, 0.1538806760155458, 0.0, 0.0],
    [0.0757733983892782, 0.191394451055113, 0.17300318891309208, 0.2976005855762871, 0.0]])
RKS3_B = np.array([0.07732759880232222, 0.22971098101441367, 0.02214476415757448, 0.23767756414906402,
                   0.4331390918766254])
RKS3_E = np.array([-0.00447962226498948, 0.09099674476289554, -0.0922190449446704, -0.17287314769865275,
                   0.09781456961968489, 0.08076050052573219])
RKS3_BETA = 10.39
RKS3_C = RKS3_A.sum(axis=1)  # the stages' nodes


def rks3(f, t0, t1, y0, t_out, norm: ErrorNorm, slow=None):
    """Integrate y' = f(t, y) from t0 to t1 with the stabilised third-order method RKS3 (above) and return
    (y at ``t_out``, number of f evaluations).

    Why: the Jacobian of the flow, -H (minus the Hessian, plus O(eta H^2) with the correction), has its
    spectrum on the negative real axis, up to rho(H) ~ 100 / t here: a step is stable for h rho <= RKS3_BETA,
    4x Bogacki-Shampine's bound for 5/3 of its evaluations, and third order keeps it accurate at those steps.
    The step is the smaller of that bound, with rho from RKS3_RHO_ITERS warm-started power iterations every
    RKS3_RHO_EVERY steps (1.2x safety, as in ``rkc``; rho falls with the loss, by ~2x over 10 late steps, so an
    estimate is conservative while it ages and a fresh one lengthens the steps: one iteration every 3 steps
    takes 652 evaluations to 5e5 epochs at N = 1000, lambda = 0.48, where three every 10 took 743, with the same
    agreement with GD), and the error-controlled one (embedded second-order
    estimate in the ``norm``; a PI controller); the solution advances with
    the third-order result and is the cubic Hermite interpolant of (y, f) between steps.

    ``slow``: an optional further term of the right-hand side, y' = f(t, y) + slow(t, y, f(t, y)), called right
    after f at the same point (so an operator may reuse that evaluation), small and far less stiff than f (the
    O(eta) correction (eta/2) H g: its Jacobian is ~ (eta rho / 2) rho, eta rho <= 0.12 after the warm-up). It
    is evaluated where a step ends only and held at its value there over the next step's stages, so a step
    costs one evaluation of it instead of five (first order in slow: its change over a step enters the local
    error, which the estimate, made with slow at the new point, sees and controls); rho is estimated on f.
    (Some 45 lines of code: one adaptive loop, kept whole so that the stages, the held term, the error
    estimate and the step control read together.)"""
    y, t = y0.copy(), float(t0)
    out = _Dense(t_out, t, y)
    stages = len(RKS3_B)
    F = np.empty((stages + 1, y.size))
    F[0], rho, v, h, nfev = _stabilised_start(f, t, t1, y, norm, RKS3_BETA)
    s_held = 0.0
    if slow is not None:  # f again at y0 (the start's power iterations moved on), then slow right after it
        F[0] = f(t, y)
        s_held = slow(t, y, F[0])
        F[0] += s_held
        nfev += 2
    steps, errold, hold, mag_y = 0, None, None, norm.magnitude(y)
    while t < t1:
        h = min(h, t1 - t, RKS3_BETA / max(rho, 1e-30))
        for j in range(1, stages):
            F[j] = f(t + h * RKS3_C[j], y + (h * RKS3_A[j, :j]) @ F[:j])
            F[j] += s_held
        ynew = y + (h * RKS3_B) @ F[:stages]
        nfev += stages
        if not np.all(np.isfinite(ynew)):
            err = np.inf
        else:
            F[stages] = f(t + h, ynew)
            if slow is not None:
                s_new = slow(t + h, ynew, F[stages])
                F[stages] += s_new
                nfev += 1
            mag_new = norm.magnitude(ynew)
            scale = norm.weights(np.maximum(mag_y, mag_new))
            err = _rms((h * RKS3_E) @ F, scale)
        if err > 1.0:  # reject
            h *= max(0.2, 0.9 * err ** (-1.0 / 3.0)) if np.isfinite(err) else 0.1
            if h < 1e-14 * max(1.0, abs(t)):
                raise FloatingPointError(f"step size underflow at t = {t:.6g}")
            continue
        out.hermite(t, h, y, ynew, F[0], F[stages])
        err = max(err, 1e-10)
        fac = _step_factor(err, errold, h, hold, 0.9)
        errold, hold = err, h
        t, y, F[0], mag_y = t + h, ynew, F[stages], mag_new
        if slow is not None:
            s_held = s_new
        h *= min(5.0, max(0.2, fac))
        steps += 1
        if steps % RKS3_RHO_EVERY == 0:
            r, v = _spectral_radius(f, t, y, F[0] - s_held, v, RKS3_RHO_ITERS)
            rho, nfev = 1.2 * r, nfev + RKS3_RHO_ITERS
    return out.y, nfev


