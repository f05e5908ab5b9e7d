"""`reelforge review`: rebuild a run's review page from its run record, and serve it on
127.0.0.1; `reelforge demo`: write the shipped demo into a folder and run it."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

import click

from pipeline.cli.kit import handle_errors

DEMO_FILES = ("promo.yaml", "voiceover.txt", "looks.py", "make_music.py", "music/bed.m4a")


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--serve", is_flag=True, help="Serve DIR on 127.0.0.1 and keep running until Ctrl-C.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port for --serve (0: any free port).")
@click.option("--overwrite", "-y", is_flag=True, help="Replace a review page reelforge did not write.")
@handle_errors
def review(folder: str, serve: bool, port: int, overwrite: bool) -> None:
    """Rebuild the review page of the run whose outputs are in DIR, from its run record.

    `reelforge run` writes <out>/<name>.run.json and <out>/<name>.review.html beside the
    outputs: every output playing with its platform's safe zones, the shots, the check
    and the run's times. This command builds the page again (after moving the folder, or
    with a newer reelforge) and, with --serve, serves the folder to a browser.

    \b
    Example:
      reelforge review out/
      reelforge review out/ --serve --port 8000
    """
    from pipeline.run.record import find_record, write_record_and_page

    record, where = find_record(folder)
    page = write_record_and_page(record, where, overwrite=overwrite, page_only=True)
    click.echo(str(page))
    if serve:
        serve_folder(where, page.name, port)


def serve_folder(folder: Path, page: str, port: int) -> None:
    """Serve `folder` on 127.0.0.1 (never on another interface) until interrupted."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        from pipeline.errors import InputError

        raise InputError(f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror})") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
    click.echo(f"serving {folder} at {url} (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command()
@click.argument("folder", metavar="[DIR]", required=False, default="reelforge-demo",
                type=click.Path(file_okay=False))
@click.option("--overwrite", "-y", is_flag=True, help="Replace files in DIR that reelforge did not write.")
@handle_errors
def demo(folder: str, overwrite: bool) -> None:
    """Write the demo (pipeline file, voiceover script, music bed) into DIR and run it.

    Offline: the shots come from the local stand-in generator and the voice from the
    shipped espeak-ng. Ends with the path of the run's review page.

    \b
    Example:
      reelforge demo
      reelforge demo ~/trailforge
    """
    from pipeline.run.runner import run_file_results

    target = Path(folder)
    spec = write_demo(target, overwrite)
    run_file_results(spec, overwrite=overwrite)
    page = next(iter(sorted((target / "out").glob("*.review.html"))), None)
    if page is not None:
        click.echo(str(page))


def write_demo(target: Path, overwrite: bool = False) -> Path:
    """Copy the shipped demo files into `target`; never replaces a user's file."""
    from importlib import resources

    from pipeline.files import atomic_write_bytes, check_output_path

    shipped = resources.files("samples")
    blobs = {name: shipped.joinpath(name).read_bytes() for name in DEMO_FILES}
    for name, blob in blobs.items():
        path = target / name
        if path.is_file() and path.read_bytes() == blob:
            continue
        check_output_path(path, overwrite=overwrite, label="demo")
    for name, blob in blobs.items():
        path = target / name
        if not (path.is_file() and path.read_bytes() == blob):
            atomic_write_bytes(path, blob)
    return target / "promo.yaml"
