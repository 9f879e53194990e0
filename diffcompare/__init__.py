"""diffcompare: symbolic and automatic differentiation, side by side."""

from diffcompare.runner import compare, run

__version__ = "0.1.0"
__all__ = ["compare", "run", "__version__"]
