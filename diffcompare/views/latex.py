"""Expressions as LaTeX, and LaTeX as SVG rendered offline by matplotlib's mathtext.

The function is typeset *as written*: from its Python syntax tree (`ast.parse`
only builds the tree, it runs nothing), not from SymPy, which would reorder the
terms and rewrite sigmoid(u) as 1/(1 + e^{-u}). The text has already passed the
parser's whitelist when the problem loaded; anything unexpected here falls back
to the text itself, never to an error.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from diffcompare.lang.primitives import PRIMITIVES

GREEK = set(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)

# Functions with a typeset name of their own (Primitive.latex); others are \operatorname{name}.
NAMED = {name: p.latex for name, p in PRIMITIVES.items() if p.latex}

# Python's binding strength, weakest first (higher binds tighter).
_COMPARE, _ADD, _MUL, _UNARY, _POW, _ATOM = range(6)
_RELATIONS = {ast.Lt: "<", ast.LtE: r"\leq", ast.Gt: ">", ast.GtE: r"\geq", ast.Eq: "=", ast.NotEq: r"\neq"}


def name_latex(name: str) -> str:
    """x → x, alpha → \\alpha, x_1 → x_{1}, loss → \\mathrm{loss}."""
    base, _, sub = name.partition("_")
    if sub and base and "_" not in sub:
        return f"{name_latex(base)}_{{{name_latex(sub)}}}"
    if name in GREEK:
        return "\\" + name
    if len(name) == 1 or name.isdigit():
        return name
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def _number_latex(text: str) -> str:
    match = re.fullmatch(r"([0-9.]+)[eE]([+-]?[0-9]+)", text.replace("_", ""))
    if not match:
        return text.replace("_", "")
    mantissa, exponent = match.group(1), int(match.group(2))
    power = f"10^{{{exponent}}}"
    return power if mantissa in ("1", "1.0", "1.") else rf"{mantissa} \cdot {power}"


class _Printer:
    def __init__(self, text: str):
        self.text = text

    def __call__(self, node: ast.AST) -> tuple[str, int]:
        """(LaTeX, binding strength) of node."""
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ValueError(f"no LaTeX for {type(node).__name__}")
        return method(node)

    def wrap(self, node: ast.AST, at_least: int) -> str:
        latex, strength = self(node)
        return rf"\left({latex}\right)" if strength < at_least else latex

    def _Expression(self, node):
        return self(node.body)

    def _Constant(self, node):
        segment = ast.get_source_segment(self.text, node) or repr(node.value)
        return _number_latex(segment), _ATOM

    def _Name(self, node):
        return name_latex(node.id), _ATOM

    def _UnaryOp(self, node):
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        return sign + self.wrap(node.operand, _UNARY), _UNARY

    def _BinOp(self, node):
        op = node.op
        if isinstance(op, ast.Pow):  # right-associative; -x**2 is -(x**2)
            return f"{{{self.wrap(node.left, _ATOM)}}}^{{{self(node.right)[0]}}}", _POW
        if isinstance(op, ast.Div):
            return rf"\frac{{{self(node.left)[0]}}}{{{self(node.right)[0]}}}", _ATOM
        if isinstance(op, (ast.Add, ast.Sub)):
            sign = "+" if isinstance(op, ast.Add) else "-"
            return f"{self.wrap(node.left, _ADD)} {sign} {self.wrap(node.right, _MUL)}", _ADD
        if isinstance(op, ast.Mod):
            return rf"{self.wrap(node.left, _MUL)} \,\mathrm{{mod}}\, {self.wrap(node.right, _UNARY + 1)}", _MUL
        if isinstance(op, (ast.Mult, ast.MatMult)):
            left, right = self.wrap(node.left, _MUL), self.wrap(node.right, _UNARY + 1)
            # Juxtaposition reads as a product unless a number follows (2 · 3, x · 10^{-8}).
            joint = r" \cdot " if isinstance(op, ast.MatMult) or right[:1].isdigit() else r"\,"
            return left + joint + right, _MUL
        raise ValueError(f"no LaTeX for {type(op).__name__}")

    def _Compare(self, node):
        parts = [self.wrap(node.left, _ADD)]
        for op, right in zip(node.ops, node.comparators):
            parts += [_RELATIONS[type(op)], self.wrap(right, _ADD)]
        return " ".join(parts), _COMPARE

    def _Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if len(node.args) == 1 and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp)):
            return self._loop(name, node.args[0])
        args = [self(a)[0] for a in node.args]
        if name == "sqrt" and len(args) == 1:
            return rf"\sqrt{{{args[0]}}}", _ATOM
        if name == "abs" and len(args) == 1:
            return rf"\left|{args[0]}\right|", _ATOM
        if name in ("floor", "ceil") and len(args) == 1:
            side = "floor" if name == "floor" else "ceil"
            return rf"\left\l{side} {args[0]} \right\r{side}", _ATOM
        if name == "cbrt" and len(args) == 1:
            return rf"\sqrt[3]{{{args[0]}}}", _ATOM
        if name == "norm" and len(args) == 1:
            return rf"\left\Vert {args[0]}\right\Vert", _ATOM
        if name == "exp" and len(args) == 1 and len(args[0]) <= 24:
            return f"e^{{{args[0]}}}", _POW
        if name == "transpose" and len(args) == 1:
            return f"{{{self.wrap(node.args[0], _ATOM)}}}^{{\\top}}", _POW
        args += [rf"\mathrm{{{k.arg}}}={self(k.value)[0]}" for k in node.keywords if k.arg]
        head = NAMED.get(name, r"\operatorname{" + name.replace("_", r"\_") + "}")
        return rf"{head}\left({', '.join(args)}\right)", _ATOM

    def _loop(self, name, comp):
        """sum(t for i in range(n)) as \\sum_{i=0}^{n-1} t; prod as \\prod; max, min, mean,
        logsumexp over the index's range."""
        loop = comp.generators[0]
        it, index = loop.iter, self(loop.target)[0]
        bounds = [ast.Constant(0), *it.args] if len(it.args) == 1 else list(it.args)
        low = self(bounds[0])[0]
        stop = bounds[1]
        if isinstance(stop, ast.Constant) and type(stop.value) is int:
            high = str(stop.value - 1)
        elif isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Sub) and isinstance(stop.right, ast.Constant):
            high = f"{self.wrap(stop.left, _ADD)} - {stop.right.value + 1}"
        else:
            high = f"{self.wrap(stop, _ADD)} - 1"
        term = self.wrap(comp.elt, _MUL)
        if name in ("sum", "prod"):
            big = r"\sum" if name == "sum" else r"\prod"
            return rf"{big}_{{{index}={low}}}^{{{high}}} {term}", _ADD
        head = NAMED.get(name, r"\operatorname{" + name + "}")
        return rf"{head}_{{{low} \le {index} \le {high}}} {term}", _ADD

    def _List(self, node):  # an array written out: [a, b], [[a, b], [c, d]]
        return rf"\left[{', '.join(self(e)[0] for e in node.elts)}\right]", _ATOM

    def _Tuple(self, node):  # a shape: reshape(A, (2, 3))
        return rf"\left({', '.join(self(e)[0] for e in node.elts)}\right)", _ATOM

    def _Attribute(self, node):  # A.T, the one attribute the language has
        if node.attr != "T":
            raise ValueError(f"no LaTeX for the attribute {node.attr}")
        return f"{{{self.wrap(node.value, _ATOM)}}}^{{\\top}}", _POW

    def _Subscript(self, node):
        index = ast.get_source_segment(self.text, node.slice) or ""
        base = self.wrap(node.value, _ATOM)
        return f"{{{base}}}_{{{index.replace(' ', '')}}}", _ATOM


