"""Reading a pipeline file's YAML safely: bounded in size, depth and alias expansion, with
the line of every key path so errors can name file:line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError
from pipeline.files import read_text_file

Key = tuple[Any, ...]

_LineLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: faster
_CACHE: dict[tuple[str, int, int], tuple[Any, dict[Key, int]]] = {}


def _compose_lines(node: yaml.Node, path: Key, lines: dict[Key, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
            lines[path + (key,)] = k.start_mark.line + 1
            _compose_lines(v, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _compose_lines(item, path + (i,), lines)


def read_yaml(path: Path) -> tuple[Any, dict[Key, int]]:
    """(data, line of every key path); parsed once per file version."""
    try:
        st = path.stat()
        memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        memo = None
    if memo in _CACHE:
        data, lines = _CACHE[memo]
        return copy.deepcopy(data), dict(lines)
    data, lines = _read_yaml(path)
    if memo is not None:
        _CACHE.clear()
        _CACHE[memo] = (copy.deepcopy(data), dict(lines))
    return data, lines


# A pipeline file is a page of text. These bounds refuse, in milliseconds, a file whose
# aliases expand exponentially (a "billion laughs" document) or that nests without end,
# before anything walks the expanded data.
MAX_BYTES = 1 << 20
MAX_NODES = 100_000  # scalars, lists and mappings once every alias is expanded
MAX_DEPTH = 64


def _check_shape(text: str, path: Path) -> None:
    """InputError naming the file when it is too large, too deep, or expands too far."""
    if len(text) > MAX_BYTES:
        raise InputError(f"{path}: too large for a pipeline file ({len(text)} characters; at most {MAX_BYTES})")
    sizes: dict[str, int] = {}  # anchor -> expanded size of the node it marks
    stack: list[list[Any]] = []  # [anchor, size so far] per open collection
    total = 0

    def add(size: int, line: int) -> None:
        nonlocal total
        total += size if not stack else 0
        if stack:
            stack[-1][1] += size
        if total > MAX_NODES or (stack and stack[-1][1] > MAX_NODES):
            raise InputError(f"{path}:{line}: the file's aliases expand to more than {MAX_NODES} values; "
                             "refused (write the values out, or use vars: and ${name})")

    for event in yaml.parse(text, Loader=_LineLoader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH:
                raise InputError(f"{path}:{line}: nested more than {MAX_DEPTH} levels deep; refused")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            add(size, line)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1, line)
        elif isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor, 1), line)


def _read_yaml(path: Path) -> tuple[Any, dict[Key, int]]:
    text = read_text_file(path, str(path))
    try:
        _check_shape(text, path)
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}:{line}: invalid YAML: {problem}") from None
    lines: dict[Key, int] = {}
    if node is not None:
        _compose_lines(node, (), lines)
    return data, lines
