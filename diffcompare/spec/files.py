"""Problem files: found under the paths given, read with the safe loader only
(diffcompare.spec.safeyaml: SafeLoader plus limits checked while reading), each
document built into problems; a bad document costs only itself.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from diffcompare.lang.limits import LIMITS
from diffcompare.spec.problem import Problem, ProblemError, base_name, build_problems
from diffcompare.spec.safeyaml import LimitError, documents
from diffcompare.spec.yamlmap import key_map


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, LimitError):
        problem = exc.message
    else:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"YAML does not parse: {where}{problem}"


def _read(path: Path) -> str:
    """The file's text, refused past the size limit before more than the limit is read."""
    limit = LIMITS["file_bytes"]
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"the file is larger than {limit} bytes, the limit (--max-file-bytes)")
    return data.decode("utf-8")


def load_file(path: str | Path) -> tuple[list[Problem], list[ProblemError]]:
    """All problems of one file, and one error per document that failed. Whatever a
    document holds, it costs only itself: every exception becomes its one-line error."""
    path = Path(path)
    file, stem = str(path), path.stem
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    try:
        text = _read(path)
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ProblemError(file, stem, "", f"cannot read the file: {exc}")]
    except ValueError as exc:
        return [], [ProblemError(file, stem, "", str(exc))]
    for index, read in enumerate(documents(text), start=1):
        default_name = stem if index == 1 else f"{stem}-{index}"
        if read.error is not None:
            errors.append(ProblemError(file, default_name, "", _yaml_message(read.error)))
            continue
        document = read.value
        if document is None:  # an empty document, such as after a trailing ---
            continue
        name = default_name
        try:
            name = base_name(document, default_name)
            keys = key_map(read.node)
            if keys.repeated:
                key, first, again = keys.repeated[0]
                message = f"written twice, on lines {first} and {again}; YAML would silently keep the second"
                errors.append(ProblemError(file, name, key, message, again))
                continue
            built, failed = build_problems(document, file, default_name)
            problems += built
            errors += [e.at(keys) for e in failed]
        except RecursionError:
            errors.append(ProblemError(file, name, "", "the document is nested too deeply"))
        except MemoryError:
            errors.append(ProblemError(file, name, "", "the document needs more memory than this machine has"))
        except Exception as exc:  # a bug of ours must still cost only this document
            errors.append(ProblemError(file, name, "", f"cannot be loaded: {type(exc).__name__}: {exc}"))
    if not problems and not errors:
        errors.append(ProblemError(file, stem, "", "the file holds no problem (it is empty)"))
    return problems, errors


def find_problem_files(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders searched recursively for *.yaml and *.yml, sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()))
        else:
            files.append(p)
    return files