def expression_latex(text: str) -> str:
    """LaTeX of a whitelisted expression as written; ValueError when it has no such form."""
    tree = ast.parse(text.strip(), mode="eval")  # builds the tree only; nothing is run
    return _Printer(text.strip())(tree)[0]


_SEGMENT = {1: "M", 2: "L", 3: "Q", 4: "C", 79: "Z"}  # matplotlib Path codes -> SVG path commands
_VERTICES = {1: 1, 2: 1, 3: 2, 4: 3}  # vertices per segment: MOVETO, LINETO, CURVE3, CURVE4
_GLYPHS: dict[str, tuple[str, str]] = {}  # glyph id -> (matplotlib's name of the glyph, its SVG definition)
_GLYPH_REFERENCE = re.compile(r'href="#(g[0-9a-f]{5,}(?:-[0-9_]+)?)"')


def _path_data(vertices, codes) -> str:
    """SVG path data of a matplotlib path given in SVG's frame, one decimal."""
    commands, i = [], 0
    while i < len(codes):
        code = int(codes[i])
        if code == 79:  # CLOSEPOLY carries a vertex that is not drawn
            commands.append("Z")
            i += 1
            continue
        count = _VERTICES[code]
        points = " ".join(f"{_short(x)} {_short(y)}" for x, y in vertices[i : i + count])
        commands.append(_SEGMENT[code] + points)
        i += count
    return "".join(commands)


