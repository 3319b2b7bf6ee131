"""AWS's API model as botocore ships it: enums, required members and documented limits."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.loaders
import botocore.model


@cache
def service_model(service: str) -> Any:
    """The botocore service model of ``service`` (e.g. ``dms``), loaded once from the files botocore ships.

    Read through a loader, not a session: a session parses the user's AWS config file, and a broken
    one must not stop the offline plan (or anything else) from starting.
    """
    loader = botocore.loaders.create_loader()
    return botocore.model.ServiceModel(loader.load_service_model(service, "service-2"), service_name=service)


@cache
def service_regions(service: str) -> frozenset[str]:
    """Every region botocore's endpoint data lists ``service`` in, across partitions (loaded, not a session)."""
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    found: set[str] = set()
    for partition in endpoints["partitions"]:
        listed = partition.get("services", {}).get(service, {}).get("endpoints", {})
        found |= {name for name in listed if name in partition.get("regions", {})}
    return frozenset(found)


def shape(service: str, name: str) -> Any:
    """A named shape of ``service``."""
    return service_model(service).shape_for(name)


def enum(service: str, shape_name: str) -> tuple[str, ...]:
    """The values of an enum shape, e.g. ``enum("dms", "MigrationTypeValue")``."""
    values = shape(service, shape_name).enum
    if not values:
        raise LookupError(f"{service} shape {shape_name} is not an enum")
    return tuple(values)


def member_doc(service: str, operation: str, member: str | None = None) -> str:
    """Plain-text documentation of an operation, or of one member of its input."""
    op = service_model(service).operation_model(operation)
    html = op.documentation if member is None else op.input_shape.members[member].documentation
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


def documented_max_length(service: str, operation: str, member: str) -> int:
    """The length limit an input member's documentation states ("up to 31", "1-255 ...")."""
    text = member_doc(service, operation, member)
    found = re.search(r"up to (\d+) characters", text) or re.search(r"\b1-(\d+) (?:alphanumeric )?characters", text)
    if not found:
        raise LookupError(f"{service} {operation}.{member}: no length limit in its documentation")
    return int(found.group(1))


def required_members(service: str, operation: str) -> tuple[str, ...]:
    """Members the operation's input requires."""
    return tuple(service_model(service).operation_model(operation).input_shape.required_members)


def shape_member_doc(service: str, shape_name: str, member: str) -> str:
    """Plain-text documentation of one member of a named shape."""
    html = shape(service, shape_name).members[member].documentation
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or "")).strip()


def documented_pattern(service: str, shape_name: str, member: str) -> str:
    """The regular expression a member's documentation quotes (``Java regular expressions: "^(...)$"``)."""
    text = shape_member_doc(service, shape_name, member)
    found = re.search(r'regular expressions?: "(\^.*?\$)"', text)
    if not found:
        raise LookupError(f"{service} {shape_name}.{member}: no regular expression in its documentation")
    return found.group(1).replace("\\\\", "\\")


def documented_range_max(service: str, shape_name: str, member: str) -> int:
    """The upper bound of a "1-N ... characters" length a member's documentation states."""
    found = re.search(r"\b1-(\d+) Unicode characters", shape_member_doc(service, shape_name, member))
    if not found:
        raise LookupError(f"{service} {shape_name}.{member}: no length in its documentation")
    return int(found.group(1))


def listed_integers(service: str, shape_name: str, member: str, after: str) -> tuple[int, ...]:
    """The integers a member's documentation lists after ``after`` ("... includes 1, 2, 4, and 8.")."""
    text = shape_member_doc(service, shape_name, member)
    start = text.find(after)
    if start < 0:
        raise LookupError(f"{service} {shape_name}.{member}: no '{after}' in its documentation")
    listed = text[start + len(after) :].split(".", 1)[0]
    values = tuple(int(v) for v in re.findall(r"\d+", listed))
    if not values:
        raise LookupError(f"{service} {shape_name}.{member}: no values after '{after}'")
    return values
