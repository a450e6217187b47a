"""A static HTTP server on loopback that honours single ``Range`` requests (stdlib only).

It runs in a child process (GDAL may hold the GIL while it reads, which would stall a
server thread of the test process) and logs every request (method, path, Range header,
bytes sent) to a file, so tests can check that indexes and tiles are read by ranges,
never whole; paths listed in the ``fail`` file are answered 503.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Log:
    """What the server was asked for, read back from its log file."""

    folder: Path

    @property
    def requests(self) -> list[tuple[str, str, str | None, int]]:
        """``(method, path, range header, bytes sent)`` of every request so far."""
        path = self.folder / "requests.jsonl"
        if not path.exists():
            return []
        return [tuple(json.loads(line)) for line in path.read_text().splitlines() if line]  # type: ignore[misc]

    def sent(self, suffix: str) -> int:
        """Bytes sent for paths ending with ``suffix``."""
        return sum(n for _, p, _, n in self.requests if p.endswith(suffix))

    def gets(self, suffix: str) -> list[tuple[str, str, str | None, int]]:
        """The GET requests of paths ending with ``suffix``."""
        return [r for r in self.requests if r[0] == "GET" and r[1].endswith(suffix)]

    def set_failing(self, paths: list[str]) -> None:
        """Answer 503 to these URL paths from now on (``[]`` heals)."""
        (self.folder / "fail.json").write_text(json.dumps(paths))

    def failing(self) -> set[str]:
        path = self.folder / "fail.json"
        return set(json.loads(path.read_text())) if path.exists() else set()


def _handler(root: Path, log: Log) -> type[SimpleHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self, head: bool) -> None:
            rel = self.path.split("?")[0]
            target = Path(self.translate_path(rel))
            rng = self.headers.get("Range")
            if rel in log.failing():
                self.send_error(503, "simulated outage")
                self._log(rng, 0)
                return
            if not target.is_file():
                self.send_error(404)
                self._log(rng, 0)
                return
            data = target.read_bytes()
            size = len(data)
            start, end, status = 0, size - 1, 200
            match = _RANGE.match(rng or "")
            if match and size:  # one range; several ranges get the whole file (RFC 9110)
                a, b = match.groups()
                if a:
                    start, end = int(a), min(int(b), size - 1) if b else size - 1
                else:
                    start, end = max(0, size - int(b)), size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.end_headers()
                    self._log(rng, 0)
                    return
                status = 206
            body = data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if not head:
                self.wfile.write(body)
            self._log(rng, 0 if head else len(body))

        def _log(self, rng: str | None, sent: int) -> None:
            line = json.dumps([self.command, self.path, rng, sent]) + "\n"
            with lock, open(log.folder / "requests.jsonl", "a") as fh:
                fh.write(line)

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_HEAD(self) -> None:
            self._serve(head=True)

    return Handler


@contextmanager
def serve(root: Path) -> Iterator[tuple[str, Log]]:
    """Serve ``root`` at ``http://127.0.0.1:PORT`` (a free port) until the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="rangeserver-"))
    proc = subprocess.Popen(
        [sys.executable, __file__, str(root), str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}", Log(folder)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _main(root: str, folder: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Path(root), Log(Path(folder))))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
