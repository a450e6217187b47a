"""``terrabit serve``: the browser app at ``/`` and a corpus at ``/corpus/``, over HTTP.

A small HTTP server (stdlib :mod:`http.server`) with what the app needs from a static
host: single HTTP Range requests (``206``/``416``), ``HEAD``, ``ETag`` and
``Last-Modified`` (with ``If-None-Match``/``If-Modified-Since``/``If-Range``), the right
MIME types (``.wasm``, ``.parquet``) and CORS on the corpus. It never lists folders and
never serves a path outside the packaged app or the corpus folder (``..``, encoded
``%2e%2e``, absolute paths, dotfiles and symlinks that leave the folder all answer 404).
It binds to loopback unless told otherwise, with a warning when it is.

New connections wait in the kernel's listen backlog (:data:`LISTEN_BACKLOG`), then in a
queue of accepted ones (:data:`ACCEPTED_QUEUE`), for a fixed pool of worker threads
(:data:`WORKERS`): a burst of new connections waits its turn instead of being refused or
spawning a thread each, and a kept-alive connection gives its worker back as soon as
another connection is waiting.

Examples
--------
>>> import tempfile, pathlib, urllib.request
>>> from terrabit import corpus
>>> from terrabit.corpus._fixture import write_input
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = corpus.publish(write_input(tmp / "in.parquet", rows=50, dims=16), tmp / "c")
>>> app = tmp / "app"; app.mkdir(); _ = (app / "index.html").write_text("<!doctype html>")
>>> with make_server(tmp / "c", port=0, app_dir=app) as server:
...     req = urllib.request.Request(server.url + "corpus/manifest.parquet",
...                                  headers={"Range": "bytes=0-3"})
...     with urllib.request.urlopen(req) as resp:
...         resp.status, resp.read()
(206, b'PAR1')
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import ipaddress
import mimetypes
import os
import queue
import re
import selectors
import socket
import sys
import threading
import time
import urllib.parse
import warnings
import webbrowser
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast

from terrabit.errors import CorpusNotFoundError, TerrabitError

__all__ = [
    "ACCEPTED_QUEUE",
    "LISTEN_BACKLOG",
    "WORKERS",
    "AppServer",
    "RequestHandler",
    "content_type",
    "is_loopback",
    "make_server",
    "packaged_app_dir",
    "parse_range",
    "running",
    "serve",
]

MANIFEST_NAME = "manifest.parquet"
CORPUS_PREFIX = "/corpus/"
#: New connections the kernel holds before :func:`serve` accepts them (the stdlib's 5
#: stalled a burst of 200 for a minute; the kernel caps it at ``net.core.somaxconn``).
LISTEN_BACKLOG = 1024
#: Accepted connections (each an open file) waiting for a worker; when full, the kernel's
#: backlog holds the next ones.
ACCEPTED_QUEUE = 256
#: Worker threads serving connections: the most requests :func:`serve` answers at once.
WORKERS = 32
# How often a kept-alive connection's worker looks whether another connection waits, s.
_IDLE_POLL_S = 0.05

# Types the stdlib table lacks or gets wrong on some systems.
_MIME = {
    ".wasm": "application/wasm",
    ".parquet": "application/vnd.apache.parquet",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".pbf": "application/x-protobuf",
}
_RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)


def content_type(name: str) -> str:
    """The ``Content-Type`` served for a file name.

    Examples
    --------
    >>> content_type("kernel.wasm"), content_type("shards/u4.parquet")
    ('application/wasm', 'application/vnd.apache.parquet')
    >>> content_type("no-extension")
    'application/octet-stream'
    """
    suffix = os.path.splitext(name)[1].lower()
    if suffix in _MIME:
        return _MIME[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _magnitude(digits: str) -> tuple[int, str]:
    """An order key for a decimal numeral of any length (``int`` refuses > 4300 digits)."""
    significant = digits.lstrip("0")
    return len(significant), significant


def _at_most(digits: str, cap: int) -> int:
    """``min(int(digits), cap)`` for a decimal numeral of any length."""
    if _magnitude(digits) > _magnitude(str(cap)):
        return cap
    return int(digits.lstrip("0") or "0")


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """The inclusive byte span ``(first, last)`` a single ``Range`` header asks for.

    Returns ``None`` when the header is to be ignored (not a single, valid ``bytes``
    range: several ranges, ``last < first``, another unit or no numbers; the whole file
    is sent, as RFC 9110 allows) and ``False`` when the range is unsatisfiable
    (``416``). Numbers of any length are read, e.g. a first byte of 5,000 digits is
    past the end (``416``) and a suffix that long is the whole file.

    Examples
    --------
    >>> parse_range("bytes=0-9", 100), parse_range("bytes=90-", 100)
    ((0, 9), (90, 99))
    >>> parse_range("bytes=-10", 100), parse_range("bytes=95-200", 100)
    ((90, 99), (95, 99))
    >>> parse_range("bytes=100-", 100), parse_range("bytes=-0", 100)
    (False, False)
    >>> parse_range("bytes=0-1,5-6", 100) is None, parse_range("items=0-1", 100) is None
    (True, True)
    >>> parse_range("bytes=" + "9" * 5000 + "-", 100), parse_range("bytes=-" + "9" * 5000, 100)
    (False, (0, 99))
    """
    match = _RANGE_RE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix: the last n bytes (all of them when n > size)
        n = _at_most(last_s, size)
        if n == 0:
            return False
        return size - n, size - 1
    if last_s and _magnitude(last_s) < _magnitude(first_s):
        return None  # syntactically invalid: ignore
    first = _at_most(first_s, size)
    if first >= size:
        return False
    return first, _at_most(last_s, size - 1) if last_s else size - 1


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("")
    (False, False)
    """
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback for info in infos
    )


