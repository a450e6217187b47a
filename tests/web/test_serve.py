"""``terrabit serve``: Range semantics (against a brute-force slice of the file), HEAD,
conditional requests, MIME types, path traversal, the non-corpus refusal, the CLI and
Ctrl-C, and reading the served corpus over HTTP with :func:`terrabit.open`.

These tests serve a small stand-in app folder (not the vite build), so they do not depend
on the app building; the real app is exercised by ``test_app_*.py``.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrabit.errors import (
    CorpusIntegrityError,
    CorpusNotFoundError,
    InvalidInputError,
    TerrabitError,
)
from terrabit.web.serve import AppServer, RequestHandler, make_server, parse_range

SECRET = b"top secret: must never be served"
JS = b"export const answer = 42;\n"
WASM = b"\x00asm\x01\x00\x00\x00"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path) -> dict[str, Path]:
    """A stand-in app and a copy of the corpus, with traps: a secret beside them, symlinks
    pointing out, dotfiles."""
    root = tmp_path_factory.mktemp("serve")
    (root / "secret.txt").write_bytes(SECRET)
    app = root / "app"
    (app / "assets").mkdir(parents=True)
    (app / "index.html").write_text("<!doctype html><title>terrabit</title>")
    (app / "assets" / "main.js").write_bytes(JS)
    (app / "assets" / "kernel.wasm").write_bytes(WASM)
    (app / "assets" / "empty.bin").write_bytes(b"")
    (app / ".env").write_bytes(SECRET)
    (app / "escape.txt").symlink_to(root / "secret.txt")
    corpus = root / "corpus"
    shutil.copytree(small_corpus, corpus)
    (corpus / "link-out").symlink_to(root / "secret.txt")
    (corpus / "dir-out").symlink_to(root, target_is_directory=True)
    (corpus / ".hidden").write_bytes(SECRET)
    return {"root": root, "app": app, "corpus": corpus}


@pytest.fixture(scope="module")
def server(site: dict[str, Path]) -> Iterator[AppServer]:
    with make_server(site["corpus"], port=0, app_dir=site["app"]) as srv:
        yield srv


def request(
    srv: AppServer, path: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A raw request (the path is sent as is: no client-side normalisation)."""
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def shard_path(corpus: Path) -> str:
    shards = sorted((corpus / "shards").glob("*.parquet"))
    assert shards, "the fixture corpus has no shards"
    return shards[0].relative_to(corpus).as_posix()


# -- ranges ------------------------------------------------------------------------------
def range_oracle(header: str, data: bytes) -> tuple[int, bytes]:
    """Brute force: the status and body RFC 9110 prescribes for one ``bytes=`` range."""
    spec = header.removeprefix("bytes=")
    first_s, last_s = spec.split("-")
    size = len(data)
    if first_s == "":
        n = int(last_s)
        return (416, b"") if n == 0 or size == 0 else (206, data[-n:])
    first = int(first_s)
    if last_s and int(last_s) < first:
        return 200, data  # invalid: ignored
    if first >= size:
        return 416, b""
    last = int(last_s) if last_s else size - 1
    return 206, data[first : last + 1]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_range_matches_slice(server: AppServer, site: dict[str, Path], data: st.DataObject) -> None:
    rel = data.draw(st.sampled_from(["manifest.parquet", shard_path(site["corpus"])]))
    body = (site["corpus"] / rel).read_bytes()
    size = len(body)
    n = st.integers(0, size + 20)
    kind = data.draw(st.sampled_from(["a-b", "a-", "-n"]))
    if kind == "a-b":
        header = f"bytes={data.draw(n)}-{data.draw(n)}"
    elif kind == "a-":
        header = f"bytes={data.draw(n)}-"
    else:
        header = f"bytes=-{data.draw(n)}"
    status, headers, got = request(server, "/corpus/" + rel, headers={"Range": header})
    want_status, want = range_oracle(header, body)
    assert status == want_status, header
    assert headers["accept-ranges"] == "bytes"
    if status == 416:
        assert headers["content-range"] == f"bytes */{size}"
        assert got == b""
        return
    assert got == want
    assert int(headers["content-length"]) == len(want)
    if status == 206:
        first = size - len(want) if kind == "-n" else int(header[6:].split("-")[0])
        assert headers["content-range"] == f"bytes {first}-{first + len(want) - 1}/{size}"


