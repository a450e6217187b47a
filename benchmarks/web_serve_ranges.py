"""``terrabit serve`` speed: small Range requests (the access pattern of hyparquet in the
browser) and whole-file throughput, against the stdlib ``http.server`` as the peer for
whole files (it cannot answer Range requests at all).

Run: ``.venv/bin/python benchmarks/web_serve_ranges.py [--mib 64] [--requests 1000]``.
Prints medians over interleaved repeats (the machine is shared: quote the ratios).
"""

from __future__ import annotations

import argparse
import functools
import http.client
import os
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from terrabit.corpus import publish
from terrabit.corpus._fixture import write_input
from terrabit.web.serve import RequestHandler, make_server


class _Nagle(RequestHandler):
    disable_nagle_algorithm = False  # the stdlib default: what serve() turns off


def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    n = 0
    while chunk := resp.read(1 << 20):
        n += len(chunk)
    return n


def ranges(port: int, path: str, size: int, count: int, length: int) -> list[float]:
    import random

    rng = random.Random(0)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for _ in range(count):
        first = rng.randrange(0, size - length)
        t = time.perf_counter()
        got = get(conn, path, {"Range": f"bytes={first}-{first + length - 1}"})
        out.append(time.perf_counter() - t)
        assert got == length
    conn.close()
    return out


def whole(port: int, path: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    t = time.perf_counter()
    get(conn, path, {})
    dt = time.perf_counter() - t
    conn.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    publish(write_input(root / "in.parquet", rows=500, dims=16), root / "c", show_progress=False)
    size = args.mib << 20
    (root / "c" / "big.bin").write_bytes(os.urandom(size))
    ours = make_server(root / "c", port=0, app_dir=_app(root)).start()
    peer = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root / "c"))
    )
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    p_ours, p_peer = ours.server_address[1], peer.server_address[1]
    nagle = make_server(root / "c", port=0, app_dir=_app(root), handler=_Nagle).start()
    lat = ranges(p_ours, "/corpus/big.bin", size, args.requests, 4096)
    lat_nagle = ranges(nagle.server_address[1], "/corpus/big.bin", size, 50, 4096)
    lat64 = ranges(p_ours, "/corpus/big.bin", size, args.requests // 4, 65536)
    t_ours, t_peer = [], []
    for _ in range(args.repeats):  # interleaved
        t_ours.append(whole(p_ours, "/corpus/big.bin"))
        t_peer.append(whole(p_peer, "/big.bin"))
    mo, mp = statistics.median(t_ours), statistics.median(t_peer)
    print(
        f"4 KiB Range GET (keep-alive): median {statistics.median(lat) * 1e6:.0f} us, "
        f"p95 {sorted(lat)[int(0.95 * len(lat))] * 1e6:.0f} us over {len(lat)} requests"
    )
    print(
        f"4 KiB Range GET with Nagle left on (stdlib default): median "
        f"{statistics.median(lat_nagle) * 1e6:.0f} us over {len(lat_nagle)} requests"
    )
    print(f"64 KiB Range GET (keep-alive): median {statistics.median(lat64) * 1e6:.0f} us")
    print(
        f"whole {args.mib} MiB GET: terrabit serve {args.mib / mo:.0f} MiB/s, "
        f"stdlib http.server {args.mib / mp:.0f} MiB/s (ratio {mp / mo:.2f}x, "
        f"median of {args.repeats} interleaved)"
    )
    ours.stop()
    nagle.stop()
    peer.shutdown()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _app(root: Path) -> Path:
    app = root / "app"
    app.mkdir(exist_ok=True)
    (app / "index.html").write_text("<!doctype html>")
    return app


if __name__ == "__main__":
    main()
