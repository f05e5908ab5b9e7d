"""A batch of runs of one pipeline file: a matrix of variable values, the file's variants,
or both (every matrix row in every variant), each row one run with its own outputs.

    reelforge run promo.yaml --matrix variants.csv

The matrix is a CSV file whose header names pipeline variables (the file's `vars:`, or a
variant's) and whose rows give their values, or a `matrix:` key in the pipeline file (a
CSV path relative to the file, or a list of mappings). A cell is read as a YAML scalar
(0.5 is a number, true a boolean); an empty cell keeps the file's value. Every row is
validated before anything runs: a bad row is an InputError naming the matrix file, the
row and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pipeline.errors import InputError
from pipeline.files import check_file_name
from pipeline.run.spec import PipelineSpec, load_spec, variant_names
from pipeline.run.validation import hint
from pipeline.run.yamlfile import read_yaml


@dataclass
class MatrixRow:
    """One row of a matrix: its values and where it was written."""

    number: int  # 1-based, as a user counts rows
    values: dict[str, Any]
    where: str  # "variants.csv:4" or "promo.yaml:12"


@dataclass
class BatchRow:
    """One run of a batch: the spec to run and what made it."""

    index: int  # 1-based position in the batch
    spec: PipelineSpec
    matrix_row: MatrixRow | None = None
    variant: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # the matrix row's
    fixed: dict[str, Any] = field(default_factory=dict)  # set for the whole batch (--var)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        parts = []
        if self.matrix_row is not None:
            parts.append(f"row {self.matrix_row.number}")
        if self.variant is not None:
            parts.append(f"variant {self.variant}")
        return ", ".join(parts) or "run"


# ---- reading a matrix ------------------------------------------------------------------
def _cell(text: str) -> Any:
    import yaml

    text = text.strip()
    if not text:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (str, int, float, bool)) else text


def read_csv(path: Path, where: str = "--matrix") -> list[MatrixRow]:
    """The rows of a CSV matrix (header: variable names); empty cells are left out."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{where} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where} {path}: cannot read ({exc.__class__.__name__})") from None
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: the matrix is empty; the first line names the variables") from None
    for i, name in enumerate(header, 1):
        if not name:
            raise InputError(f"{path}:1: column {i} has no name; the first line names the variables")
        if header.index(name) != i - 1:
            raise InputError(f"{path}:1: column '{name}' appears twice")
    rows: list[MatrixRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        number = len(rows) + 1
        if len(cells) > len(header):
            raise InputError(f"{path}:{line}: row {number}: {len(cells)} cells but the header names "
                             f"{len(header)} columns")
        values = {h: _cell(c) for h, c in zip(header, cells)}
        rows.append(MatrixRow(number, {k: v for k, v in values.items() if v is not None}, f"{path}:{line}"))
    if not rows:
        raise InputError(f"{path}: the matrix has a header but no rows")
    return rows


def file_matrix(path: Path) -> list[MatrixRow] | None:
    """The rows of the pipeline file's own `matrix:` key, or None when it has none."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict) or data.get("matrix") is None:
        return None
    matrix = data["matrix"]
    if isinstance(matrix, str):
        csv_path = Path(matrix) if Path(matrix).is_absolute() else path.resolve().parent / matrix
        return read_csv(csv_path, where=f"{path}:{lines.get(('matrix',), 1)}: matrix:")
    if not isinstance(matrix, list) or not matrix:
        raise InputError(f"{path}:{lines.get(('matrix',), 1)}: matrix: a CSV file or a list of mappings "
                         "of variable values")
    rows = []
    for i, item in enumerate(matrix):
        line = lines.get(("matrix", i), lines.get(("matrix",), 1))
        if not isinstance(item, dict) or not item:
            raise InputError(f"{path}:{line}: matrix[{i}]: each row is a mapping of variable: value")
        rows.append(MatrixRow(i + 1, {str(k): v for k, v in item.items() if v is not None}, f"{path}:{line}"))
    return rows


# ---- checking rows ---------------------------------------------------------------------
def declared_vars(path: Path) -> set[str]:
    """Every variable the file declares: its `vars:` and each variant's."""
    data, _ = read_yaml(path)
    if not isinstance(data, dict):
        return set()
    found = {str(k) for k in (data.get("vars") or {})} if isinstance(data.get("vars"), dict) else set()
    variants = data.get("variants")
    if isinstance(variants, dict):
        for body in variants.values():
            if isinstance(body, dict) and isinstance(body.get("vars"), dict):
                found.update(str(k) for k in body["vars"])
    return found


def _row_error(row: MatrixRow, columns: Iterable[str], exc: InputError) -> InputError:
    cols = list(columns)
    what = f"column '{cols[0]}'" if len(cols) == 1 else "columns " + ", ".join(f"'{c}'" for c in cols)
    return InputError(f"{row.where}: row {row.number}, {what}: {exc}")


def _load_row(path: Path, variant: str | None, row: MatrixRow, fixed: dict[str, Any]) -> PipelineSpec:
    """The row's spec; a failure names the column at fault (the one that fails on its own
    over the file's values), or every column of the row when only their mix fails."""
    try:
        return load_spec(path, variant, {**fixed, **row.values})
    except InputError as exc:
        for column, value in row.values.items():
            try:
                load_spec(path, variant, {**fixed, column: value})
            except InputError as alone:
                raise _row_error(row, [column], alone) from None
        raise _row_error(row, row.values, exc) from None


def load_batch(path: str | Path, matrix: str | Path | None = None, variants: Iterable[str] = (),
               variables: dict[str, Any] | None = None) -> list[BatchRow]:
    """Every run of the batch, validated: one per matrix row per variant (the file's
    variants when none is named; the plain file when it has none). Output names get the
    row's number when the rows would otherwise share them."""
    from pipeline.run.outputs import check_distinct

    p = Path(path)
    fixed = dict(variables or {})
    rows = read_csv(Path(matrix)) if matrix is not None else file_matrix(p)
    chosen: list[str | None] = list(dict.fromkeys(variants)) or list(variant_names(p)) or [None]
    if rows is None:
        batch = [BatchRow(i, load_spec(p, v, fixed), variant=v, fixed=fixed) for i, v in enumerate(chosen, 1)]
        check_distinct([b.spec for b in batch])
        return batch
    known = declared_vars(p)
    for row in rows:
        for column in row.values:
            if column not in known:
                listed = ", ".join(sorted(known)) or "none"
                raise InputError(f"{row.where}: row {row.number}, column '{column}': unknown variable"
                                 f"{hint(column, known)}; the file's variables: {listed}")
            if column in fixed:
                raise InputError(f"{row.where}: row {row.number}, column '{column}': also set by --var "
                                 f"{column}=...; set it in one place")
    batch = []
    for row in rows:
        for v in chosen:
            batch.append(BatchRow(len(batch) + 1, _load_row(p, v, row, fixed), matrix_row=row, variant=v,
                                  values=row.values, fixed=fixed))
    names = [b.spec.name for b in batch]
    if len(set(names)) < len(names):  # the file's name does not use the row's values
        width = len(str(len(rows)))
        for b in batch:
            assert b.matrix_row is not None
            b.spec.name = f"{b.spec.name}-{b.matrix_row.number:0{width}d}"
            check_file_name(b.spec.name, f"{b.matrix_row.where}: name")
    check_distinct([b.spec for b in batch])
    return batch


def has_matrix(path: Path) -> bool:
    """Whether the pipeline file has its own `matrix:` key (a missing or unreadable file
    is left to the runner to report)."""
    try:
        data, _ = read_yaml(path)
    except InputError:
        return False
    return isinstance(data, dict) and data.get("matrix") is not None
