"""Public face for plugin stages: the timeline model and the helpers to build one.

Plugins written against `pipeline.timeline` keep working; the code lives in pipeline.model.
"""

from pipeline.adapters.inputs import load_inputs
from pipeline.model.clips import (append_clips, clip_from_media, empty_timeline, is_timeline_path,
                                  require_sources, timeline_from_media)
from pipeline.model.timeline import (AUDIO_ROLES, FIT_POLICIES, MAX_SIDE, SCHEMA_VERSION, AudioItem, AudioTrack,
                                     Canvas, Caption, Clip, CropPath, Ducking, Marker, Timeline, Transition, Word)

__all__ = ["AUDIO_ROLES", "FIT_POLICIES", "MAX_SIDE", "SCHEMA_VERSION", "AudioItem", "AudioTrack", "Canvas",
           "Caption", "Clip", "CropPath", "Ducking", "Marker", "Timeline", "Transition", "Word", "append_clips",
           "clip_from_media", "empty_timeline", "is_timeline_path", "load_inputs", "require_sources",
           "timeline_from_media"]
