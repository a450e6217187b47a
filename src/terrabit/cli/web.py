"""``terrabit serve`` and ``terrabit site``: the browser app, locally or as a static site
(thin tools over :mod:`terrabit.web`)."""

from __future__ import annotations

import warnings

import click

from terrabit.cli.options import echo_json, json_option, overwrite_option

__all__ = ["serve", "site"]


@click.command("serve")
@click.argument("corpus", metavar="CORPUS", type=click.Path(file_okay=False))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on; anything but loopback exposes the corpus to the network.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: a free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the app in the web browser.")
@click.option("--log", "log_requests", is_flag=True, help="Log every request on stderr.")
def serve(corpus: str, host: str, port: int, open_browser: bool, log_requests: bool) -> None:
    """Serve the browser app at / and the corpus folder CORPUS at /corpus/ until Ctrl-C.

    HTTP Range requests are answered (206/416), folders are never listed and no path
    outside the app or CORPUS can be read.
    """
    from terrabit.web.serve import is_loopback
    from terrabit.web.serve import serve as serve_corpus

    if not is_loopback(host):
        click.echo(
            f"Warning: serving on {host or 'all interfaces'!r}, which is not loopback: anyone "
            "who can reach this machine can read the corpus (use --host 127.0.0.1 to keep it "
            "local)",
            err=True,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the echo above said it
        serve_corpus(
            corpus, host=host, port=port, open_browser=open_browser, log_requests=log_requests
        )


@click.command("site")
@click.argument("corpus_url", metavar="CORPUS_URL")
@click.argument("outdir", metavar="OUTDIR", type=click.Path(file_okay=True))
@overwrite_option
@json_option
def site(corpus_url: str, outdir: str, overwrite: bool, as_json: bool) -> None:
    """Write the browser app into OUTDIR as a static site reading the corpus at CORPUS_URL.

    CORPUS_URL is an https:// URL (its host must answer HTTP Range requests and, on
    another origin, send CORS headers) or a path relative to the site. Upload OUTDIR to
    any static host.
    """
    from terrabit.web.site import write_site

    result = write_site(corpus_url, outdir, overwrite=overwrite)
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(
        f"wrote {result.files} files ({result.bytes:,} bytes) to {result.outdir}, "
        f"reading the corpus at {result.corpus}"
    )