def test_parse_range_edge_cases() -> None:
    assert parse_range("bytes=0-0", 1) == (0, 0)
    assert parse_range("bytes=-5", 3) == (0, 2)  # suffix longer than the file: all of it
    assert parse_range("bytes=0-", 0) is False  # nothing is satisfiable in an empty file
    assert parse_range("bytes=-1", 0) is False
    assert parse_range("bytes=5-2", 10) is None  # invalid: ignored, whole file
    assert parse_range("bytes=-", 10) is None
    assert parse_range("bytes=0-1,4-5", 10) is None  # multipart: not offered, whole file
    assert parse_range("bits=0-1", 10) is None


@contextlib.contextmanager
def unlimited_int_digits() -> Iterator[None]:
    """Let ``int()`` read numerals of any length (Python refuses > 4300 digits)."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def span_oracle(first_s: str, last_s: str, size: int) -> tuple[int, int] | bool | None:
    """RFC 9110 section 14.1.2 with unbounded integers: the span of ``bytes=F-L``, False
    for unsatisfiable (416), None for invalid (ignored: 200)."""
    with unlimited_int_digits():
        if not first_s and not last_s:
            return None
        if not first_s:
            n = int(last_s)
            return False if n == 0 or size == 0 else (max(0, size - n), size - 1)
        first = int(first_s)
        if last_s and int(last_s) < first:
            return None
        if first >= size:
            return False
        return first, min(int(last_s), size - 1) if last_s else size - 1


numerals = st.one_of(
    st.just(""),
    st.integers(0, 130).map(str),
    st.tuples(st.integers(0, 5000), st.integers(0, 130)).map(lambda z: "0" * z[0] + str(z[1])),
    st.text("0123456789", min_size=4290, max_size=6000),
)


@settings(max_examples=300, deadline=None)
@given(first=numerals, last=numerals, size=st.integers(0, 120))
def test_parse_range_reads_numbers_of_any_length(first: str, last: str, size: int) -> None:
    assert parse_range(f"bytes={first}-{last}", size) == span_oracle(first, last, size)


# -- Range abuse: always an answer, never a traceback --------------------------------------
HUGE = "9" * 5000
RANGE_ABUSE = [
    # (Range header, status, span of the body (None: whole file)) -- hand-worked per RFC 9110
    (f"bytes={HUGE}-", 416, None),  # first byte past the end
    (f"bytes={HUGE}-{HUGE}", 416, None),
    (f"bytes=0-{HUGE}", 206, (0, -1)),  # last byte past the end: to the end
    (f"bytes=-{HUGE}", 206, (0, -1)),  # suffix longer than the file: all of it
    (f"bytes={'0' * 5000}5-{'0' * 5000}9", 206, (5, 9)),  # leading zeros
    (f"bytes={HUGE}-{'1' * 5000}", 200, None),  # last < first: invalid, ignored
    ("bytes=-0", 416, None),  # an empty suffix is unsatisfiable
    ("bytes=5-2", 200, None),  # last < first: invalid, ignored
    ("bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(200)), 200, None),  # 200 ranges
    ("bytes=" + ",".join(["0-0"] * 5000), 200, None),  # 5,000 ranges (~20 kB)
    ("bytes=abc-def", 200, None),  # non-numeric
    ("bytes=1e3-", 200, None),
    ("bytes=0x10-0x20", 200, None),
    ("bytes=--5", 200, None),
    ("bytes=", 200, None),
    ("BYTES=0-3", 206, (0, 3)),  # range units are case-insensitive
]


def test_range_abuse_is_answered(site: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    """Each abusive Range gets its RFC 9110 status on one kept-alive connection (never
    dropped), and the server's log has a line per request and no traceback."""
    data = (site["corpus"] / "manifest.parquet").read_bytes()
    size = len(data)
    with make_server(site["corpus"], port=0, app_dir=site["app"], log_requests=True) as srv:
        host, port = srv.server_address[:2]
        conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
        try:
            conn.connect()
            sock = conn.sock
            for header, want_status, span in RANGE_ABUSE:
                conn.request("GET", "/corpus/manifest.parquet", headers={"Range": header})
                resp = conn.getresponse()
                body = resp.read()
                assert (resp.status, resp.will_close) == (want_status, False), header[:40]
                assert conn.sock is sock, header[:40]  # the same connection answered
                if want_status == 416:
                    assert resp.getheader("Content-Range") == f"bytes */{size}"
                    assert body == b""
                elif span is None:
                    assert body == data and resp.getheader("Content-Range") is None
                else:
                    first, last = span[0], span[1] % size
                    assert body == data[first : last + 1]
                    assert resp.getheader("Content-Range") == f"bytes {first}-{last}/{size}"
        finally:
            conn.close()
    log = capfd.readouterr().err
    assert "Traceback" not in log and "Exception" not in log
    assert log.count('"GET /corpus/manifest.parquet HTTP/1.1"') == len(RANGE_ABUSE)