def packaged_app_dir() -> Path:
    """The folder of the packaged, built browser app (``terrabit/web/static``).

    Examples
    --------
    >>> packaged_app_dir().name
    'static'
    """
    root = resources.files("terrabit.web") / "static"
    if not isinstance(root, Path):
        raise TerrabitError(
            "the terrabit web app cannot be served from a zipped install; install terrabit "
            "as a regular (unzipped) package"
        )
    return root


def _check_corpus(corpus_dir: str | os.PathLike[str]) -> Path:
    path = Path(corpus_dir).expanduser()
    if not path.is_dir() or not (path / MANIFEST_NAME).is_file():
        what = "is not a folder" if not path.is_dir() else f"has no {MANIFEST_NAME}"
        raise CorpusNotFoundError(
            f"{os.fspath(corpus_dir)!r} {what}, so it is not a terrabit corpus; publish one "
            f"with `terrabit publish INPUT -o {os.fspath(corpus_dir)}` and serve that folder"
        )
    from terrabit.corpus import open as open_corpus

    with open_corpus(path):  # raises CorpusIntegrityError for a broken manifest
        pass
    return path.resolve()


def _check_app(root: Path) -> Path:
    if not (root / "index.html").is_file():
        raise TerrabitError(
            f"the browser app is not built ({root / 'index.html'} is missing); build it with "
            "`npm ci && npm run build` in the repository's web/ folder"
        )
    return root.resolve()


