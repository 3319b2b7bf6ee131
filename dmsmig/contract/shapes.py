"""Check one API request against its botocore input shape.

``botocore.validate.validate_parameters`` checks required members, types and minimum lengths;
AWS also refuses values outside an enum, above a maximum length or value, or off a pattern,
which botocore leaves to the service. :func:`request_problems` checks both, from the model.
"""

from __future__ import annotations

from typing import Any

import regex
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from dmsmig.contract.model import service_model
from dmsmig.contract.redact import redact, shown


def request_problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every way ``params`` breaks ``service.operation``'s input shape (empty when AWS would accept it)."""
    shape = service_model(service).operation_model(operation).input_shape
    problems: list[str] = []
    try:
        validate_parameters(params, shape)
    except ParamValidationError as err:
        problems += [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
    _walk(params, shape, operation, problems)
    return [redact(p) for p in problems]


def _shown(value: str, shape: Any, path: str) -> str:
    return shown(value, path.rsplit(".", 1)[-1], bool(getattr(shape, "metadata", {}).get("sensitive")))


def _walk(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _walk(value[name], member, f"{path}.{name}", problems)
    elif kind == "list" and isinstance(value, list):
        _range(len(value), shape, path, "items", problems)
        for i, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{i}]", problems)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _walk(key, shape.key, f"{path}.<key>", problems)
            _walk(item, shape.value, f"{path}.{key}", problems)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {_shown(value, shape, path)} is not one of {', '.join(shape.enum)}")
        _range(len(value), shape, path, "characters", problems)
        pattern = shape.metadata.get("pattern")
        # AWS patterns are Java regular expressions (\p{L} ...): the regex module reads them.
        if pattern and not regex.fullmatch(pattern, value, flags=regex.DOTALL):
            problems.append(f"{path}: {_shown(value, shape, path)} does not match the pattern {pattern}")
    elif kind in ("integer", "long", "double", "float") and isinstance(value, int | float):
        _range(value, shape, path, "", problems)


def _range(amount: float, shape: Any, path: str, unit: str, problems: list[str]) -> None:
    maximum = shape.metadata.get("max")
    if maximum is not None and amount > maximum:
        suffix = f" {unit}" if unit else ""
        problems.append(f"{path}: {amount}{suffix} is above the maximum {maximum}{suffix}")
