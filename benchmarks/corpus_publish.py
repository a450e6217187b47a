"""Corpus benchmark: bytes per row, publish speed, region-read bytes, peak RSS.

    python benchmarks/corpus_publish.py --rows 200000 --dims 1024 [--rss-rows 1000000]

1. **Bytes on disk** of a world-like input (square ~2 km patch footprints as WKB
   polygons, clustered around towns; 11-character ids; a datetime) published with
   1024-bit ``binary`` codes, with a per-column breakdown from the Parquet footers.
2. **Publish speed** in rows/s for float32 input (end to end, in a fresh process).
3. **Region reads**: bytes fetched from the source by ``Corpus.read`` for boxes of
   several sizes, against the bytes of the rows inside the box (rows x the shards'
   average compressed bytes per row of the columns read); manifest and footers are
   counted apart, as the issue's goal allows, and so is the page index (reported with
   and without it); once reading pages (format 1.2) and once whole column chunks.
   ``--corpus C`` measures only this, on a published corpus.
4. **Peak RSS** of ``publish``: ``VmHWM`` of the child process (its own high-water mark;
   ``ru_maxrss`` would carry the parent's peak across ``exec``).

Everything is seeded; numbers vary with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import shapely

from terrabit.corpus import Corpus
from terrabit.corpus import format as fmt
from terrabit.corpus import open as open_corpus
from terrabit.corpus._fixture import write_input

_CHILD = """
import json, sys, resource
from terrabit.corpus import publish
r = publish(sys.argv[1], sys.argv[2], codec=sys.argv[3], max_rows=int(sys.argv[4]),
            row_group_rows=int(sys.argv[5]), show_progress=False)
d = r.to_dict()
# VmHWM is this process's own peak (ru_maxrss can carry the parent's peak across exec)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
d["maxrss_kib"] = int(hwm[0].split()[1]) if hwm else peak
print(json.dumps(d))
"""


def run_publish(
    src: Path, out: Path, codec: str, max_rows: int, row_group_rows: int
) -> dict[str, float]:
    """Publish in a fresh process; return its result plus peak RSS and wall time."""
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(src),
            str(out),
            codec,
            str(max_rows),
            str(row_group_rows),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - started, 2)
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    result["peak_rss_mib"] = round(result.pop("maxrss_kib") / 1024, 1)
    return result


def breakdown(corpus: Path) -> dict[str, float]:
    """Compressed bytes per row of each column, and of footers (from the Parquet footers)."""
    sizes: dict[str, int] = {}
    rows = 0
    other = 0
    for path in sorted(corpus.glob("shards/*.parquet")):
        md = pq.read_metadata(path)
        rows += md.num_rows
        col_total = 0
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            for j in range(rg.num_columns):
                col = rg.column(j)
                name = col.path_in_schema.split(".")[0]
                sizes[name] = sizes.get(name, 0) + col.total_compressed_size
                col_total += col.total_compressed_size
        other += path.stat().st_size - col_total
    out = {k: round(v / rows, 2) for k, v in sizes.items()}
    out["footers+headers"] = round(other / rows, 2)
    return out


BOXES = 20
"""Boxes of each size, centred on seeded rows."""

READS = {
    # what a search reads, and a read of the id and the code alone
    "search": ["id", "geometry", "bbox", "embedding"],
    "id+embedding": ["id", "embedding"],
}


def _per_row(c: Corpus, columns: list[str]) -> dict[str, float]:
    """Each shard's compressed bytes per row of ``columns`` (from its footer)."""
    out = {}
    for path in c.manifest.column("path").to_pylist():
        md = c.footer(path)
        total = sum(
            md.row_group(g).column(j).total_compressed_size
            for g in range(md.num_row_groups)
            for j in range(md.num_columns)
            if md.schema.column(j).path.split(".")[0] in columns
        )
        out[path] = total / md.num_rows
    return out


