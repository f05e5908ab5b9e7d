"""The video providers by name."""

from __future__ import annotations

from pipeline.errors import InputError
from pipeline.providers.base import VideoProvider


def get_provider(name: str) -> VideoProvider:
    if name == "local":
        from pipeline.providers.local import LocalVideoProvider

        return LocalVideoProvider()
    if name == "sora":
        from pipeline.providers.sora import SoraProvider

        return SoraProvider()
    if name == "kling":
        from pipeline.providers.kling import KlingProvider

        return KlingProvider()
    raise InputError(f"--provider {name}: unknown provider; use local, sora or kling")
