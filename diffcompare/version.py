"""The package's version, in a module of its own that imports nothing, so that every
layer (the rows carry it) can read it without importing the package's API."""

__version__ = "0.1.0"
