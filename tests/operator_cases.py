"""One small problem per operator, each with its closed form written by hand with NumPy (never
through diffcompare's own engines): the cases the AD and symbolic backends' operator tests
(test_operators_ad, test_autograd_backend, test_symengine_backend) hold each backend to."""

import numpy as np

X0, X1 = 0.3, 0.7
C = 1.5  # a held variable: a constant to every operator
V = np.array([0.5, -1.0])  # a direction
U = np.array([1.0, 2.0])  # a cotangent

# f = [c·x0·x1, sin(x0)]: J = [[c·x1, c·x0], [cos x0, 0]]
VECTOR_F = {"function": "[c * x[0] * x[1], sin(x[0])]", "point": {"x": [X0, X1], "c": C}, "wrt": ["x"]}
J = np.array([[C * X1, C * X0], [np.cos(X0), 0.0]])
# f = x0²·x1 + exp(x1): ∇f = [2·x0·x1, x0² + exp(x1)], H = [[2·x1, 2·x0], [2·x0, exp(x1)]]
SCALAR_F = {"function": "x[0] ** 2 * x[1] + exp(x[1])", "point": {"x": [X0, X1]}, "wrt": ["x"]}
H = np.array([[2 * X1, 2 * X0], [2 * X0, np.exp(X1)]])
T = 0.9  # f = sin(t)·exp(t): f'' = 2·cos(t)·exp(t)


def with_keys(document: dict, operator: str, **extra) -> dict:
    point = {**document["point"], **extra.pop("point", {})}
    return {**document, "operator": operator, "point": point, **extra}


# operator -> (document, {result name: the closed form})
CASES = {
    "gradient": (SCALAR_F, {"x": np.array([2 * X0 * X1, X0**2 + np.exp(X1)])}),
    "jacobian": (with_keys(VECTOR_F, "jacobian"), {"x": J}),
    "jvp": (with_keys(VECTOR_F, "jvp", point={"v": V.tolist()}, direction={"x": "v"}), {"x": J @ V}),
    "vjp": (with_keys(VECTOR_F, "vjp", point={"u": U.tolist()}, cotangent="u"), {"x": U @ J}),
    "hessian": (with_keys(SCALAR_F, "hessian"), {"x": H}),
    "hvp": (with_keys(SCALAR_F, "hvp", point={"v": V.tolist()}, direction={"x": "v"}), {"x": H @ V}),
    "second_derivative": (
        {"function": "sin(t) * exp(t)", "point": {"t": T}, "operator": "second_derivative"},
        {"t": np.array(2 * np.cos(T) * np.exp(T))},
    ),
}
