"""Load a packaged YAML data file into typed, frozen objects, or fail loudly.

PyYAML keeps no line numbers after parsing, and pydantic reports errors by
path, so the loader builds mappings and sequences that remember the line of
each key and item; a validation error is then reported at the line of the
deepest part of its path that exists in the file. Duplicate keys, which YAML
parsers silently merge, are rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from hanoinet.errors import ConventionDataError

M = TypeVar("M", bound=BaseModel)

DATA_PACKAGE = "hanoinet.convention.data"


class LineDict(dict[Any, Any]):
    """A mapping that remembers the line (1-based) where it and each key start."""

    line: int
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence that remembers the line where it and each item start."""

    line: int
    item_lines: list[int]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML has it (ten times faster: every command starts sooner)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise _DuplicateKey(key, line, result.key_lines[key])
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(f"duplicate key '{key}' (first given on line {first})")
        self.line = line


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings: the models parse them, so a bad date is reported like any other field.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML text, rejecting duplicate keys; errors name ``name`` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except _DuplicateKey as exc:
        raise ConventionDataError(name, exc.line, str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConventionDataError(name, line, f"not valid YAML: {exc.problem}") from None


def line_of(data: Any, path: Sequence[int | str]) -> int | None:
    """The line of the deepest element of ``path`` present in ``data``."""
    line = getattr(data, "line", None)
    node = data
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines[part]
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def validate(model: type[M], data: Any, name: str) -> M:
    """Validate parsed data into ``model``; the first error names file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = [p for p in error["loc"] if isinstance(p, int | str)]
        field = ".".join(str(p) for p in path) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the other entries)"
        raise ConventionDataError(name, line_of(data, path), f"{field}: {message}") from None


def data_root() -> Traversable:
    """The packaged data folder."""
    return resources.files(DATA_PACKAGE)


def load_file(model: type[M], filename: str, root: Traversable | None = None) -> M:
    """Load ``filename`` from ``root`` (default: the packaged data folder) into ``model``."""
    text = (root or data_root()).joinpath(filename).read_text(encoding="utf-8")
    return validate(model, parse_yaml(text, filename), filename)
