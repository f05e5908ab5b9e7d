"""The JSON Schema of pipeline files, built from every registered stage's Params."""

from __future__ import annotations

import json
from typing import Any

SCHEMA_ID = "urn:reelforge:pipeline:1"


def _stage_schema(name: str, params: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The stage's Params schema with its $defs moved (prefixed) into the shared `defs`."""
    prefix = f"{name}."
    schema = params.model_json_schema(ref_template="#/$defs/" + prefix + "{model}")
    for key, value in schema.pop("$defs", {}).items():
        defs[prefix + key] = value
    return schema


def pipeline_schema() -> dict[str, Any]:
    """A draft 2020-12 JSON Schema for pipeline YAML files."""
    from pipeline.run.stage import registry
    from pipeline.run.spec import CANVAS_KEYS

    defs: dict[str, Any] = {}
    step_kinds = []
    shot_schema: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
    for name, cls in sorted(registry().items()):
        params = _stage_schema(name, cls.Params, defs)
        defs[f"{name}.params"] = params
        step_kinds.append({
            "type": "object",
            "title": name,
            "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else name,
            "properties": {name: {"$ref": f"#/$defs/{name}.params"}, "id": {"type": "string"}},
            "required": [name],
            "additionalProperties": False,
        })
        if name == "generate" and "shots" in params.get("properties", {}):
            shot_schema = params["properties"]["shots"]
    step = {"oneOf": step_kinds + [{"type": "string", "enum": sorted(registry())}]}
    step_overrides = {"type": "object", "additionalProperties": {"type": "object"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "reelforge pipeline file",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "Output stem; variants add their suffix."},
            "version": {"type": ["integer", "string"]},
            "vars": {"type": "object", "description": "Values substituted for ${name} anywhere in the file."},
            "variants": {
                "type": "object",
                "description": "Each variant renders the same edit with its own vars/step parameters.",
                "additionalProperties": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": {"vars": {"type": "object"}, "steps": step_overrides,
                                   "suffix": {"type": "string"}, "name": {"type": "string"}},
                },
            },
            "matrix": {
                "description": "A batch: a CSV file (header: variable names) or a list of variable mappings; "
                               "each row is one run with its own outputs.",
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
            },
            "canvas": {
                "type": "object",
                "additionalProperties": False,
                "properties": {k: ({"type": ["number", "string"]} if k == "fps" else {"type": "integer"})
                               for k in CANVAS_KEYS},
            },
            "inputs": {"type": "array", "items": {"type": "string"},
                       "description": "Media, .timeline.json or .otio files to start from."},
            "shots": shot_schema,
            "steps": {"type": "array", "items": step},
            "output_dir": {"type": "string", "description": "Default `dir` for steps that write files."},
        },
        "$defs": defs,
    }


def schema_json() -> str:
    return json.dumps(pipeline_schema(), indent=2)
