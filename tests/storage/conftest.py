"""Real storage servers on loopback for the remote-corpus tests.

* ``s3``: moto's S3-compatible server (``moto[server]``, ``ThreadedMotoServer``) on a free
  port, with a bucket; :class:`S3` sets the ``AWS_*`` variables that obstore (and GDAL's
  ``/vsis3/``) read to find it.
* ``nginx``: Debian's nginx serving a folder on a free port (it honours HTTP Range, with
  ``206 Partial Content``) from a generated config; its access log records each
  request's status and Range header.

Outside CI a missing server is a skip that says what to install; under CI (``CI=true``)
it is an error, so a CI run cannot silently test nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BUCKET = "terrabit-test"
#: What obstore's S3 store reads from the environment (besides the bucket in the URL).
S3_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")


def _missing(what: str, fix: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is not available under CI; {fix}")
    pytest.skip(f"{what} is not available; {fix}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _wait_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


@dataclass
class S3:
    """A moto S3 server: its endpoint and the environment that points clients at it."""

    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """``AWS_*`` variables for obstore (``AWS_ALLOW_HTTP``: the endpoint is http) and
        GDAL's ``/vsis3/`` (``AWS_S3_ENDPOINT``, ``AWS_HTTPS``, ``AWS_VIRTUAL_HOSTING``)."""
        host = self.endpoint.split("://", 1)[1]
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
            "AWS_S3_ENDPOINT": host,
            "AWS_HTTPS": "NO",
            "AWS_VIRTUAL_HOSTING": "FALSE",
        }

    def store(self) -> Any:
        """An obstore ``S3Store`` of the bucket (independent of terrabit's own store)."""
        from obstore.store import S3Store

        return S3Store(
            self.bucket,
            endpoint=self.endpoint,
            access_key_id="testing",
            secret_access_key="testing",
            region="us-east-1",
            client_options={"allow_http": True},
        )

    def upload(self, folder: Path, prefix: str) -> list[str]:
        """Put every file under ``folder`` at ``s3://bucket/prefix/…``; return the keys."""
        import obstore

        store = self.store()
        keys = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            obstore.put(store, key, path.read_bytes())
            keys.append(key)
        return keys


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    """moto's S3 server on loopback with an empty bucket (session-wide)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        _missing("moto's S3 server", "install it with `pip install 'moto[server]'`")
    pytest.importorskip("obstore")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = S3(f"http://{host}:{port}", BUCKET)
    try:
        import boto3  # installed with moto

        boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        yield s3
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    """``s3_server`` with the ``AWS_*`` environment pointing at it (for this test)."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return s3_server


@dataclass
class Nginx:
    """An nginx serving ``root`` at ``url``; ``log`` is its access log."""

    url: str
    root: Path
    log: Path

    def requests(self) -> list[tuple[str, str, int, str]]:
        """``(method, path, status, range header)`` of each request logged so far."""
        out = []
        for line in self.log.read_text().splitlines():
            method, path, status, rng = line.split("\t")
            out.append((method, path, int(status), rng))
        return out


_CONF = """\
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    default_type application/octet-stream;
    log_format ranges '$request_method\\t$uri\\t$status\\t$http_range';
    access_log {prefix}/access.log ranges;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def _nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None
    )


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """Debian's nginx on a free loopback port, serving an empty folder (session-wide)."""
    binary = _nginx_binary()
    if binary is None:
        _missing("nginx", "install it with `apt-get install -y nginx-light`")
        return
    prefix = tmp_path_factory.mktemp("nginx")
    root = prefix / "www"
    root.mkdir()
    for _ in range(3):  # a free port may be taken between the probe and nginx's bind
        port = _free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(_CONF.format(prefix=prefix, port=port, root=root))
        (prefix / "access.log").write_text("")
        proc = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if _wait_port(port, 10.0, proc):
            break
        proc.kill()
        proc.wait()
    else:
        err = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
        pytest.fail(f"nginx did not start: {err[-500:]}")
    try:
        yield Nginx(f"http://127.0.0.1:{port}", root, prefix / "access.log")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