def test_range_header_over_the_line_limit_is_refused(server: AppServer) -> None:
    """A header line over http.server's 64 KiB limit: 431, not a dropped connection."""
    header = "bytes=" + ",".join(["0-0"] * 20_000)
    assert request(server, "/corpus/manifest.parquet", headers={"Range": header})[0] == 431


def test_full_get_head_and_conditionals(server: AppServer, site: dict[str, Path]) -> None:
    path = site["corpus"] / "manifest.parquet"
    data = path.read_bytes()
    status, headers, body = request(server, "/corpus/manifest.parquet")
    assert (status, body) == (200, data)
    assert headers["content-length"] == str(len(data))
    assert headers["content-type"] == "application/vnd.apache.parquet"
    assert headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in headers["access-control-expose-headers"]
    etag, modified = headers["etag"], headers["last-modified"]

    status, hheaders, hbody = request(server, "/corpus/manifest.parquet", method="HEAD")
    assert (status, hbody) == (200, b"")
    assert hheaders["content-length"] == str(len(data)) and hheaders["etag"] == etag

    status, hheaders, hbody = request(
        server, "/corpus/manifest.parquet", method="HEAD", headers={"Range": "bytes=4-9"}
    )
    assert (status, hbody, hheaders["content-length"]) == (206, b"", "6")
    assert hheaders["content-range"] == f"bytes 4-9/{len(data)}"

    status, _, body = request(server, "/corpus/manifest.parquet", headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    status, _, _ = request(
        server, "/corpus/manifest.parquet", headers={"If-Modified-Since": modified}
    )
    assert status == 304
    status, _, body = request(
        server, "/corpus/manifest.parquet", headers={"If-None-Match": '"other"'}
    )
    assert (status, body) == (200, data)

    # If-Range: the range applies only while the validator still matches.
    status, _, body = request(
        server, "/corpus/manifest.parquet", headers={"Range": "bytes=0-3", "If-Range": etag}
    )
    assert (status, body) == (206, data[:4])
    status, _, body = request(
        server, "/corpus/manifest.parquet", headers={"Range": "bytes=0-3", "If-Range": '"old"'}
    )
    assert (status, body) == (200, data)


def test_empty_file_and_options(server: AppServer) -> None:
    status, headers, body = request(server, "/assets/empty.bin")
    assert (status, body, headers["content-length"]) == (200, b"", "0")
    status, headers, _ = request(server, "/assets/empty.bin", headers={"Range": "bytes=0-"})
    assert (status, headers["content-range"]) == (416, "bytes */0")
    status, headers, _ = request(server, "/corpus/manifest.parquet", method="OPTIONS")
    assert status == 204 and "Range" in headers["access-control-allow-headers"]
    status, _, _ = request(server, "/corpus/manifest.parquet", method="POST")
    assert status == 501


@pytest.mark.parametrize(
    ("path", "content_type", "expected"),
    [
        ("/", "text/html; charset=utf-8", b"<!doctype html><title>terrabit</title>"),
        ("/index.html", "text/html; charset=utf-8", b"<!doctype html><title>terrabit</title>"),
        ("/index.html?corpus=x#bbox=1", "text/html; charset=utf-8", None),
        ("/assets/main.js", "text/javascript; charset=utf-8", JS),
        ("/assets/kernel.wasm", "application/wasm", WASM),
        ("/corpus/manifest.parquet", "application/vnd.apache.parquet", None),
    ],
)
def test_mime_types(server: AppServer, path: str, content_type: str, expected: bytes) -> None:
    status, headers, body = request(server, path)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["x-content-type-options"] == "nosniff"
    if expected is not None:
        assert body == expected


def test_shard_mime_type(server: AppServer, site: dict[str, Path]) -> None:
    status, headers, _ = request(server, "/corpus/" + shard_path(site["corpus"]))
    assert (status, headers["content-type"]) == (200, "application/vnd.apache.parquet")


TRAVERSALS = [
    "/../secret.txt",
    "/corpus/../secret.txt",
    "/corpus/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/corpus/%2e%2e/secret.txt",
    "/corpus/shards/..%2f..%2fsecret.txt",
    "/corpus/shards/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/corpus/%2fetc%2fpasswd",
    "//etc/passwd",
    "/corpus//etc/passwd",
    "/corpus/./manifest.parquet",
    "/corpus/link-out",
    "/corpus/dir-out/secret.txt",
    "/escape.txt",
    "/.env",
    "/corpus/.hidden",
    "/corpus/",
    "/corpus",
    "/corpus/shards",
    "/corpus/shards/",
    "/assets/",
    "/assets",
    "/corpus/manifest.parquet%00.txt",
    "/corpus/..%5csecret.txt",
    "/%ff%fe",
    "http://evil.example/secret.txt",
    "*",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_is_reachable(server: AppServer, path: str) -> None:
    for method in ("GET", "HEAD"):
        status, _, body = request(server, path, method=method)
        assert status == 404, (method, path, status)
        assert SECRET not in body and b"root:" not in body


_SEGMENTS = [
    "..",
    "%2e%2e",
    "%2E%2e",
    ".",
    "",
    "corpus",
    "shards",
    "assets",
    "secret.txt",
    "link-out",
    "dir-out",
    "escape.txt",
    ".env",
    ".hidden",
    "%2f",
    "..%2f",
    "%5c",
    "manifest.parquet",
    "index.html",
    "etc",
    "passwd",
    "%00",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=6))
def test_any_path_serves_only_files_inside(
    server: AppServer, site: dict[str, Path], parts: list[str]
) -> None:
    """Property: whatever the path, a 200 is the bytes of a file inside the app or the
    corpus, and the secret beside them never leaks."""
    status, _, body = request(server, "/" + "/".join(parts))
    assert SECRET not in body
    if status == 200:
        inside = [
            p.read_bytes()
            for top in (site["app"], site["corpus"])
            for p in top.rglob("*")
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
        ]
        assert body in inside
    else:
        assert status == 404


def test_index_of_app_folder_only_at_root(server: AppServer) -> None:
    assert request(server, "/")[0] == 200
    assert request(server, "/assets/")[0] == 404


def test_concurrent_requests(server: AppServer, site: dict[str, Path]) -> None:
    """A slow client holding a connection does not block others (threaded server)."""
    host, port = server.server_address[:2]
    idle = http.client.HTTPConnection(str(host), int(port), timeout=10)
    idle.connect()
    idle.sock.sendall(b"GET /corpus/manifest.parquet HTTP/1.1\r\n")  # headers never finished
    try:
        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    request(server, "/corpus/manifest.parquet", headers={"Range": "bytes=0-3"})[0]
                )
            )
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == [206] * 8
    finally:
        idle.close()