class RequestHandler(BaseHTTPRequestHandler):
    """Serves ``/`` from the app folder and ``/corpus/`` from the corpus folder."""

    server: AppServer
    server_version = "terrabit"
    protocol_version = "HTTP/1.1"
    # Headers and a small body go out in separate writes; with Nagle's algorithm the body
    # waits for the client's delayed ACK (~40 ms per small Range request).
    disable_nagle_algorithm = True
    # An idle or stalled connection frees its worker after this many seconds.
    timeout = 120

    def handle(self) -> None:
        """Answer requests on this connection until it closes, idles or another waits."""
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and self._next_request_sent():
            self.handle_one_request()

    def _next_request_sent(self) -> bool:
        """Whether the client sends another request before ``timeout`` s pass idle or
        another connection waits for a worker (then this one is closed: the client
        reconnects and takes its turn)."""
        sock = self.connection
        sock.settimeout(0.0)
        try:
            # Bytes already read into the buffer (a pipelined request) or just arrived.
            if cast(io.BufferedReader, self.rfile).peek(1):
                return True
        finally:
            sock.settimeout(self.timeout)
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while not self.server.connections_waiting():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if selector.select(min(left, _IDLE_POLL_S)):
                    return True
        return False

    def end_headers(self) -> None:
        """End the headers, asking the client to close while other connections wait."""
        if not self.close_connection and self.server.connections_waiting():
            self.send_header("Connection", "close")
        super().end_headers()

    # -- routing ---------------------------------------------------------------------
    def _resolve(self) -> tuple[Path, bool] | None:
        """The file a request path names and whether it is in the corpus, or None."""
        raw = urllib.parse.urlsplit(self.path).path
        if not raw.startswith("/"):
            return None
        text = urllib.parse.unquote(raw, errors="strict")
        if "\x00" in text or "\\" in text:
            return None
        in_corpus = text.startswith(CORPUS_PREFIX)
        root = self.server.corpus_dir if in_corpus else self.server.app_dir
        rel = text[len(CORPUS_PREFIX) :] if in_corpus else text[1:]
        parts = rel.split("/") if rel or in_corpus else ["index.html"]
        # Empty parts ('//', a trailing '/', an absolute path), '.', '..' and dotfiles:
        # no folder listings, nothing hidden, nothing above the root.
        if any(not p or p.startswith(".") for p in parts):
            return None
        target = root.joinpath(*parts)
        try:
            resolved = target.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(root) or not resolved.is_file():
            return None
        return resolved, in_corpus

    # -- verbs -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_OPTIONS(self) -> None:
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Range, If-None-Match, If-Range")
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- helpers ---------------------------------------------------------------------
    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Expose-Headers",
            "Accept-Ranges, Content-Range, Content-Length, ETag, Last-Modified",
        )

    def _not_found(self) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "Not Found")

    def _respond(self, *, body: bool) -> None:
        try:
            found = self._resolve()
        except UnicodeDecodeError:
            found = None
        if found is None:
            self._not_found()
            return
        path, in_corpus = found
        try:
            handle: BinaryIO = path.open("rb")
        except OSError:
            self._not_found()
            return
        with handle:
            st = os.fstat(handle.fileno())
            size = st.st_size
            etag = f'"{st.st_mtime_ns:x}-{size:x}"'
            modified = email.utils.formatdate(st.st_mtime, usegmt=True)
            if self._not_modified(etag, int(st.st_mtime)):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self._common_headers(etag, modified, in_corpus)
                self.end_headers()
                return
            span: tuple[int, int] | bool | None = None
            range_header = self.headers.get("Range")
            if range_header is not None and self._if_range_ok(etag, modified):
                span = parse_range(range_header, size)
            if span is False:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self._common_headers(etag, modified, in_corpus)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if isinstance(span, tuple):
                first, last = span
                self.send_response(HTTPStatus.PARTIAL_CONTENT)
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            else:
                first, last = 0, size - 1
                self.send_response(HTTPStatus.OK)
            length = last - first + 1
            self._common_headers(etag, modified, in_corpus)
            self.send_header("Content-Type", content_type(path.name))
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if body and length > 0:
                self._copy(handle, first, length)

    def _common_headers(self, etag: str, modified: str, in_corpus: bool) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", modified)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        if in_corpus:
            self._cors()

    def _not_modified(self, etag: str, mtime: int) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
            return mtime <= since
        return False

    def _if_range_ok(self, etag: str, modified: str) -> bool:
        cond = self.headers.get("If-Range")
        return cond is None or cond.strip() in (etag, modified)

    def _copy(self, handle: BinaryIO, first: int, length: int) -> None:
        # socket.sendfile: zero-copy os.sendfile where it can, else it falls back to send.
        try:
            self.connection.sendfile(handle, offset=first, count=length)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            super().log_message(format, *args)


