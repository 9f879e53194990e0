"""diffcompare: symbolic and automatic differentiation, side by side."""

__version__ = "0.1.0"
__all__ = ["compare", "run", "__version__"]


def __getattr__(name: str):
    # run and compare on first use: the pytest plugin imports this package in
    # every pytest run of an environment that has it, and the runner pulls in
    # pandas and NumPy (half a second) that such a run may never need.
    if name in ("compare", "run"):
        from diffcompare.running import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'diffcompare' has no attribute {name!r}")