# -- a burst of new connections ---------------------------------------------------------
class _KeptOpen(io.BufferedReader):
    """A reader that a response's end does not close (the socket's ``with`` does)."""

    def close(self) -> None:
        pass


class _SharedReader:
    """A socket stand-in whose ``makefile`` is one shared reader, so that
    :class:`http.client.HTTPResponse` can parse several responses from one stream."""

    def __init__(self, sock: socket.socket) -> None:
        self.reader = _KeptOpen(socket.SocketIO(sock, "rb"))

    def makefile(self, mode: str) -> io.BufferedReader:
        return self.reader


def burst(
    srv: AppServer, clients: int, *, hold: bool
) -> tuple[list[tuple[str, int, bytes, float]], float]:
    """``clients`` raw sockets connecting at the same moment, each sending one GET of the
    manifest (every other one a Range ``bytes=4-11``); ``(outcomes, wall seconds)``.

    An outcome is ``(kind, status, body, seconds to the reply)``, ``kind`` being ``ok``
    or the error's name. With ``hold`` each client keeps its connection open, idle,
    until every client has its reply.
    """
    host, port = srv.server_address[:2]
    start = threading.Barrier(clients + 1)
    holding = threading.Barrier(clients, timeout=30)
    outcomes: list[tuple[str, int, bytes, float]] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        ranged = "Range: bytes=4-11\r\n" if i % 2 else ""
        connection = "keep-alive" if hold else "close"
        start.wait()
        t = time.perf_counter()
        try:
            with socket.create_connection((str(host), int(port)), timeout=20) as sock:
                sock.sendall(
                    f"GET /corpus/manifest.parquet HTTP/1.1\r\nHost: t\r\n{ranged}"
                    f"Connection: {connection}\r\n\r\n".encode("ascii")
                )
                resp = http.client.HTTPResponse(_SharedReader(sock))  # type: ignore[arg-type]
                resp.begin()
                out = ("ok", resp.status, resp.read(), time.perf_counter() - t)
                if hold:
                    holding.wait()
        except Exception as exc:  # reported, and the test fails on it
            out = (type(exc).__name__, 0, b"", time.perf_counter() - t)
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    start.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join(60)
    return outcomes, time.perf_counter() - t0


