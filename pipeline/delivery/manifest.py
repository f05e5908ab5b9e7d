"""The C2PA manifest an output of a timeline carries: reelforge as claim generator, what was
done (actions), what it was made from (ingredients, each with its own manifest when it had
one), and the AI marking whenever a shot was generated or a source declares itself AI.

reelforge does not judge content: a source counts as AI-generated when reelforge generated
it (the timeline's provenance says so) or when its own credentials declare it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pipeline.delivery.provenance import COMPOSITE_AI, IPTC, read_credentials
from pipeline.model.timeline import Timeline

# Speech made by a trained model (a recorded voice or the local formant synthesiser is not).
GENERATED_SPEECH = ("openai", "elevenlabs")


def reelforge_version() -> str:
    try:
        from importlib.metadata import version

        return version("reelforge")
    except Exception:  # noqa: BLE001 - running from a source tree without metadata
        return "0"


@dataclass
class ManifestPlan:
    """What an output's manifest will say; `definition` and `ingredients` feed c2pa's Builder."""

    title: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    ingredients: list[tuple[dict[str, Any], Path | None]] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    ai: bool = False

    @property
    def ingredient_titles(self) -> list[str]:
        return [info["title"] for info, _ in self.ingredients]

    @property
    def action_names(self) -> list[str]:
        return [a["action"] for a in self.actions]

    def definition(self) -> dict[str, Any]:
        return {
            "claim_generator_info": [{"name": "reelforge", "version": reelforge_version()}],
            "title": self.title,
            "format": "video/mp4",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": self.actions}}, *self.assertions],
        }


def generation_records(tl: Timeline) -> list[dict[str, Any]]:
    """The generated shots in the timeline's provenance, as the manifest states them: the
    prompt only as its hash."""
    found = []
    for rec in tl.provenance:
        if "shot" not in rec:
            continue
        prompt = rec.get("prompt")
        found.append({k: v for k, v in {
            "shot": rec["shot"], "provider": rec.get("provider"), "model": rec.get("model"),
            "prompt_sha256": rec.get("prompt_sha256") or (hashlib.sha256(prompt.encode()).hexdigest() if prompt else None),
            "seed": rec.get("seed"), "generated_at": rec.get("generated_at"),
        }.items() if v is not None})
    return found


def _generated_sources(tl: Timeline) -> set[str]:
    paths = {os.path.abspath(str(r["source"])) for r in tl.provenance if "shot" in r and r.get("source")}
    shot_ids = {str(r["shot"]) for r in tl.provenance if "shot" in r and not r.get("source")}
    paths |= {os.path.abspath(c.source) for c in tl.video if c.id in shot_ids}
    return paths


def plan_manifest(tl: Timeline, title: str, width: int, height: int, *, transcoded: bool = True,
                  notes: list[str] | None = None) -> ManifestPlan:
    """The manifest for one output of `tl` at width x height. transcoded=False: the packets
    were copied (stream copy), so the output was repackaged, not re-encoded. `notes` are
    further edits the caller made (e.g. burned-in captions), each a c2pa.edited action."""
    agent = {"name": "reelforge", "version": reelforge_version()}
    plan = ManifestPlan(title=title)
    generated = _generated_sources(tl)
    video_sources = list(dict.fromkeys(c.source for c in tl.video))
    ai = bool(generated)
    labels: dict[str, str] = {}
    for n, src in enumerate(video_sources):
        creds = read_credentials(src) if Path(src).is_file() else None
        if creds is not None and creds.ai_generated:
            ai = True
        label = f"video{n}"
        labels[src] = label
        relationship = "parentOf" if len(video_sources) == 1 else "componentOf"
        plan.ingredients.append(({"title": Path(src).name, "format": _format(src), "relationship": relationship,
                                  "label": label}, Path(src)))
    if len(video_sources) == 1:
        plan.actions.append({"action": "c2pa.opened", "parameters": {"ingredientIds": [labels[video_sources[0]]]}})
    else:
        plan.actions.append({"action": "c2pa.created", "softwareAgent": agent,
                             "digitalSourceType": COMPOSITE_AI if ai else IPTC + "composite"})
        for src in video_sources:
            plan.actions.append({"action": "c2pa.placed", "parameters": {"ingredientIds": [labels[src]]}})
    edited: dict[str, Any] = {"action": "c2pa.edited", "softwareAgent": agent,
                              "description": "sequenced, timed and mixed"}
    if any(c.in_point > 0 or (c.src_duration and c.out_point < c.src_duration) for c in tl.video):
        plan.actions.append({"action": "c2pa.trimmed"})
    if tl.reframe or any(c.crop is not None for c in tl.video):
        mode = (tl.reframe or {}).get("mode") or "smart"
        plan.actions.append({"action": "c2pa.cropped", "description": f"reframed ({mode})"})
    if any((c.src_width, c.src_height) != (width, height) for c in tl.video if c.src_width):
        plan.actions.append({"action": "c2pa.resized", "description": f"to {width}x{height}"})
    if any(c.color for c in tl.video):
        plan.actions.append({"action": "c2pa.color_adjustments"})
    if any(c.effect for c in tl.video):
        plan.actions.append({"action": "c2pa.filtered", "description": "frame effects"})
    _audio(tl, plan, video_sources)
    speech = [r.get("voiceover") for r in tl.provenance if "voiceover" in r]
    if any(s in GENERATED_SPEECH for s in speech) and tl.audio.get("voiceover") and tl.audio["voiceover"].items:
        ai = True
    for note in notes or []:
        plan.actions.append({"action": "c2pa.edited", "description": note})
    if ai:
        edited["digitalSourceType"] = COMPOSITE_AI
    plan.actions.insert(1 if len(video_sources) == 1 else 1 + len(video_sources), edited)
    plan.actions.append({"action": "c2pa.transcoded" if transcoded else "c2pa.repackaged"})
    records = generation_records(tl)
    if records:
        plan.assertions.append({"label": "org.reelforge.generation", "data": {"shots": records}})
    plan.ai = ai
    return plan


def _audio(tl: Timeline, plan: ManifestPlan, video_sources: list[str]) -> None:
    for role, description in (("voiceover", "voiceover added"), ("music", "music added"), ("sfx", "sound effects added")):
        track = tl.audio.get(role)
        if not track or not track.items or track.muted:
            continue
        files = [s for s in dict.fromkeys(i.source for i in track.items) if s not in video_sources]
        labels = []
        for src in files:
            label = f"{role}{len(labels)}"
            labels.append(label)
            plan.ingredients.append(({"title": Path(src).name, "format": _format(src),
                                      "relationship": "componentOf", "label": label}, Path(src)))
        action = "c2pa.dubbed" if role == "voiceover" else "c2pa.placed"
        entry: dict[str, Any] = {"action": action, "description": description}
        if labels:
            entry["parameters"] = {"ingredientIds": labels}
        plan.actions.append(entry)


def _format(src: str) -> str:
    from pipeline.delivery.provenance import mime_type

    return mime_type(src) or "application/octet-stream"


def sealer(tl: Timeline, key: Any, title: str, width: int, height: int, *, transcoded: bool = True,
           notes: list[str] | None = None) -> Callable[[Path], None] | None:
    """The step that signs one output before its rename (None without a key)."""
    if key is None:
        return None
    plan = plan_manifest(tl, title, width, height, transcoded=transcoded, notes=notes)

    def seal(tmp: Path) -> None:
        from pipeline.delivery.signing import sign_in_place

        sign_in_place(Path(tmp), plan.definition(), plan.ingredients, key)

    seal.plan = plan  # type: ignore[attr-defined]
    return seal


def output_sealer(tl: Timeline, path: Path, width: int, height: int, *, transcoded: bool = True,
                  mode: str = "auto") -> Callable[[Path], None] | None:
    """The signing step for a standalone command's output: signed when credentials are set
    and the container has a C2PA binding (MP4/MOV), else None."""
    from pipeline.delivery.provenance import mime_type
    from pipeline.delivery.signing import signing_key

    if mime_type(path) not in ("video/mp4", "video/quicktime"):
        return None
    return sealer(tl, signing_key(mode), Path(path).name, width, height, transcoded=transcoded)


def check_manifest(path: Path, plan: ManifestPlan) -> tuple[bool, str, str]:
    """Read `path`'s manifest back: (ok, expected, actual) for the verification table.
    It must validate, name reelforge, list every planned ingredient and action, and carry
    the AI marking when the plan has one."""
    from pipeline.delivery.provenance import read_credentials

    creds = read_credentials(path)
    want_ing, want_act = plan.ingredient_titles, list(dict.fromkeys(plan.action_names))
    expected = f"valid, {len(want_ing)} ingredients, {len(want_act)} actions" + (", AI" if plan.ai else "")
    if not creds.present:
        return False, expected, "no manifest"
    if creds.state not in ("valid", "trusted"):
        return False, expected, f"{creds.state} ({', '.join(creds.failures[:2])})"
    titles = [i.get("title") for i in creds.ingredients]
    missing = [t for t in want_ing if t not in titles] + [a for a in want_act if a not in creds.actions]
    if not (creds.claim_generator or "").startswith("reelforge"):
        missing.append("claim generator reelforge")
    if plan.ai and COMPOSITE_AI not in creds.digital_source_types:
        missing.append("AI marking")
    if missing:
        return False, expected, "missing " + ", ".join(str(m) for m in missing[:4])
    actual = f"{creds.state}, {len(titles)} ingredients, {len(set(creds.actions))} actions" + (", AI" if plan.ai else "")
    return True, expected, actual
