"""JAX's persistent compilation cache: every XLA compilation of the jax backend goes through
one folder on disk, so that a second run (or a second worker) reads what the first compiled.

On by default, in the user's cache folder: `$DIFFCOMPARE_CACHE_DIR/jax` where that variable is
set, else `$XDG_CACHE_HOME/diffcompare/jax`, else `~/.cache/diffcompare/jax`. Off for a process
with `DIFFCOMPARE_JAX_CACHE=0` in its environment, or by configure(False) (the command's
`--no-jax-cache`). A folder that cannot be created or written costs nothing but the cache: the
run goes on without one, and no row says anything about it.

configure() records what is wanted and needs no jax; it is given to JAX at once where jax is
loaded, and by diffcompare.backends.jax_backend when it loads jax, before its first
compilation. A worker process is told through RunOptions.apply(). JAX keeps what it compiles
for as long as the folder lasts (its jax_compilation_cache_max_size is left at no limit: a
limit makes JAX read every entry's time stamp on each write); deleting the folder is safe.

The cache is trusted, as JAX's documentation warns: an entry is code JAX will run. The folder
is the user's own, made with the user's permissions.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ENV_SWITCH = "DIFFCOMPARE_JAX_CACHE"  # "0": off by default in this process
ENV_ROOT = "DIFFCOMPARE_CACHE_DIR"  # diffcompare's cache root (the jax folder is under it)

_UNSET = object()
_wanted: dict = {"enabled": None, "folder": None}  # None: the environment's default
_applied: object = _UNSET  # the folder JAX was last given (None: no cache), or _UNSET
_usable: dict[str, bool] = {}  # folder -> whether it could be made and written


def default_enabled() -> bool:
    """On unless DIFFCOMPARE_JAX_CACHE is 0 (or off, false, no) in this process's environment."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "off", "false", "no")


def cache_root() -> Path:
    """diffcompare's cache folder: $DIFFCOMPARE_CACHE_DIR, $XDG_CACHE_HOME/diffcompare or ~/.cache/diffcompare."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(os.path.expanduser(xdg)) else Path.home() / ".cache"
    return base / "diffcompare"


def default_folder() -> Path:
    return cache_root() / "jax"


def enabled() -> bool:
    """Whether this process asks for the cache (configure(), else the environment)."""
    return default_enabled() if _wanted["enabled"] is None else bool(_wanted["enabled"])


def folder() -> str | None:
    """The folder configure() was given; None: the default one (default_folder())."""
    return _wanted["folder"]


def configure(enabled: bool | None = True, folder: str | os.PathLike | None = None) -> None:
    """The cache on (in `folder`, else the default one) or off, for this process's jax
    compilations from now on; enabled=None: as the environment says. Where jax is loaded
    already, JAX is told at once; else when diffcompare.backends.jax_backend loads it."""
    _wanted["enabled"] = enabled
    _wanted["folder"] = None if folder is None else os.fspath(folder)
    if "jax" in sys.modules:
        apply()


def in_use() -> str | None:
    """The folder JAX was given by apply() (None: no cache, or not applied yet)."""
    return None if _applied is _UNSET else _applied


def _writable(path: str) -> bool:
    """Whether the folder exists or can be made, and takes a file (checked once per process)."""
    if path not in _usable:
        try:
            os.makedirs(path, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
                pass
            _usable[path] = True
        except OSError:
            _usable[path] = False
    return _usable[path]


def apply() -> str | None:
    """Give JAX the configured cache (or none) if that is not what it has; imports jax.
    Returns the folder in use, None for no cache. Called before the first compilation, JAX
    reads the folder from its first compilation on; called later, JAX's cache is reset so
    that the next compilation takes the new folder."""
    global _applied
    target = None
    if enabled():
        wanted = _wanted["folder"] or os.fspath(default_folder())
        target = wanted if _writable(wanted) else None
    if target == _applied:
        return target
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    # every compilation is written, however quick or small (JAX's defaults keep those under 1 s out):
    # the backend's programs are many and small, and most take well under a second to compile
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # -1: no size limit, no override
    jax.config.update("jax_compilation_cache_dir", target)
    jax.config.update("jax_enable_compilation_cache", target is not None)
    compilation_cache.reset_cache()
    _applied = target
    return target