def region_reads(corpus: Path, seed: int, *, pages: bool = True) -> list[dict[str, Any]]:
    """Bytes fetched for boxes of several sizes vs the bytes of the rows inside them.

    For each column set of :data:`READS`, ``ratio`` is the bytes ``Corpus.read(box,
    columns)`` fetches over the bytes those columns of the rows inside take (rows x
    their shard's compressed bytes per row of the columns). For ``id+embedding``,
    ``ratio_incl_bbox`` also counts the inside rows' ``bbox`` (the filter column) in
    the denominator, as this benchmark did before the reader stopped fetching it for
    row groups inside the box. Footers and (format 1.2) the page index (the
    OffsetIndex region, fetched once per shard the first time a row group is read page
    by page) are counted apart: ``ratio`` leaves both out, ``ratio_with_page_index``
    adds the page index. With ``pages=False`` the reader reads whole column chunks
    (the format 1.1 behaviour).
    """
    rng = np.random.default_rng(seed)
    results: list[dict[str, Any]] = []
    with open_corpus(corpus, verify="footer") as c:
        c._page_reads = pages
        manifest_bytes = c.bytes_read
        # boxes around seeded rows, picked in id order (not in the corpus's row order)
        anchors = c.read(columns=["id", "bbox"]).sort_by("id").column("bbox")
        picks = rng.choice(len(anchors), BOXES, replace=False)
        per_row = {name: _per_row(c, cols) for name, cols in READS.items()}
        with_bbox = _per_row(c, ["id", "bbox", "embedding"])
        for size in (0.05, 0.25, 1.0, 4.0, 16.0):
            boxes = []
            for k in picks:
                b = anchors[int(k)].as_py()
                cx, cy = (b["xmin"] + b["xmax"]) / 2, (b["ymin"] + b["ymax"]) / 2
                boxes.append(
                    (
                        max(-180.0, cx - size / 2),
                        max(-90.0, cy - size / 4),
                        min(180.0, cx + size / 2),
                        min(90.0, cy + size / 4),
                    )
                )
            row: dict[str, Any] = {"box_deg": size, "manifest_bytes": manifest_bytes}
            for name, columns in READS.items():
                fetched, inside, inside_bbox, rows, footer, page_index = 0, 0.0, 0.0, 0, 0, 0
                requests = 0
                for box in boxes:
                    shards = c.select_shards(box).column("path").to_pylist()
                    # footers are fetched once per shard and cached; count them apart
                    c.drop_caches()
                    c.source.bytes_read = 0
                    for path in shards:
                        c.footer(path)
                    footer += c.source.bytes_read
                    c.drop_caches(footers=False)
                    c.source.bytes_read = 0
                    c.source.requests = 0
                    table = c.read(box, columns=columns)
                    # the page index is fetched inside the read: measure it alone, subtract
                    got = c.source.bytes_read
                    requests += c.source.requests
                    c.source.close()
                    before = c.source.bytes_read
                    for path in shards:
                        shard = c._shard(path)
                        if shard.page_locs_known:
                            shard.page_locs_known = False
                            shard.page_locations()
                    pi = c.source.bytes_read - before
                    page_index += pi
                    fetched += got - pi
                    rows += table.num_rows
                    # the bytes of the rows inside: their shard's average bytes per row
                    for path in shards:
                        n = c._read_shard(path, [box], ["id"], shapely.box(*box)).num_rows
                        inside += n * per_row[name][path]
                        inside_bbox += n * with_bbox[path]
                    c.drop_caches(footers=False)
                row[name] = {
                    "rows": rows,
                    "fetched_bytes": fetched,
                    "inside_bytes": round(inside),
                    "ratio": round(fetched / inside, 3) if inside else None,
                    "page_index_bytes": page_index,
                    "ratio_with_page_index": (
                        round((fetched + page_index) / inside, 3) if inside else None
                    ),
                    "requests": requests,
                    "footer_bytes": footer,
                }
                if name == "id+embedding":
                    row[name]["ratio_incl_bbox"] = (
                        round(fetched / inside_bbox, 3) if inside_bbox else None
                    )
            results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dims", type=int, default=1024)
    parser.add_argument("--codec", default="binary")
    parser.add_argument("--rss-rows", type=int, default=0, help="Also publish this many rows.")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="Only measure region reads of this published corpus (pages and whole chunks).",
    )
    parser.add_argument("--max-rows", type=int, default=100_000)
    parser.add_argument("--row-group-rows", type=int, default=fmt.DEFAULT_ROW_GROUP_ROWS)
    parser.add_argument(
        "--noise", type=float, default=0.2, help="Embedding noise; 100 gives random codes."
    )
    args = parser.parse_args()
    if args.corpus is not None:
        out = {
            "pages": region_reads(args.corpus, args.seed),
            "whole_chunks": region_reads(args.corpus, args.seed, pages=False),
        }
        print(json.dumps(out, indent=2))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="terrabit-bench-"))
    report: dict[str, object] = {
        "rows": args.rows,
        "dims": args.dims,
        "codec": args.codec,
        "noise": args.noise,
        "max_rows": args.max_rows,
        "row_group_rows": args.row_group_rows,
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }

    src = work / f"in-{args.rows}-{args.dims}-{args.noise}.parquet"
    if not src.exists():
        write_input(src, rows=args.rows, dims=args.dims, seed=args.seed, noise=args.noise)
    out = work / "corpus"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    res = run_publish(src, out, args.codec, args.max_rows, args.row_group_rows)
    report["publish"] = res
    float_bytes = args.dims * 4
    report["bytes_per_row"] = res["bytes_per_row"]
    report["compression_vs_float32"] = round(float_bytes / res["bytes_per_row"], 1)
    report["breakdown_bytes_per_row"] = breakdown(out)
    report["region_reads"] = region_reads(out, args.seed)
    report["region_reads_whole_chunks"] = region_reads(out, args.seed, pages=False)
    if args.rss_rows:
        big = work / f"in-{args.rss_rows}-{args.dims}-{args.noise}.parquet"
        if not big.exists():
            write_input(
                big, rows=args.rss_rows, dims=args.dims, seed=args.seed + 1, noise=args.noise
            )
        big_out = work / "corpus-big"
        if big_out.exists():
            import shutil

            shutil.rmtree(big_out)
        report["publish_big"] = run_publish(
            big, big_out, args.codec, args.max_rows, args.row_group_rows
        )
    report["self_peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
