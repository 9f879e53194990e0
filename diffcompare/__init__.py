"""diffcompare: symbolic and automatic differentiation, side by side."""

from diffcompare.version import __version__

__all__ = ["compare", "run", "__version__"]


def __getattr__(name: str):
    # run and compare on first use: the pytest plugin imports this package in
    # every pytest run of an environment that has it, and the API pulls in
    # pandas and NumPy (half a second) that such a run may never need.
    if name in ("compare", "run"):
        from diffcompare import api

        return getattr(api, name)
    raise AttributeError(f"module 'diffcompare' has no attribute {name!r}")
