"""The Stage protocol, the context stages run in, and the registry.

A stage is a function Timeline -> Timeline with validated parameters. Stages are found
by convention (every module of the `stages` package that defines STAGE) and through the
entry-point group "reelforge.stages" for third-party plugins. The engine never imports a
stage by name.
"""

from __future__ import annotations

import functools
import os
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from pipeline.errors import InputError, did_you_mean
from pipeline.progress import Reporter, default_reporter
from pipeline.model.timeline import Timeline

ENTRY_POINT_GROUP = "reelforge.stages"


@runtime_checkable
class Stage(Protocol):
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    def apply(self, tl: Timeline, params: BaseModel, ctx: "StageContext") -> Timeline: ...


@dataclass
class StageContext:
    """What a stage may use besides its timeline and parameters."""

    reporter: Reporter = field(default_factory=default_reporter)
    base_dir: Path = field(default_factory=Path.cwd)  # relative paths in params resolve here
    work_dir: Path | None = None  # scratch space for intermediate files (synthesised speech...)
    outputs: list[dict[str, Any]] = field(default_factory=list)  # what export wrote, check found
    findings: list[dict[str, Any]] = field(default_factory=list)  # full measurements, kept in the run record
    dry_run: bool = False
    overwrite: bool = False  # replace existing files reelforge did not write (or that changed)
    options: dict[str, Any] = field(default_factory=dict)

    def resolve(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else (self.base_dir / p)))

    def scratch(self) -> Path:
        if self.work_dir is None:
            from pipeline.files import cache_dir

            self.work_dir = cache_dir() / "work"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir

    def warn(self, message: str) -> None:
        self.reporter.warn(message)

    def info(self, message: str) -> None:
        self.reporter.info(message)


BUILTIN_PACKAGE = "stages"  # found by name like a plugin group: the engine imports no stage itself


def _stage_modules() -> list[Any]:
    stages = importlib.import_module(BUILTIN_PACKAGE)
    mods = []
    for info in sorted(pkgutil.iter_modules(stages.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}"))
    return mods


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, type]:
    """name -> stage class, built-ins first, then plugins (which may not shadow built-ins)."""
    found: dict[str, type] = {}
    for mod in _stage_modules():
        cls = getattr(mod, "STAGE", None)
        if cls is not None:
            found[cls.name] = cls
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the CLI
            default_reporter().warn(f"plugin stage '{ep.name}' failed to load: {exc}")
            continue
        name = getattr(cls, "name", ep.name)
        if name not in found:
            found[name] = cls
    return found


def get_stage(name: str) -> Stage:
    stages_ = registry()
    if name not in stages_:
        hint = did_you_mean(name, stages_, f"; known: {', '.join(sorted(stages_))}")
        raise InputError(f"unknown step '{name}'{hint}")
    return stages_[name]()


def validate_params(stage: Stage, raw: dict[str, Any], where: str = "") -> BaseModel:
    """The stage's validated Params (the one validator, pipeline.run.params); an error
    reads `where: stage.key: message` (`stage.key: message` without `where`)."""
    from pipeline.run.params import ParamsError, validate

    try:
        return validate(stage.name, stage.Params, raw)
    except ParamsError as exc:
        if where:
            raise InputError(f"{where}: {exc}") from None
        raise
