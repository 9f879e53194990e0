"""Problem files: found under the paths given, read with `yaml.safe_load_all` only,
each document built into problems; a bad document costs only itself.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from diffcompare.spec.problem import Problem, ProblemError, base_name, build_problems
from diffcompare.spec.yamlmap import key_maps


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"YAML does not parse: {where}{problem}"


def load_file(path: str | Path) -> tuple[list[Problem], list[ProblemError]]:
    """All problems of one file, and one error per document that failed."""
    path = Path(path)
    file, stem = str(path), path.stem
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ProblemError(file, stem, "", f"cannot read the file: {exc}")]
    documents = yaml.safe_load_all(text)
    maps = key_maps(text)
    index = 0
    while True:
        index += 1
        default_name = stem if index == 1 else f"{stem}-{index}"
        try:
            document = next(documents)
        except StopIteration:
            break
        except yaml.YAMLError as exc:
            errors.append(ProblemError(file, default_name, "", _yaml_message(exc)))
            break
        except RecursionError:
            errors.append(ProblemError(file, default_name, "", "YAML does not parse: nested too deeply"))
            break
        if document is None:  # an empty document, such as after a trailing ---
            continue
        keys = maps[index - 1] if index - 1 < len(maps) else None
        if keys is not None and keys.repeated:
            path, first, again = keys.repeated[0]
            message = f"written twice, on lines {first} and {again}; YAML would silently keep the second"
            errors.append(ProblemError(file, base_name(document, default_name), path, message, again))
            continue
        try:
            built, failed = build_problems(document, file, default_name)
            problems += built
            errors += [e.at(keys) for e in failed]
        except RecursionError:
            errors.append(ProblemError(file, default_name, "", "the document is nested too deeply"))
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
