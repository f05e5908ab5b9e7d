"""effect: run your own Python frame function on one clip (through moviepy).

The function gets each frame as an RGB numpy array (H x W x 3, uint8) and returns the new
frame; with `mode: time` it gets (get_frame, t) instead. The clip's span is rendered
once to a lossless intermediate in the cache (keyed by the source's content, the span,
the function file's content and the arguments) and the timeline then points at it: the
main render stays one ffmpeg graph, and moviepy (slow, per-frame Python) only ever
touches the one clip.

    steps:
      - effect: {clip: 2, function: effects.py:warm, args: {strength: 0.3}}
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline


class EffectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function: Annotated[str, Option(help="file.py:function (or module:function) run on each frame.")] = Field(
        description="file.py:function or package.module:function")
    clip: Annotated[Union[int, str], Option(help="Clip number (1-based), id or label.")] = Field(
        default=1, description="1-based clip number, or a clip id or label")
    mode: Annotated[Literal["frame", "time"], Option(
        help="frame: f(frame, **args) -> frame; time: f(get_frame, t, **args) -> frame.")] = "frame"
    args: Annotated[dict[str, Any], Option("--arg", metavar="NAME=VALUE", help="Keyword argument for the function.")] \
        = Field(default_factory=dict, description="keyword arguments for the function")
    name: Annotated[Optional[str], Option(cli=False)] = None  # shown in provenance; default: the function's name


def load_function(spec: str, ctx: StageContext) -> tuple[Any, str]:
    """(callable, content digest) for 'file.py:func' (relative to the pipeline file) or
    'module:func'."""
    import importlib
    import importlib.util
    import sys

    from pipeline.errors import InputError

    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise InputError(f"effect.function: '{spec}': expected file.py:function or module:function")
    if target.endswith(".py"):
        from pipeline.analysis.cache import file_digest

        path = ctx.resolve(target)
        if not path.is_file():
            raise InputError(f"effect.function: no such file '{target}'")
        digest = file_digest(path)
        mod_name = f"reelforge_effect_{digest[:16]}"
        module = sys.modules.get(mod_name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(mod_name, path)
            assert loader_spec and loader_spec.loader
            module = importlib.util.module_from_spec(loader_spec)
            try:
                loader_spec.loader.exec_module(module)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code: report, don't crash
                raise InputError(f"effect.function: {target} failed to load: {exc.__class__.__name__}: {exc}") from None
            sys.modules[mod_name] = module
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise InputError(f"effect.function: cannot import '{target}' ({exc})") from None
        src = getattr(module, "__file__", None)
        from pipeline.analysis.cache import file_digest

        digest = file_digest(src) if src else target
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise InputError(f"effect.function: '{attr}' is not a function in {target}")
    return fn, digest


def _pick(tl: Timeline, which: Union[int, str]) -> int:
    from pipeline.errors import InputError

    if isinstance(which, int) or (isinstance(which, str) and which.isdigit()):
        n = int(which)
        if not 1 <= n <= len(tl.video):
            raise InputError(f"effect.clip: {n} is out of range (the timeline has {len(tl.video)} clips)")
        return n - 1
    for i, c in enumerate(tl.video):
        if which in (c.id, c.label):
            return i
    raise InputError(f"effect.clip: no clip '{which}' (clips: {', '.join(c.id or c.label for c in tl.video)})")


def render_effect(source: str, start: float, end: float, fps: float, has_audio: bool, fn: Any, mode: str,
                  args: dict[str, Any], target: Any) -> None:
    """Write source[start:end] with fn applied to every frame, losslessly, to target."""
    from pipeline.ffmpeg import lend_to_moviepy, media_path

    lend_to_moviepy()
    from moviepy import VideoFileClip

    with VideoFileClip(media_path(source), audio=has_audio) as full:
        part = full.subclipped(start, min(end, full.duration))
        if mode == "frame":
            out = part.image_transform(lambda frame: fn(frame, **args))
        else:
            out = part.transform(lambda get_frame, t: fn(get_frame, t, **args))
        out.write_videofile(media_path(target), fps=fps, codec="libx264", preset="ultrafast",
                            ffmpeg_params=["-crf", "0"], audio=has_audio, audio_codec="pcm_s16le",
                            logger=None)


class EffectStage:
    """Apply a user's Python frame function to one clip, through moviepy."""

    name: ClassVar[str] = "effect"
    Params: ClassVar[type[BaseModel]] = EffectParams
    help: ClassVar[str] = "Run a Python frame function on one clip of INPUTS (through moviepy)."
    examples: ClassVar[tuple[str, ...]] = (
        "# effects.py:  def invert(frame): return 255 - frame",
        "reelforge effect seq.timeline.json --clip 2 --function effects.py:invert -o fx.timeline.json")

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        import json
        from fractions import Fraction

        from pipeline.analysis.cache import file_digest
        from pipeline.files import atomic_output
        from pipeline.errors import StageError
        from pipeline.model.media import probe
        from pipeline.timebase import fmt_fraction
        from pipeline.files import cache_dir

        assert isinstance(params, EffectParams)
        tl = tl.copy()
        index = _pick(tl, params.clip)
        clip = tl.video[index]
        fn, code = load_function(params.function, ctx)
        parts = {"source": file_digest(clip.source), "in": fmt_fraction(clip.in_point),
                 "out": fmt_fraction(clip.out_point), "code": code, "function": params.function.rpartition(":")[2],
                 "mode": params.mode, "args": params.args, "fps": fmt_fraction(clip.src_fps), "audio": clip.has_audio}
        import hashlib

        key = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]
        target = cache_dir() / "effects" / f"{key}.mkv"
        if not target.exists():
            fps = float(clip.src_fps or tl.canvas.fps)
            with ctx.reporter.task(f"effect {params.name or parts['function']} on clip {index + 1}", 1) as task:
                with atomic_output(target) as tmp:
                    try:
                        render_effect(clip.source, float(clip.in_point), float(clip.out_point), fps,
                                      clip.has_audio, fn, params.mode, params.args, tmp)
                    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's function failed (or exited)
                        raise StageError(f"effect {params.function}: {exc.__class__.__name__}: {exc}") from None
                task.update(1)
        info = probe(target)
        made = info.v.duration or info.duration
        span = clip.source_duration
        shift = clip.in_point
        clip.effect = {"function": params.function, "mode": params.mode, "args": params.args,
                       "source": clip.source, "in_point": fmt_fraction(clip.in_point),
                       "out_point": fmt_fraction(clip.out_point)}
        clip.source = str(target)
        clip.in_point = Fraction(0)
        clip.out_point = min(span, made)
        clip.src_duration = made
        clip.has_audio = clip.has_audio and info.has_audio
        if clip.crop is not None:
            clip.crop.frames = [[t - float(shift), x, y] for t, x, y in clip.crop.frames]
        tl.provenance.append({"effect": params.name or parts["function"], "clip": clip.id, "function": params.function})
        return tl


STAGE = EffectStage
