"""Reading the project's YAML files strictly: UTF-8, valid YAML, and no key set twice.

PyYAML keeps the last of two equal keys without a word (``service: ordersvc`` then
``service: paymentsvc`` deploys ``paymentsvc``); here a repeated key is an error naming both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dmsmig.config.bounds import parse_bound_problem
from dmsmig.config.errors import ConfigError


class _DuplicateKey(Exception):
    def __init__(self, key: Any, first: int, second: int):
        self.key, self.first, self.second = key, first, second


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key given twice."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key, seen[key], line)
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str, name: str) -> Any:
    """Parse ``text`` (from the file called ``name``); a problem raises :class:`ConfigError` naming the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as dup:
        raise ConfigError(
            [f"{name}: key '{dup.key}' is set twice, at line {dup.first} and line {dup.second}; keep one"], name
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        if "2002:merge" in problem:
            raise ConfigError(
                [
                    f"{name}: a YAML merge key (<<:) at {where} is not read here: put shared source settings "
                    "in migration.sourceDefaults (or repeat them)"
                ],
                name,
            ) from None
        started = getattr(err, "context_mark", None)
        context = getattr(err, "context", None)
        if started is not None and context and (mark is None or started.line != mark.line):
            # the parser notices a problem where it stops reading; the construct it was in began earlier
            where += f", in what starts at line {started.line + 1}, column {started.column + 1} ({context})"
        raise ConfigError([f"{name}: not valid YAML at {where} ({problem}); fix the syntax there"], name) from None
    except (ValueError, RecursionError) as err:
        bound = parse_bound_problem(err)
        if bound is None:
            raise
        raise ConfigError([f"{name}: {bound}; no stack config or mapping spec needs that"], name) from None


def read_yaml(path: Path) -> Any:
    """Read and parse a YAML file; missing, unreadable, non-UTF-8 or invalid files raise :class:`ConfigError`."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: not found"], name) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory; a YAML file is expected"], name) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text (a binary file?); save it as UTF-8 YAML"], name) from None
    except OSError as err:
        raise ConfigError([f"{path}: cannot be read ({err.strerror})"], name) from None
    return parse_yaml(text, name)