def check_burst(outcomes: list[tuple[str, int, bytes, float]], data: bytes) -> None:
    """All answered (no reset, no timeout): 200 with the file or 206 with bytes 4-11."""
    want = {200: data, 206: data[4:12]}
    failed = [(kind, status) for kind, status, body, _ in outcomes if want.get(status) != body]
    assert len(outcomes) == 200 and failed == []
    assert sorted(status for _, status, _, _ in outcomes) == [200] * 100 + [206] * 100


def test_burst_of_new_connections(
    server: AppServer, site: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """200 simultaneous new connections are all answered, within seconds (with the
    stdlib's listen backlog of 5, tens of them hung for a minute or were reset)."""
    outcomes, wall = burst(server, 200, hold=False)
    check_burst(outcomes, (site["corpus"] / "manifest.parquet").read_bytes())
    assert wall < 10 and max(dt for *_, dt in outcomes) < 10  # measured: ~0.1 s
    assert "Traceback" not in capfd.readouterr().err


class _RecordingHandler(RequestHandler):
    """Records the thread that answers each request."""

    threads: ClassVar[set[str]] = set()

    def handle_one_request(self) -> None:
        _RecordingHandler.threads.add(threading.current_thread().name)
        super().handle_one_request()


def test_few_workers_serve_a_crowd_that_holds_its_connections(site: dict[str, Path]) -> None:
    """4 workers answer 200 clients that all keep their connections open: a worker idle
    on a kept-alive connection gives it up as soon as another connection waits, and no
    thread but the 4 workers ever answers."""
    _RecordingHandler.threads = set()
    with make_server(
        site["corpus"], port=0, app_dir=site["app"], workers=4, handler=_RecordingHandler
    ) as srv:
        outcomes, _ = burst(srv, 200, hold=True)
    check_burst(outcomes, (site["corpus"] / "manifest.parquet").read_bytes())
    assert max(dt for *_, dt in outcomes) < 10  # measured: ~0.3 s
    assert len(_RecordingHandler.threads) <= 4
    assert all(name.startswith("terrabit-serve-worker-") for name in _RecordingHandler.threads)


def test_pipelined_and_kept_alive_requests(server: AppServer, site: dict[str, Path]) -> None:
    """Two requests sent in one write are both answered, in order, on one connection."""
    data = (site["corpus"] / "manifest.parquet").read_bytes()
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as sock:
        sock.sendall(
            b"GET /corpus/manifest.parquet HTTP/1.1\r\nHost: t\r\nRange: bytes=0-3\r\n\r\n"
            b"GET /corpus/manifest.parquet HTTP/1.1\r\nHost: t\r\nRange: bytes=-4\r\n\r\n"
        )
        stream = _SharedReader(sock)
        bodies = []
        for _ in range(2):
            resp = http.client.HTTPResponse(stream)  # type: ignore[arg-type]
            resp.begin()
            assert resp.status == 206
            bodies.append(resp.read())
    assert bodies == [data[:4], data[-4:]]


def test_workers_are_checked(site: dict[str, Path]) -> None:
    with pytest.raises(InvalidInputError, match="workers must be between 1 and 256, got 0"):
        make_server(site["corpus"], port=0, app_dir=site["app"], workers=0)


# -- refusals ----------------------------------------------------------------------------
def test_refuses_a_folder_that_is_not_a_corpus(tmp_path: Path, site: dict[str, Path]) -> None:
    with pytest.raises(CorpusNotFoundError, match=r"has no manifest\.parquet.*terrabit publish"):
        make_server(tmp_path, port=0, app_dir=site["app"])
    with pytest.raises(CorpusNotFoundError, match=r"is not a folder.*terrabit publish"):
        make_server(tmp_path / "missing", port=0, app_dir=site["app"])
    (tmp_path / "manifest.parquet").write_bytes(b"not parquet")
    with pytest.raises(CorpusIntegrityError):
        make_server(tmp_path, port=0, app_dir=site["app"])


def test_refuses_an_unbuilt_app(tmp_path: Path, site: dict[str, Path]) -> None:
    with pytest.raises(TerrabitError, match=r"not built.*npm run build"):
        make_server(site["corpus"], port=0, app_dir=tmp_path)


def test_warns_off_loopback_and_reports_busy_port(site: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match="not loopback"):
        srv = make_server(site["corpus"], host="0.0.0.0", port=0, app_dir=site["app"])
    try:
        port = srv.server_address[1]
        assert srv.url == f"http://127.0.0.1:{port}/"
        with pytest.raises(TerrabitError, match=r"cannot listen on 127\.0\.0\.1.*another port"):
            make_server(site["corpus"], port=port, app_dir=site["app"])
    finally:
        srv.server_close()


# -- the served corpus reads like the local one ---------------------------------------------
def test_http_corpus_reads_same_rows(server: AppServer, site: dict[str, Path]) -> None:
    import terrabit

    world = (-180.0, -90.0, 180.0, 90.0)
    with terrabit.open(site["corpus"]) as local:
        want = local.read(world).sort_by("id")
    with terrabit.open(server.url + "corpus/") as remote:
        got = remote.read(world).sort_by("id")
    assert got.num_rows == want.num_rows == 2000
    assert got.equals(want)


# -- the CLI -----------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> object:
    from terrabit.cli import main

    monkeypatch.setitem(main.COMMANDS, "serve", "terrabit.cli.web:serve")
    monkeypatch.setitem(main.COMMANDS, "site", "terrabit.cli.web:site")
    return main.cli


def test_cli_serve_refuses_non_corpus(cli: object, tmp_path: Path) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["serve", str(tmp_path)])  # type: ignore[arg-type]
    assert result.exit_code == 1
    assert "Error: " in result.output and "terrabit publish" in result.output


