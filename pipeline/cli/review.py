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


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """The standard library's file handler plus single byte ranges (RFC 9110 section 14),
    which a browser's player asks for to seek. (http.server has no range support, and a
    dependency for one header is more than these lines.)"""

    def send_head(self):  # noqa: ANN201 - http.server's signature
        import os
        import re

        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        path = self.translate_path(self.path)
        if match is None or not os.path.isfile(path) or match.group(1) == match.group(2) == "":
            return super().send_head()
        size = os.path.getsize(path)
        first, last = match.groups()
        start = int(first) if first else max(0, size - int(last))
        end = min(size - 1, int(last)) if first and last else size - 1
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        fh = open(path, "rb")  # noqa: SIM115 - http.server closes what send_head returns
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = end - start + 1
        return fh

    def copyfile(self, source, outputfile) -> None:  # noqa: ANN001 - http.server's signature
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        self._remaining = None
        while remaining > 0:
            chunk = source.read(min(1 << 16, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        pass  # one line per request would drown the terminal


def serve_folder(folder: Path, page: str, port: int) -> None:
    """Serve `folder` on 127.0.0.1 (never on another interface) until interrupted."""
    handler = functools.partial(RangeHandler, directory=str(folder))
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
@click.option("--dry-run", is_flag=True, help="Write the files and show the plan; generate and render nothing.")
@click.option("--overwrite", "-y", is_flag=True, help="Replace files in DIR that reelforge did not write.")
@handle_errors
def demo(folder: str, dry_run: bool, overwrite: bool) -> None:
    """Write the demo (pipeline file, voiceover script, music bed) into DIR and run it.

    Offline: the shots come from the local stand-in generator and the voice from the
    shipped espeak-ng. Ends with the path of the run's review page.

    \b
    Example:
      reelforge demo
      reelforge demo ~/trailforge --dry-run
    """
    from pipeline.run.runner import run_file_results

    target = Path(folder)
    spec = write_demo(target, overwrite)
    run_file_results(spec, dry_run=dry_run, overwrite=overwrite)
    page = target / "out" / "promo.review.html"
    if not dry_run and page.is_file():
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
