"""Test-only backends that misbehave on purpose: they sleep, raise, or kill their process.
Registered for a subprocess through DIFFCOMPARE_BACKENDS (see test_isolation.py)."""

import os
import time

from diffcompare.backends import BaseBackend


class Sleeper(BaseBackend):
    name = "sleeper"

    def gradient(self, problem, dtype):
        time.sleep(600)


class Raiser(BaseBackend):
    name = "raiser"

    def gradient(self, problem, dtype):
        raise RuntimeError("this backend always fails")


class Exiter(BaseBackend):
    name = "exiter"

    def gradient(self, problem, dtype):
        os._exit(3)