class AppServer(HTTPServer):
    """The HTTP server behind :func:`serve` (use :func:`make_server`).

    The accepting thread queues each new connection (at most ``ACCEPTED_QUEUE``; the
    kernel holds ``LISTEN_BACKLOG`` more) for a pool of ``workers`` daemon threads. ``url`` is the
    base URL (``http://host:port/``); use it as a context manager to run it in a
    background thread (tests) or call ``serve_forever()`` to block.
    """

    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        *,
        corpus_dir: Path,
        app_dir: Path,
        log_requests: bool = False,
        handler: type[BaseHTTPRequestHandler] = RequestHandler,
        workers: int = WORKERS,
    ) -> None:
        self.corpus_dir = corpus_dir
        self.app_dir = app_dir
        self.log_requests = log_requests
        self._thread: threading.Thread | None = None
        self._waiting: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue(ACCEPTED_QUEUE)
        self._workers: list[threading.Thread] = []  # a failed bind calls server_close
        super().__init__(address, handler)
        self._workers = [
            threading.Thread(target=self._work, name=f"terrabit-serve-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Queue an accepted connection for a worker (waits while the queue is full)."""
        self._waiting.put((request, client_address))

    def _work(self) -> None:
        while (item := self._waiting.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def connections_waiting(self) -> bool:
        """Whether accepted connections wait for a worker."""
        return not self._waiting.empty()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away or stalled is no error; anything else is logged."""
        if isinstance(sys.exception(), ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        """Close the listening socket and the queued connections; end the workers once
        their current connection is done."""
        super().server_close()
        while True:
            try:
                item = self._waiting.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.shutdown_request(item[0])
        for _ in self._workers:
            self._waiting.put(None)
        self._workers = []

    @property
    def url(self) -> str:
        """The base URL of the app (the corpus is at ``url + "corpus/"``)."""
        host, port = self.server_address[:2]
        host = str(host)
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def start(self) -> AppServer:
        """Serve in a daemon background thread; return self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, name="terrabit-serve", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop a background :meth:`start` and close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def make_server(
    corpus_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    app_dir: str | os.PathLike[str] | None = None,
    log_requests: bool = False,
    handler: type[BaseHTTPRequestHandler] | None = None,
    workers: int = WORKERS,
) -> AppServer:
    """Bind (not start) a server for the app and the corpus at ``corpus_dir``.

    Parameters
    ----------
    corpus_dir : path
        A published corpus folder (holding ``manifest.parquet``), served at ``/corpus/``.
    host, port : str, int
        Where to listen; ``port=0`` picks a free port (see ``server.url``). A host
        that is not loopback warns: the corpus becomes readable by the network.
    app_dir : path, optional
        The built app to serve at ``/`` (default: the packaged ``terrabit/web/static``).
    log_requests : bool
        Log each request on stderr.
    handler : type, optional
        A subclass of the request handler (tests inject faults this way).
    workers : int
        Worker threads, 1 to ``ACCEPTED_QUEUE``: the most requests answered at once
        (more connections wait in the queue).

    Raises
    ------
    CorpusNotFoundError
        ``corpus_dir`` is not a corpus (no ``manifest.parquet``).
    TerrabitError
        The app is not built, or the address cannot be bound.
    """
    from terrabit._validation import check_int_range

    check_int_range("port", port, 0, 65535)
    check_int_range("workers", workers, 1, ACCEPTED_QUEUE)
    corpus = _check_corpus(corpus_dir)
    app = _check_app(Path(app_dir) if app_dir is not None else packaged_app_dir())
    if not is_loopback(host):
        warnings.warn(
            f"serving on {host or 'all interfaces'!r}, which is not loopback: anyone who can "
            "reach this machine can read the corpus; use host='127.0.0.1' to keep it local",
            UserWarning,
            stacklevel=2,
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    cls = type("AppServer", (AppServer,), {"address_family": family})
    try:
        server: AppServer = cls(
            (host.strip("[]"), port),
            corpus_dir=corpus,
            app_dir=app,
            log_requests=log_requests,
            handler=handler or RequestHandler,
            workers=workers,
        )
    except OSError as exc:
        raise TerrabitError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another port "
            "(0 picks a free one) or host",
            params=("port", "host"),
        ) from exc
    return server


def serve(
    corpus_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    log_requests: bool = False,
    app_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Serve the browser app and the corpus at ``corpus_dir`` until Ctrl-C.

    Prints the URL on stderr; ``open_browser`` opens it in the default browser.
    See :func:`make_server` for the parameters and errors.

    Examples
    --------
    >>> serve("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    terrabit.errors.CorpusNotFoundError: '/nonexistent' is not a folder, so it is not a \
terrabit corpus; publish one with `terrabit publish INPUT -o /nonexistent` and serve that folder
    """
    server = make_server(
        corpus_dir, host=host, port=port, app_dir=app_dir, log_requests=log_requests
    )
    print(f"terrabit: serving {server.corpus_dir} at {server.url}", file=sys.stderr)
    print("terrabit: press Ctrl-C to stop", file=sys.stderr)
    if open_browser:
        threading.Timer(0.2, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("terrabit: stopped", file=sys.stderr)
    finally:
        server.server_close()


@contextlib.contextmanager
def running(corpus_dir: str | os.PathLike[str], **kwargs: Any) -> Iterator[AppServer]:
    """:func:`make_server` on a free loopback port, served in a background thread."""
    kwargs.setdefault("port", 0)
    with make_server(corpus_dir, **kwargs) as server:
        yield server
