"""GradBench's evaluations, each transcribed twice by hand from GradBench's source.

Each entry of ``EVALS`` holds one evaluation at a small size:

* ``function`` and ``let``: the text diffcompare reads, in its expression language;
* ``f``: the same function as Python over mpmath numbers, written as the C++ loops are;
* ``exact``: where one can be derived by hand, the derivative in closed form over mpmath.

GradBench (https://github.com/gradbench/gradbench) defines each evaluation by a reference
implementation (cpp/gradbench/evals/*.hpp, ported from ADBench and cmpad) and an input generator
(python/gradbench/gradbench/evals/*/run.py). Inputs are drawn as those generators draw them (NumPy's
legacy generator, seed 31337) and written with repr's digits, so the YAML holds the same binary
numbers that mpmath reads here. compute_expected.py turns the entries into benchmarks/gradbench/problems/*.yaml.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np

REPO = "https://github.com/gradbench/gradbench"
F = mpmath.mpf  # F(float) is the float's exact binary value
PI = F(math.pi)  # `pi` in an expression is float64 pi
SEED = 31337  # GradBench's generators: np.random.seed(31337) "for determinism"
# GradBench's validators compare a tool's output with the reference's by ADBench's rule
# (python/gradbench/gradbench/comparison.py): |a - b| / max(1, |a| + |b|) <= 1e-4 per element.
VALIDATOR = (
    "GradBench's validator accepts a tool's value when |a - b| / max(1, |a| + |b|) <= 1e-4 "
    "(gradbench/comparison.py, from ADBench); here every backend is judged against the exact value."
)

EVALS: list[dict] = []


def add(name, source, description, function, point, wrt, f, exact=None, let=None, operator="gradient"):
    EVALS.append(
        dict(
            name=name,
            source=source,
            description=description + " " + VALIDATOR,
            function=function,
            point=point,
            wrt=list(wrt),
            f=f,
            exact=exact,
            let=let or {},
            operator=operator,
        )
    )


def mp_array(value):
    """Nested lists of floats as NumPy object arrays of their exact mpf values."""
    return np.vectorize(lambda a: F(float(a)), otypes=[object])(np.asarray(value, dtype=float))


# ------------------------------------------------------------------ llsq
# cpp/gradbench/evals/llsq.hpp: t_i = -1 + i*2/(n-1), s_i = sign(t_i),
# y(x) = sum_i (s_i - sum_j x_j t_i^j)^2 / 2. Inputs: run.py, x = np.random.rand(m).
LLSQ_N, LLSQ_M = 16, 4
np.random.seed(SEED)
_llsq_x = np.random.rand(LLSQ_M).tolist()
_llsq_t = [-1 + i * 2 / (LLSQ_N - 1) for i in range(LLSQ_N)]  # the same float64 operations as t(i, n)
_llsq_s = [float((0 < t) - (t < 0)) for t in _llsq_t]


def _llsq(v):
    total = F(0)
    for t, s in zip(_llsq_t, _llsq_s):
        inner = F(s)
        for j in range(LLSQ_M):
            inner -= v["x"][j] * F(t) ** j
        total += inner * inner
    return total / 2


def _llsq_gradient(v):
    # dy/dx_j = -sum_i r_i t_i^j, r_i = s_i - sum_k x_k t_i^k
    residuals = [F(s) - mpmath.fsum(v["x"][k] * F(t) ** k for k in range(LLSQ_M)) for t, s in zip(_llsq_t, _llsq_s)]
    return {"x": np.array([-mpmath.fsum(r * F(t) ** j for r, t in zip(residuals, _llsq_t)) for j in range(LLSQ_M)])}


add(
    "gradbench-llsq",
    f"GradBench, eval llsq: {REPO}/blob/main/cpp/gradbench/evals/llsq.hpp (primal) and "
    f"python/gradbench/gradbench/evals/llsq/run.py (inputs); from cmpad's llsq_obj (https://cmpad.readthedocs.io/llsq_obj.html)",
    f"Linear least squares objective y(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2i/(n-1), "
    f"s_i = sign(t_i), n = {LLSQ_N}, m = {LLSQ_M} (GradBench runs n = 16 ... 16392, m = 128); t and s are the "
    f"float64 values llsq.hpp computes, x = np.random.rand({LLSQ_M}) after np.random.seed({SEED}), as run.py draws it.",
    "sum((s - x[0] - x[1] * t - x[2] * t ** 2 - x[3] * t ** 3) ** 2) / 2",
    {"x": _llsq_x, "t": _llsq_t, "s": _llsq_s},
    ["x"],
    _llsq,
    _llsq_gradient,
)

# ------------------------------------------------------------------ lse
# cpp/gradbench/evals/lse.hpp: A = max x, lse = log(sum exp(x_i - A)) + A. Inputs: x = np.random.rand(n).
LSE_N = 8
np.random.seed(SEED)
_lse_x = np.random.rand(LSE_N).tolist()


def _lse(v):
    a = max(v["x"])
    return mpmath.log(mpmath.fsum(mpmath.exp(xi - a) for xi in v["x"])) + a


def _lse_gradient(v):
    # d lse / dx_i = exp(x_i - lse): the softmax (the max's own derivative cancels)
    total = mpmath.log(mpmath.fsum(mpmath.exp(xi) for xi in v["x"]))
    return {"x": np.array([mpmath.exp(xi - total) for xi in v["x"]])}


add(
    "gradbench-lse",
    f"GradBench, eval lse: {REPO}/blob/main/cpp/gradbench/evals/lse.hpp (primal) and "
    f"python/gradbench/gradbench/evals/lse/run.py (inputs)",
    f"LogSumExp by the max trick, from its primitives as GradBench asks (a = max x, log(sum exp(x - a)) + a), "
    f"n = {LSE_N} (GradBench runs n = 2500 ... 1280000); x = np.random.rand({LSE_N}) after np.random.seed({SEED}). "
    "The gradient is the softmax: the derivative through max cancels.",
    "log(sum(exp(x - a))) + a",
    {"x": _lse_x},
    ["x"],
    _lse,
    _lse_gradient,
    let={"a": "max(x)"},
)

# ------------------------------------------------------------------ det
# cpp/gradbench/evals/det.hpp (cmpad's det_of_minor): expansion by minors along the first row
# of each minor, columns in order, signs alternating from +. Inputs: A = np.random.rand(ell * ell).
DET_L = 4
np.random.seed(SEED)
_det_a = np.random.rand(DET_L * DET_L).reshape(DET_L, DET_L).tolist()


def _minor_text(rows, cols):
    if len(rows) == 1:
        return f"A[{rows[0]}, {cols[0]}]"
    text = ""
    for j, c in enumerate(cols):
        rest = [k for k in cols if k != c]
        term = f"A[{rows[0]}, {c}] * ({_minor_text(rows[1:], rest)})"
        text += term if j == 0 else (" + " if j % 2 == 0 else " - ") + term
    return text


def _det_of_minor(a, rows, cols):
    if len(rows) == 1:
        return a[rows[0]][cols[0]]
    total = F(0)
    for j, c in enumerate(cols):
        sub = _det_of_minor(a, rows[1:], [k for k in cols if k != c])
        total = total + a[rows[0]][c] * sub if j % 2 == 0 else total - a[rows[0]][c] * sub
    return total


def _det_gradient(v):
    # Jacobi's formula: d det(A) / dA_ij = det(A) (A^-1)_ji, the cofactor
    m = mpmath.matrix([[a for a in row] for row in v["A"]])
    inv, det = m**-1, mpmath.det(m)
    return {"A": np.array([[det * inv[j, i] for j in range(DET_L)] for i in range(DET_L)])}


add(
    "gradbench-det",
    f"GradBench, eval det: {REPO}/blob/main/cpp/gradbench/evals/det.hpp (primal, after cmpad's det_of_minor.hpp) and "
    f"python/gradbench/gradbench/evals/det/run.py (inputs)",
    f"Determinant of a {DET_L}x{DET_L} matrix by expansion by minors, as det_of_minor recurses (first row of each "
    f"minor, columns in order, signs alternating), written out whole (GradBench runs ell = 5 ... 11); "
    f"A = np.random.rand({DET_L * DET_L}) after np.random.seed({SEED}), row-major (GradBench sends A flat and "
    "wants the gradient flat in the same order).",
    _minor_text(list(range(DET_L)), list(range(DET_L))),
    {"A": _det_a},
    ["A"],
    lambda v: _det_of_minor(v["A"], list(range(DET_L)), list(range(DET_L))),
    _det_gradient,
)

# ------------------------------------------------------------------ gmm
# cpp/gradbench/evals/gmm.hpp (ADBench's gmm.h): the log-likelihood of n points under k Gaussians with
# weights softmax(alpha), means mu_k and precision factors Q_k = diag(exp(q_k)) + L_k (icf_k = [q_k, l_k],
# L_k strictly lower triangular, filled column by column), plus a Wishart prior (gamma, m).
# Inputs: python/gradbench/gradbench/evals/gmm/data_gen.py (ADBench's gmm-data-gen.py).
GMM_D, GMM_K, GMM_N, GMM_GAMMA, GMM_M = 2, 2, 3, 1.0, 0


def _gmm_inputs(d, k, n):
    # data_gen.generator: one uniform and one normal stream drawn for K_max = 200, N_max = 10000, then cut
    np.random.seed(SEED)
    uniform = np.random.uniform(0, 1, 200 * d)
    normal = np.random.normal(0, 1, 200 * (1 + d + d * (d - 1) // 2) + 10000 * d)
    icf_size = d + d * (d - 1) // 2
    alpha = normal[:k]
    icf = normal[k : k + k * icf_size].reshape(k, icf_size)
    x = normal[k + k * icf_size : k + k * icf_size + n * d].reshape(n, d)
    return alpha.tolist(), uniform[: k * d].reshape(k, d).tolist(), icf.tolist(), x.tolist()


_gmm_alpha, _gmm_means, _gmm_icf, _gmm_x = _gmm_inputs(GMM_D, GMM_K, GMM_N)


def _logsumexp(values):
    top = max(values)
    return mpmath.log(mpmath.fsum(mpmath.exp(a - top) for a in values)) + top


def _gmm(v):
    d, k, n, gamma, m = GMM_D, GMM_K, GMM_N, F(GMM_GAMMA), GMM_M
    alpha, mu, icf = v["alpha"], v["means"], v["icf"]
    x = [[F(a) for a in row] for row in _gmm_x]
    q = [[icf[c][j] for j in range(d)] for c in range(k)]
    ltri = [[icf[c][j] for j in range(d, len(icf[c]))] for c in range(k)]
    slse = F(0)
    for i in range(n):
        main = []
        for c in range(k):
            centred = [x[i][j] - mu[c][j] for j in range(d)]
            qx = [mpmath.exp(q[c][j]) * centred[j] for j in range(d)]
            idx = 0
            for col in range(d):  # Qtimesx: out[row] += l[idx] * x[col] for row below col
                for row in range(col + 1, d):
                    qx[row] += ltri[c][idx] * centred[col]
                    idx += 1
            main.append(alpha[c] + mpmath.fsum(q[c]) - mpmath.fsum(a * a for a in qx) / 2)
        slse += _logsumexp(main)
    nw = d + m + 1
    log_gamma_distrib = F(d * (d - 1)) / 4 * mpmath.log(PI) + mpmath.fsum(
        mpmath.loggamma(F(nw) / 2 + F(1 - j) / 2) for j in range(1, d + 1)
    )
    wishart_c = nw * d * (mpmath.log(gamma) - mpmath.log(2) / 2) - log_gamma_distrib
    prior = F(0)
    for c in range(k):
        frobenius = mpmath.fsum(mpmath.exp(a) ** 2 for a in q[c]) + mpmath.fsum(a * a for a in ltri[c])
        prior += gamma * gamma / 2 * frobenius - m * mpmath.fsum(q[c])
    constant = -F(n * d) / 2 * mpmath.log(2 * PI)
    return constant + slse - n * _logsumexp(alpha) - prior + k * wishart_c


def _gmm_text():
    lets = {}
    for c in range(GMM_K):
        lets[f"xc{c}"] = f"x - means[{c}]"
        lets[f"qx{c}_0"] = f"exp(icf[{c}, 0]) * xc{c}[:, 0]"
        lets[f"qx{c}_1"] = f"exp(icf[{c}, 1]) * xc{c}[:, 1] + icf[{c}, 2] * xc{c}[:, 0]"
        lets[f"main{c}"] = f"alpha[{c}] + icf[{c}, 0] + icf[{c}, 1] - 0.5 * (qx{c}_0 ** 2 + qx{c}_1 ** 2)"
    lets["slse"] = "sum(logsumexp(stack(main0, main1, axis=1), axis=1))"
    # the Wishart prior with gamma = 1, m = 0: n_w = d + m + 1 = 3; its constant holds log Gamma_2(3/2)
    lets["frobenius"] = "sum(exp(icf[:, 0:2]) ** 2) + sum(icf[:, 2] ** 2)"
    lets["wishart_c"] = "3 * 2 * (log(1.0) - 0.5 * log(2)) - (0.25 * 2 * 1 * log(pi) + lgamma(1.5) + lgamma(1.0))"
    lets["prior"] = "-(0.5 * 1.0 ** 2 * frobenius - 0 * sum(icf[:, 0:2])) + 2 * wishart_c"
    function = "-3 * 2 * 0.5 * log(2 * pi) + slse - 3 * logsumexp(alpha) + prior"
    return lets, function


_gmm_lets, _gmm_function = _gmm_text()
add(
    "gradbench-gmm",
    f"GradBench, eval gmm: {REPO}/blob/main/cpp/gradbench/evals/gmm.hpp (objective, from ADBench's gmm.h) and "
    f"python/gradbench/gradbench/evals/gmm/data_gen.py (inputs, ADBench's gmm-data-gen.py)",
    f"Gaussian mixture log-likelihood with a Wishart prior (gamma = {GMM_GAMMA}, m = {GMM_M}, GradBench's values), "
    f"d = {GMM_D}, k = {GMM_K}, n = {GMM_N} (GradBench runs d = 2 ... 32, k = 5 ... 50, n = 1000); "
    "differentiated in alpha, means and icf (icf_k = [log-diagonal q_k, strictly lower part l_k] of the precision "
    f"factor Q_k). Inputs as data_gen.generator({GMM_D}, {GMM_K}, {GMM_N}) draws them: np.random.seed({SEED}), "
    "200 d uniforms (means) and 200 (1 + d + d(d-1)/2) + 10000 d normals (alpha, icf, x, in that order).",
    _gmm_function,
    {"alpha": _gmm_alpha, "means": _gmm_means, "icf": _gmm_icf, "x": _gmm_x},
    ["alpha", "means", "icf"],
    _gmm,
    let=_gmm_lets,
)

# ------------------------------------------------------------------ kmeans
# cpp/gradbench/evals/kmeans.hpp: cost = sum_i min_j |P_i - C_j|^2. GradBench's "dir" is J / diag(H), the
# Newton step: H is diagonal, 2 |cluster j| on centroid j's entries. Inputs: evals/kmeans/run.py,
# points = np.random.rand(n, d), centroids = points[-k:] (each cluster then holds a point).
KM_N, KM_K, KM_D = 7, 2, 2
np.random.seed(SEED)  # run.py draws without a seed; GradBench's other evals seed 31337, so this does
_km_points = np.random.rand(KM_N, KM_D).tolist()
_km_centroids = _km_points[-KM_K:]


def _km_cost(v):
    p = [[F(a) for a in row] for row in _km_points]
    cost = F(0)
    for i in range(KM_N):
        closest = mpmath.inf
        for j in range(KM_K):
            closest = min(closest, mpmath.fsum((p[i][t] - v["centroids"][j][t]) ** 2 for t in range(KM_D)))
        cost += closest
    return cost


def _km_clusters(c):
    p = [[F(a) for a in row] for row in _km_points]
    dist = [[mpmath.fsum((p[i][t] - c[j][t]) ** 2 for t in range(KM_D)) for j in range(KM_K)] for i in range(KM_N)]
    clusters = []
    for row in dist:
        ordered = sorted(range(KM_K), key=lambda j: row[j])
        # a tie is a kink of min; a finite difference's step must not reach one either (float32's
        # central step, about 5e-3, moves a squared distance by about 1e-2): n = 8 has a point 0.0035
        # from a tie, where float32 differences step across it; n = 7's nearest is 0.15 away
        assert row[ordered[1]] - row[ordered[0]] > F("0.05"), "two centroids nearly tie"
        clusters.append(ordered[0])
    return p, clusters


def _km_gradient(v):
    # d cost / dC_j = 2 sum over the points nearest C_j of (C_j - P_i)
    c = v["centroids"]
    p, clusters = _km_clusters(c)
    g = np.array([[F(0)] * KM_D for _ in range(KM_K)], dtype=object)
    for i, j in enumerate(clusters):
        for t in range(KM_D):
            g[j, t] += 2 * (c[j][t] - p[i][t])
    return {"centroids": g}


def _km_hessian(v):
    # d2 cost / dC_ja dC_kb = 2 |cluster j| if (j, a) == (k, b), else 0
    _, clusters = _km_clusters(v["centroids"])
    h = np.full((KM_K, KM_D, KM_K, KM_D), F(0), dtype=object)
    for j, a in itertools.product(range(KM_K), range(KM_D)):
        h[j, a, j, a] = F(2 * clusters.count(j))
    return {"centroids": h}


_km_lets = {f"d{j}": f"sum((points - centroids[{j}]) ** 2, axis=1)" for j in range(KM_K)}
_km_common = dict(
    function=f"sum(min(stack({', '.join(_km_lets)}), axis=0))",
    point={"centroids": _km_centroids, "points": _km_points},
    wrt=["centroids"],
    f=_km_cost,
    let=_km_lets,
)
_km_source = (
    f"GradBench, eval kmeans: {REPO}/blob/main/cpp/gradbench/evals/kmeans.hpp (cost), evals/kmeans/README.md "
    "(dir = J / diag(H), the Newton step) and python/gradbench/gradbench/evals/kmeans/run.py (inputs)"
)
_km_what = (
    f"k-means cost sum_i min_j |P_i - C_j|^2, n = {KM_N} points in d = {KM_D}, k = {KM_K} centroids "
    f"(GradBench runs k = 10 ... 1000, n = 1000 ... 100000, d = 8, 16); points = np.random.rand({KM_N}, {KM_D}) "
    f"after np.random.seed({SEED}) (run.py draws without a seed), centroids = points[-{KM_K}:], as run.py takes them."
)
add(
    "gradbench-kmeans-gradient",
    _km_source,
    _km_what + " The gradient is GradBench's J (2 sum over each centroid's points of C_j - P_i).",
    exact=_km_gradient,
    **_km_common,
)
add(
    "gradbench-kmeans-hessian",
    _km_source,
    _km_what + " The Hessian is diagonal, 2 |cluster j| on centroid j's entries; GradBench's dir is the gradient "
    "divided by that diagonal, C_j minus the mean of its points.",
    exact=_km_hessian,
    operator="hessian",
    **_km_common,
)
