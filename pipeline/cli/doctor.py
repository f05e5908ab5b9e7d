"""`reelforge doctor`: is this machine ready? Never prints a credential's value."""

from __future__ import annotations

import os

import click

REQUIRED_ENCODERS = ("libx264", "aac")
OPTIONAL_ENCODERS = ("libx265", "h264_nvenc", "prores_ks", "libopus")
REQUIRED_FILTERS = ("scale", "pad", "crop", "overlay", "gblur", "fps", "tpad", "trim", "atrim",
                    "concat", "xfade", "acrossfade", "amix", "volume", "ebur128", "aresample",
                    "sidechaincompress", "alimiter", "split", "asplit", "sendcmd")
CREDENTIALS = {
    "sora (OpenAI Videos API)": ("OPENAI_API_KEY",),
    "kling": ("KLING_ACCESS_KEY", "KLING_SECRET_KEY"),
    "openai speech": ("OPENAI_API_KEY",),
    "elevenlabs speech": ("ELEVENLABS_API_KEY",),
}


def run_doctor() -> int:
    from pipeline.ffmpeg import ffmpeg_capabilities, ffmpeg_exe, ffmpeg_version

    from pipeline.errors import ReelforgeError

    ok = True
    exe = ffmpeg_exe()
    click.echo(f"ffmpeg      {exe}")
    try:
        version = ffmpeg_version()
        encoders, filters = ffmpeg_capabilities()
    except ReelforgeError as exc:  # a binary that hangs or cannot run: one line, not ready
        click.echo(f"version     {exc}")
        click.echo("not ready: install a full ffmpeg or set REELFORGE_FFMPEG")
        return 1
    click.echo(f"version     {version}")
    for name in REQUIRED_ENCODERS:
        present = name in encoders
        ok &= present
        click.echo(f"encoder     {name:18} {'ok' if present else 'MISSING (required)'}")
    for name in OPTIONAL_ENCODERS:
        click.echo(f"encoder     {name:18} {'ok' if name in encoders else 'absent (optional)'}")
    missing = [f for f in REQUIRED_FILTERS if f not in filters]
    ok &= not missing
    click.echo(f"filters     {len(REQUIRED_FILTERS) - len(missing)}/{len(REQUIRED_FILTERS)} present"
               + (f"; missing: {', '.join(missing)}" if missing else ""))
    try:
        import espeakng_loader

        click.echo(f"speech      local espeak-ng at {espeakng_loader.get_library_path()}")
    except Exception as exc:  # noqa: BLE001
        click.echo(f"speech      local espeak-ng unavailable ({exc})")
    for provider, names in CREDENTIALS.items():
        state = ", ".join(f"{n} {'set' if os.environ.get(n) else 'not set'}" for n in names)
        click.echo(f"credentials {provider}: {state}")
    from pipeline.files import cache_dir

    click.echo(f"cache       {cache_dir()}")
    click.echo("ready" if ok else "not ready: install a full ffmpeg or set REELFORGE_FFMPEG")
    return 0 if ok else 1
