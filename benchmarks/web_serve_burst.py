"""``terrabit serve`` under a burst: many clients open a new connection at the same moment,
each sends one GET of a small corpus file and reads the reply (issue 18: with the stdlib's
listen backlog of 5, some of 200 simultaneous connects hung for tens of seconds).

Run: ``.venv/bin/python benchmarks/web_serve_burst.py [--clients 200] [--bursts 3]
[--keep-alive]``. Prints, per burst, how many clients got a full ``200`` reply, were
reset or timed out, and the slowest and median client time (connect to last byte) and
the whole burst's wall time. With ``--keep-alive`` each client asks to keep its
connection and holds it open, idle, until every client has its reply (a crowd of
browsers that do not hang up).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.web.serve import make_server


def client(
    port: int, path: str, start: threading.Barrier, hold: threading.Barrier | None, timeout: float
) -> tuple[str, float]:
    """One raw-socket client: connect, GET, read the reply; ``(outcome, seconds)``.

    Without ``hold`` it asks the server to close and reads to the end; with it, it keeps
    the connection, reads ``Content-Length`` bytes and waits at ``hold`` before closing.
    """
    start.wait()
    t = time.perf_counter()
    connection = "keep-alive" if hold else "close"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n"
            sock.sendall(request.encode("ascii"))
            reply = b""
            while (chunk := sock.recv(1 << 16)) and not _complete(reply := reply + chunk):
                pass
            dt = time.perf_counter() - t
            if hold:
                with contextlib.suppress(threading.BrokenBarrierError):  # others timed out
                    hold.wait()
    except ConnectionResetError:
        return "reset", time.perf_counter() - t
    except TimeoutError:
        return "timeout", time.perf_counter() - t
    status = reply.split(b" ", 2)[1] if reply.startswith(b"HTTP/1.") else b"none"
    return status.decode("ascii", "replace"), dt


def _complete(reply: bytes) -> bool:
    """Whether ``reply`` holds a whole response (headers and ``Content-Length`` bytes)."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def burst(
    port: int, path: str, clients: int, timeout: float, keep_alive: bool
) -> tuple[dict[str, int], list[float], float]:
    """``clients`` threads connecting at once; outcome counts, client times, wall time."""
    start = threading.Barrier(clients + 1)
    hold = threading.Barrier(clients, timeout=timeout) if keep_alive else None
    results: list[tuple[str, float]] = []
    lock = threading.Lock()

    def run() -> None:
        out = client(port, path, start, hold, timeout)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for th in threads:
        th.start()
    start.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    counts: dict[str, int] = {}
    for outcome, _ in results:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts, [dt for _, dt in results], wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--bursts", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0, help="per-client socket timeout, s")
    ap.add_argument("--keep-alive", action="store_true", help="clients hold their connection")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    publish(write_input(root / "in.parquet", rows=200, dims=16), root / "c", show_progress=False)
    app = root / "app"
    app.mkdir()
    (app / "index.html").write_text("<!doctype html>")
    with make_server(root / "c", port=0, app_dir=app) as server:
        port = int(server.server_address[1])
        for i in range(args.bursts):
            counts, times, wall = burst(
                port, "/corpus/manifest.parquet", args.clients, args.timeout, args.keep_alive
            )
            print(
                f"burst {i + 1}: {dict(sorted(counts.items()))}  "
                f"client median {statistics.median(times) * 1e3:.1f} ms, "
                f"max {max(times):.2f} s; burst wall {wall:.2f} s"
            )
            time.sleep(1.0)


if __name__ == "__main__":
    main()