def _short(value: float) -> str:
    """A coordinate to one decimal, without a trailing .0 or a -0."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _glyph_id(name: str, vertices, codes, scale: float) -> str:
    """A short id for a glyph (matplotlib's name: font and glyph index) at a scale, the same
    in every run; registered with its outline, upside down (SVG's y axis points down). A
    glyph at another scale than 1 (a subscript) is a scaled <use> of the outline."""
    import hashlib

    digest = hashlib.blake2s(name.encode()).hexdigest()
    for length in range(5, len(digest) + 1):
        key = "g" + digest[:length]
        known = _GLYPHS.get(key)
        if known is None:
            flipped = [(x, -y) for x, y in vertices]
            _GLYPHS[key] = (name, f'<path id="{key}" d="{_path_data(flipped, codes)}"/>')
        elif known[0] != name:
            continue
        break
    else:  # 256 bits collided: unreachable
        raise ValueError(f"no id for the glyph {name}")
    if abs(scale - 1) < 1e-9:
        return key
    scaled = f"{key}-{scale:.4g}".replace(".", "_")
    _GLYPHS.setdefault(scaled, (name, f'<use id="{scaled}" href="#{key}" transform="scale({scale:.4g})"/>'))
    return scaled


@lru_cache(maxsize=1024)
def latex_svg(latex: str, size: float = 17.0) -> str | None:
    """The LaTeX typeset by matplotlib's mathtext as SVG, or None where mathtext cannot
    typeset it (SymPy's Piecewise, say). Each glyph is a <use> of its outline, defined
    once for the whole page (glyph_defs): a formula costs a few dozen bytes a character,
    not the outlines' kilobytes. Coordinates are mathtext's, 100 units to the em, the
    baseline of the first glyph at y = 0 (most glyphs need no y)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    try:
        glyphs, outlines, rects = text_to_path.get_glyphs_mathtext(FontProperties(size=size), f"${latex}$")
    except Exception:  # mathtext's parser raises ValueError and pyparsing's own exceptions
        return None
    if not glyphs and not rects:
        return None
    base = glyphs[0][2] if glyphs else 0.0
    corners = []
    uses = []
    for name, x, y, scale in glyphs:
        vertices, codes = outlines[name]
        y -= base
        if len(vertices):
            corners += [vertices.min(axis=0) * scale + (x, y), vertices.max(axis=0) * scale + (x, y)]
        key = _glyph_id(name, vertices, codes, scale)
        at = f' x="{round(x)}"' + (f' y="{round(-y)}"' if round(y) else "")
        uses.append(f'<use href="#{key}"{at}/>')
    for vertices, _ in rects:
        (x0, y0), (x1, y1) = vertices[0], vertices[2]
        y0, y1 = y0 - base, y1 - base
        corners += [(x0, y0), (x1, y1)]
        uses.append(f'<rect x="{_short(x0)}" y="{_short(-y1)}" width="{_short(x1 - x0)}" height="{_short(y1 - y0)}"/>')
    if not corners:
        return None
    # The control points' box holds the curves: cheaper than exact Bézier extents, a hair larger.
    import numpy as np

    corners = np.asarray(corners, dtype=float)
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    pad = 12.0  # 2 px at 17 px
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    px = size / text_to_path.FONT_SCALE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * px:.1f}" height="{height * px:.1f}" '
        f'viewBox="{_short(x0 - pad)} {_short(-y1 - pad)} {_short(width)} {_short(height)}" '
        f'fill="currentColor" aria-hidden="true">{"".join(uses)}</svg>'
    )


def glyph_defs(page: str) -> str:
    """The outlines of the glyphs that the formulas in `page` use, as one hidden <svg>
    to put in the same HTML document (a <use> may point into another <svg> of it)."""
    keys = set(_GLYPH_REFERENCE.findall(page))
    keys |= {k.split("-")[0] for k in keys}  # a scaled glyph's outline
    if not keys:
        return ""
    paths = "".join(_GLYPHS[k][1] for k in sorted(keys) if k in _GLYPHS)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" style="position:absolute" '
        f'aria-hidden="true"><defs>{paths}</defs></svg>'
    )
