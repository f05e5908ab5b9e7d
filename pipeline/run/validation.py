"""Pipeline-file checks of step parameters: the one validator (pipeline.run.params) with
its errors mapped back to the file's lines, and that every file a step names exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from pipeline.errors import did_you_mean
from pipeline.run.params import ParamsError, validate
from pipeline.run.params import display as _display

if TYPE_CHECKING:
    from pipeline.run.spec import PipelineSpec, Step

Key = tuple[Any, ...]
# A parameter value with one of these extensions names a file that must exist, unless
# its key says it is an output.
MEDIA_EXTENSIONS = {
    ".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi", ".wav", ".mp3", ".m4a", ".aac", ".flac",
    ".ogg", ".opus", ".png", ".jpg", ".jpeg", ".webp", ".txt", ".srt", ".vtt", ".otio", ".py",
}
OUTPUT_KEYS = {"dir", "name", "output", "out", "report", "output_dir", "save", "prefix", "suffix"}


def hint(word: str, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the nearest choice, or ""."""
    return did_you_mean(word, choices, cutoff=0.5)


def validate_step(spec: PipelineSpec, stage: Any, step: Step) -> Any:
    """Validate a step's parameters with the one validator; its error is shown as
    `file:line: stage.key: message`."""
    try:
        return validate(step.name, stage.Params, step.params)
    except ParamsError as exc:
        if not step.path:  # shots: the parameters are the file's top level
            raise spec.fail(exc.at, exc.at_key("shots", exc.loc[1:])) from None
        raise spec.fail(step.path + exc.at, exc.at_key()) from None


def _walk_strings(value: Any, path: Key) -> Iterable[tuple[Key, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k) not in OUTPUT_KEYS:
                yield from _walk_strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_strings(v, path + (i,))
    elif isinstance(value, str):
        yield path, value


def check_media(spec: PipelineSpec, params: dict[str, Any], base: Key, stage: str) -> None:
    """Every parameter that names a media (or script) file must exist."""
    for rel, text in _walk_strings(params, ()):
        code = re.fullmatch(r"(.+\.py):[A-Za-z_][A-Za-z0-9_]*", text)
        text = code.group(1) if code else text
        if "://" in text or "\n" in text or Path(text).suffix.lower() not in MEDIA_EXTENSIONS:
            continue
        f = Path(text).expanduser()
        f = f if f.is_absolute() else spec.base_dir / f
        if not f.exists():
            where = _display("shots" if not base else stage, rel[1:] if not base else rel)
            raise spec.fail(base + rel, f"{where}: no such file '{text}'")
