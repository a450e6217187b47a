"""Range-read sources for a corpus: local folders, ``http(s)://`` and ``s3://`` prefixes.

A :class:`Source` reads byte ranges of files under one root and counts the bytes and
requests it makes, so benchmarks can measure what a region read really fetches. Range
reads are cached (LRU, bounded in bytes). :class:`RangeFile` wraps one file of a source
as a seekable binary file that pyarrow can read.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "a.bin").write_bytes(b"0123456789")
>>> with open_source(str(root)) as src:
...     src.read_range("a.bin", 2, 3), src.size("a.bin"), src.bytes_read
(b'234', 10, 3)
"""

from __future__ import annotations

import bisect
import io
import os
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from terrabit._compat import lazy_import
from terrabit.errors import InvalidInputError, RangeNotSupportedError, ShardIOError

__all__ = [
    "FileSource",
    "HTTPSource",
    "ObjectStoreSource",
    "RangeFile",
    "Source",
    "open_source",
]

_CACHE_BYTES = 64 * 1024 * 1024


class Source(ABC):
    """Byte ranges of files under one root (a folder, a URL prefix or a bucket prefix).

    Subclasses implement :meth:`_fetch` and :meth:`_size`; this class adds an LRU cache
    of ranges, a store of verified *blocks* (:meth:`put_block`: any read inside a block
    is served from it) and counters (:attr:`bytes_read`, :attr:`requests`). Both caches
    share one byte budget.
    """

    coalesce_gap = 4096
    """Ranges at most this many bytes apart are fetched in one request (a request costs
    a round trip remotely; locally it costs a system call, so :class:`FileSource` uses 0)."""

    def __init__(self, root: str, *, cache_bytes: int = _CACHE_BYTES) -> None:
        self.root = root
        self.bytes_read = 0
        self.requests = 0
        self._cache: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0
        self._sizes: dict[str, int] = {}
        self._blocks: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._block_starts: dict[str, list[int]] = {}

    # -- to implement
    @abstractmethod
    def _fetch(self, path: str, offset: int, length: int) -> bytes:
        """Return exactly ``length`` bytes at ``offset`` (fewer only at end of file)."""

    @abstractmethod
    def _size(self, path: str) -> int:
        """Size of ``path`` in bytes; raise FileNotFoundError when it does not exist."""

    def url(self, path: str) -> str:
        """The full location of ``path`` (for messages)."""
        return f"{self.root.rstrip('/')}/{path}"

    # -- public
    def exists(self, path: str) -> bool:
        """Whether ``path`` exists under the root."""
        try:
            self.size(path)
        except FileNotFoundError:
            return False
        return True

    def size(self, path: str) -> int:
        """Size of ``path`` in bytes (cached; :meth:`set_size` primes it)."""
        if path not in self._sizes:
            self._sizes[path] = self._size(path)
        return self._sizes[path]

    def set_size(self, path: str, size: int) -> None:
        """Record a known size (e.g. from the manifest) to save a request."""
        self._sizes[path] = int(size)

    def fetch(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes of ``path`` from ``offset``, fetched now (counted, not cached)."""
        if length <= 0:
            return b""
        data = self._fetch(path, offset, length)
        self.bytes_read += len(data)
        self.requests += 1
        return data

    def put_block(self, path: str, offset: int, data: bytes) -> None:
        """Keep ``data`` (bytes ``offset..`` of ``path``) to serve later reads inside it."""
        key = (path, offset)
        if key in self._blocks or len(data) > self._cache_bytes // 4:
            return
        self._blocks[key] = data
        bisect.insort(self._block_starts.setdefault(path, []), offset)
        self._cached += len(data)
        self._evict()

    def block(self, path: str, offset: int, length: int) -> bytes | None:
        """The bytes ``offset..offset+length`` of ``path`` if a kept block holds them."""
        starts = self._block_starts.get(path)
        if not starts:
            return None
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return None
        start = starts[i]
        data = self._blocks[(path, start)]
        if offset + length > start + len(data):
            return None
        self._blocks.move_to_end((path, start))
        return data[offset - start : offset - start + length]

    def _evict(self) -> None:
        while self._cached > self._cache_bytes and (self._cache or self._blocks):
            if self._cache:
                _, old = self._cache.popitem(last=False)
            else:
                (path, start), old = self._blocks.popitem(last=False)
                self._block_starts[path].remove(start)
            self._cached -= len(old)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes of ``path`` from ``offset`` (cached)."""
        if length <= 0:
            return b""
        kept = self.block(path, offset, length)
        if kept is not None:
            return kept
        key = (path, offset, length)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        data = self.fetch(path, offset, length)
        if len(data) <= self._cache_bytes // 4:
            self._cache[key] = data
            self._cached += len(data)
            self._evict()
        return data

    def read_all(self, path: str) -> bytes:
        """The whole of ``path``."""
        return self.read_range(path, 0, self.size(path))

    def open(self, path: str, *, blocks_only: bool = False) -> RangeFile:
        """A seekable read-only file over ``path`` that reads through this source
        (``blocks_only``: only from kept blocks, an error elsewhere)."""
        return RangeFile(self, path, blocks_only=blocks_only)

    def close(self) -> None:
        """Drop the caches."""
        self._cache.clear()
        self._blocks.clear()
        self._block_starts.clear()
        self._cached = 0

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FileSource(Source):
    """Files under a local folder."""

    coalesce_gap = 0

    def __init__(self, root: str | os.PathLike[str], **kwargs: Any) -> None:
        super().__init__(os.fspath(root), **kwargs)
        self.path = Path(root)

    def url(self, path: str) -> str:
        return str(self.path / path)

    def _size(self, path: str) -> int:
        target = self.path / path
        if not target.is_file():
            raise FileNotFoundError(str(target))
        return target.stat().st_size

    def _fetch(self, path: str, offset: int, length: int) -> bytes:
        try:
            with open(self.path / path, "rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ShardIOError(f"could not read {self.url(path)}: {exc}") from exc


class HTTPSource(Source):
    """Files under an ``http(s)://`` prefix, read with HTTP Range requests (urllib)."""

    def __init__(self, root: str, *, timeout_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(root.rstrip("/"), **kwargs)
        self.timeout_s = timeout_s

    def _request(self, path: str, method: str, headers: dict[str, str]) -> Any:
        req = urllib.request.Request(self.url(path), method=method, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404, 410):
                raise FileNotFoundError(f"{self.url(path)} (HTTP {exc.code})") from exc
            raise ShardIOError(f"HTTP {exc.code} reading {self.url(path)}: {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ShardIOError(f"could not reach {self.url(path)}: {exc}") from exc

    def _size(self, path: str) -> int:
        with self._request(path, "HEAD", {}) as resp:
            length = resp.headers.get("Content-Length")
        if length is None:
            raise ShardIOError(f"{self.url(path)}: the server sent no Content-Length")
        return int(length)

    def _fetch(self, path: str, offset: int, length: int) -> bytes:
        headers = {"Range": f"bytes={offset}-{offset + length - 1}"}
        with self._request(path, "GET", headers) as resp:
            if resp.status != 206:
                raise RangeNotSupportedError(
                    f"{self.url(path)}: the server answered {resp.status} to a Range request "
                    "instead of 206 Partial Content, so reading would download whole files; "
                    "serve the corpus from a host that supports HTTP Range requests "
                    "(`terrabit serve`, nginx, any object store) or copy it locally"
                )
            data: bytes = resp.read()
        return data


class ObjectStoreSource(Source):
    """Files under an object-store prefix (``s3://``, ``gs://``, ``az://``) via obstore."""

    def __init__(
        self,
        root: str,
        *,
        retries: int = 3,
        retry_timeout_s: float = 30.0,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(root.rstrip("/"), **kwargs)
        if self.root.lower().startswith("s3://"):
            _check_s3_credentials(self.root)
        store_mod = lazy_import("obstore.store", "cloud")
        self._obstore = lazy_import("obstore", "cloud")
        options: dict[str, Any] = {}
        if timeout_s is not None:
            client: dict[str, Any] = {"timeout": f"{timeout_s:g}s", "connect_timeout": "10s"}
            if os.environ.get("AWS_ALLOW_HTTP", "").lower() in ("1", "true", "yes"):
                client["allow_http"] = True  # client options replace the environment's
            options["client_options"] = client
        self._store = store_mod.from_url(
            self.root,
            retry_config={
                "max_retries": retries,
                "retry_timeout": timedelta(seconds=retry_timeout_s),
            },
            **options,
        )

    def _size(self, path: str) -> int:
        try:
            meta = self._obstore.head(self._store, path)
        except FileNotFoundError:
            raise
        except Exception as exc:
            if "not found" in str(exc).lower():
                raise FileNotFoundError(self.url(path)) from exc
            raise ShardIOError(f"could not stat {self.url(path)}: {exc}") from exc
        return int(meta["size"])

    def sizes(self, prefix: str = "") -> dict[str, int]:
        """``{path: size}`` of the objects under ``prefix`` (paths relative to the root),
        e.g. ``{"shards/9q.parquet": 812345}``; exercised against moto in
        ``tests/storage``."""
        try:
            stream = self._obstore.list(self._store, prefix=prefix or None, chunk_size=1000)
            return {str(meta["path"]): int(meta["size"]) for chunk in stream for meta in chunk}
        except Exception as exc:
            raise ShardIOError(f"could not list {self.url(prefix)}: {exc}") from exc

    def put(self, path: str, file: Path) -> None:
        """Upload the local ``file`` as the object ``path`` (atomic: whole or absent)."""
        try:
            self._obstore.put(self._store, path, file)
        except Exception as exc:
            raise ShardIOError(f"could not upload {self.url(path)}: {exc}") from exc

    def delete(self, paths: list[str]) -> None:
        """Delete the objects ``paths``."""
        try:
            self._obstore.delete(self._store, paths)
        except Exception as exc:
            raise ShardIOError(
                f"could not delete {len(paths)} object(s) in {self.root}: {exc}"
            ) from exc

    def _fetch(self, path: str, offset: int, length: int) -> bytes:
        try:
            data = self._obstore.get_range(self._store, path, start=offset, length=length)
        except Exception as exc:
            raise ShardIOError(f"could not read {self.url(path)}: {exc}") from exc
        return bytes(data)


_S3_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_SKIP_SIGNATURE",
)


def _check_s3_credentials(root: str) -> None:
    """Fail fast, naming the variables, when no S3 credentials are configured at all.

    Without this, obstore falls back to the instance-metadata address and retries for
    seconds before an error that does not say what to set.
    """
    if any(os.environ.get(name) for name in _S3_CREDENTIAL_VARIABLES):
        return
    raise InvalidInputError(
        f"no S3 credentials for {root}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
        "AWS_REGION; AWS_ENDPOINT_URL for an S3-compatible server, AWS_ALLOW_HTTP=true if it "
        "is plain http), or AWS_PROFILE, or AWS_SKIP_SIGNATURE=true for a public bucket"
    )


def open_source(uri: str | os.PathLike[str], **kwargs: Any) -> Source:
    """The :class:`Source` for a local folder, an ``http(s)://`` or an object-store URI.

    Examples
    --------
    >>> type(open_source("https://example.com/corpus")).__name__
    'HTTPSource'
    >>> open_source("ftp://example.com/corpus")
    Traceback (most recent call last):
    ...
    terrabit.errors.InvalidInputError: unsupported corpus location 'ftp://example.com/corpus'; \
use a local folder, http(s)://, s3://, gs:// or az://
    """
    text = os.fspath(uri)
    scheme, sep, _ = text.partition("://")
    if not sep:
        return FileSource(text, **kwargs)
    scheme = scheme.lower()
    if scheme == "file":
        return FileSource(text[len("file://") :], **kwargs)
    if scheme in ("http", "https"):
        return HTTPSource(text, **kwargs)
    if scheme in ("s3", "gs", "gcs", "az", "abfs", "abfss"):
        return ObjectStoreSource(text, **kwargs)
    raise InvalidInputError(
        f"unsupported corpus location {text!r}; use a local folder, http(s)://, s3://, "
        "gs:// or az://"
    )


class RangeFile(io.RawIOBase):
    """A read-only seekable file over one path of a :class:`Source` (for pyarrow)."""

    def __init__(self, source: Source, path: str, *, blocks_only: bool = False) -> None:
        super().__init__()
        self._source = source
        self._path = path
        self._pos = 0
        self._size = source.size(path)
        self._blocks_only = blocks_only

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = max(0, min(size, self._size - self._pos))
        if self._blocks_only and size:
            kept = self._source.block(self._path, self._pos, size)
            if kept is None:
                raise ShardIOError(
                    f"{self._source.url(self._path)}: a read of {size} bytes at {self._pos} "
                    "outside the verified column chunks"
                )
            self._pos += len(kept)
            return kept
        data = self._source.read_range(self._path, self._pos, size)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)