def test_cli_serve_bad_port(cli: object, site: dict[str, Path]) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["serve", str(site["corpus"]), "--port", "70000"])  # type: ignore[arg-type]
    assert result.exit_code == 2 and "--port" in result.output


def test_serve_stops_cleanly_on_ctrl_c(site: dict[str, Path]) -> None:
    """A real ``serve()`` process: it prints its URL, answers, and exits 0 on SIGINT."""
    code = (
        "import sys; from terrabit.web import serve; "
        "serve(sys.argv[1], port=0, app_dir=sys.argv[2])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(site["corpus"]), str(site["app"])],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert " at http://127.0.0.1:" in line, line
        url = line.rsplit(" at ", 1)[1].strip()
        with urllib.request.urlopen(url + "corpus/manifest.parquet", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.returncode == 0
        rest = proc.stderr.read()
        assert "stopped" in rest and "Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- the real app over terrabit serve ------------------------------------------------------
def test_real_app_reads_shards_with_range_requests(
    page: object, app_url: str, small_corpus: Path
) -> None:
    """The built app, served by ``terrabit serve``, runs a URL-hash query and reads the
    shard it needs with HTTP Range (206) from the same server -- nothing off-host."""
    import shapely

    import terrabit

    with terrabit.open(small_corpus) as corpus:
        row = corpus.read((-180.0, -90.0, 180.0, 90.0), columns=["geometry"]).slice(0, 1)
    point = shapely.from_wkb(row["geometry"][0].as_py()).centroid
    x, y = point.x, point.y
    query = f"#bbox={x - 1},{y - 1},{x + 1},{y + 1}&pos={x},{y}&view=topk&k=5"
    responses: list[tuple[str, int, str | None]] = []
    page.on(  # type: ignore[attr-defined]
        "response",
        lambda r: responses.append((r.url, r.status, r.request.headers.get("range"))),
    )
    with page.expect_response(  # type: ignore[attr-defined]
        lambda r: "/corpus/shards/" in r.url, timeout=30_000
    ):
        page.goto(app_url + query)  # type: ignore[attr-defined]
    shards = [(s, rng) for url, s, rng in responses if "/corpus/shards/" in url]
    assert shards and all(s == 206 and rng and rng.startswith("bytes=") for s, rng in shards)
    off_host = [u for u, _, _ in responses if not u.startswith((app_url, "data:", "blob:"))]
    assert off_host == []
    assert page.console_errors == []  # type: ignore[attr-defined]
