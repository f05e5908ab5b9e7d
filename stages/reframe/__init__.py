"""reframe: recompose the timeline for another aspect (9:16, 1:1, 4:5, 16:9) without
losing the subject. The camera path, saliency and preview live beside this module."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline



class Keyframe(BaseModel):
    """The window centre at source time t (seconds), in fractions of the source size."""

    model_config = ConfigDict(extra="forbid")

    t: float = Field(ge=0)
    x: Optional[float] = Field(default=None, ge=0, le=1)
    y: Optional[float] = Field(default=None, ge=0, le=1)


class ReframeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspect: Annotated[Literal["9:16", "1:1", "4:5", "16:9"], Option(help="Target shape.")]
    mode: Annotated[Literal["smart", "center", "blur-pad", "letterbox"], Option(
        help="smart: the window follows faces, saliency and motion; center: fixed centre crop; "
             "blur-pad: whole frame over a blurred copy; letterbox: whole frame over black.")] = "smart"
    keyframes: Annotated[dict[str, list[Keyframe]], Option(cli=False)] = Field(default_factory=dict)  # clip id -> keys
    path_out: Annotated[Optional[str], Option(
        "--path-out", role="output", help="Write the crop window per source frame as JSON.")] = None
    preview: Annotated[Optional[str], Option(
        role="output", help="Render the source with the window drawn on it (.mp4).")] = None

    @field_validator("preview")
    @classmethod
    def _video(cls, value: Optional[str]) -> Optional[str]:
        from pipeline.files import is_video_path

        if value is not None and not is_video_path(value):
            raise ValueError("must be a video file (.mp4, .mov, .mkv)")
        return value

    @field_validator("aspect", mode="before")
    @classmethod
    def _sexagesimal(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 9:16 as the base-60 number 556.
        if isinstance(value, int) and not isinstance(value, bool) and value >= 60:
            return f"{value // 60}:{value % 60}"
        return value


class ReframeStage:
    """Crop (smart: following faces, saliency and motion; or centred) or pad each clip to
    the new aspect; records the mode in tl.reframe so export can reuse it."""

    name: ClassVar[str] = "reframe"
    Params: ClassVar[type[BaseModel]] = ReframeParams
    help: ClassVar[str] = "Reframe INPUT (media files or a .timeline.json) to another aspect."
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge reframe seq.timeline.json --aspect 9:16 --mode smart -o vert.timeline.json",
        "reelforge reframe clip.mp4 --aspect 1:1 --path-out path.json --preview check.mp4 -o square.mp4")

    def recompose(self, tl: Timeline, width: int, height: int, mode: str | None = None,
                  reporter: Any = None) -> Timeline:
        """The timeline for a width x height canvas with `mode` (default: the mode the
        timeline records). Export calls this, through the registry, for each preset of
        another aspect."""
        from stages.reframe.reframing import reframe_timeline

        return reframe_timeline(tl, width, height, mode, reporter)

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from stages.reframe.reframing import ASPECTS, canvas_for, path_document, reframe_timeline

        assert isinstance(params, ReframeParams)
        aspect = ASPECTS[params.aspect]
        width, height = canvas_for(tl.canvas.width, tl.canvas.height, aspect, params.mode)
        base = tl.copy()
        base.reframe = {"mode": params.mode, "aspect": params.aspect,
                        "keyframes": {k: [kf.model_dump(exclude_none=True) for kf in v]
                                      for k, v in params.keyframes.items()},
                        "padded": (tl.reframe or {}).get("padded", [])}
        out = reframe_timeline(base, width, height, params.mode, ctx.reporter)
        if ctx.dry_run:
            return out
        if params.path_out:
            from pipeline.files import atomic_write_text

            target = ctx.resolve(params.path_out)
            atomic_write_text(target, json.dumps(path_document(out)) + "\n")
            ctx.info(f"wrote {target}")
        if params.preview:
            from stages.reframe.preview import render_preview

            target = ctx.resolve(params.preview)
            render_preview(out, target, ctx.reporter)
            ctx.info(f"wrote {target}")
        return out


STAGE = ReframeStage
