"""The layers of ``docs/DESIGN.md``: each imports only from layers below it.

Every ``import`` statement of every module counts, those inside functions too (a lazy
import is still a dependency). The oracle is the table below, written from the design,
not derived from the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import terrabit

PACKAGE = Path(terrabit.__file__).parent

#: Top-level parts of ``terrabit`` and the parts each may import (itself always allowed).
GROUND = {
    "__version__",  # from terrabit import __version__
    "errors",
    "_validation",
    "_atomic",
    "_progress",
    "_compat",
    "_arrow",  # arrow <-> numpy without pyarrow's pandas shim
    "_cluster",
    "aef",  # the AEF tile format's rules (quantization, bands): no files
    "kernels",
    "blocks",  # train/test split by whole grid blocks: arrays only
}
ALLOWED: dict[str, set[str]] = {
    **{part: set(GROUND) for part in GROUND},
    "region": GROUND,
    "geohash": GROUND | {"region"},
    "geoparquet": GROUND | {"region"},
    "codecs": GROUND,
    "corpus": GROUND | {"region", "geohash", "geoparquet", "codecs"},
    "search": GROUND | {"region", "geohash", "geoparquet", "codecs", "corpus"},
}
BESIDE_SEARCH = {"evaluate", "zonal", "segment", "world", "pixels"}
BELOW_CLI = GROUND | {"region", "geohash", "geoparquet", "codecs", "corpus", "search"}


def _part(module: str) -> str:
    """``terrabit.corpus.reader`` -> ``corpus``; ``terrabit`` itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(source: str, package: str) -> list[tuple[int, str]]:
    """Every terrabit module a source of ``package`` imports, with the line (relative
    imports resolved)."""
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("terrabit")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "terrabit":  # from terrabit import geohash, kernels
                found += [(node.lineno, f"terrabit.{a.name}") for a in node.names]
            elif module.startswith("terrabit."):
                found.append((node.lineno, module))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "web" not in p.relative_to(PACKAGE).parts)


def _violations(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem
    if own in ALLOWED:
        allowed = ALLOWED[own]
    elif own in BESIDE_SEARCH:
        allowed = BELOW_CLI
    else:  # cli, __main__, __init__: the top
        return []
    bad = []
    package = ".".join(("terrabit", *rel.parent.parts))
    for line, module in _imports(path.read_text(encoding="utf-8"), package):
        part = _part(module)
        if part and part != own and part not in allowed:
            bad.append(f"{rel}:{line} imports {module} (a layer above {own})")
    return bad


def test_no_module_imports_a_layer_above_it() -> None:
    bad = [v for path in _modules() for v in _violations(path)]
    assert bad == [], "\n".join(bad)


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()}
    known = set(ALLOWED) | BESIDE_SEARCH | {"cli", "web", "__init__", "__main__"}
    assert parts <= known, f"add {sorted(parts - known)} to the layer table of this test"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from terrabit.search.query import search\n", ["terrabit.search.query"]),
        ("def f():\n    from terrabit import search\n", ["terrabit.search"]),
        ("import terrabit.search.views as v\n", ["terrabit.search.views"]),
        ("from ..search import views\n", ["terrabit.search"]),
        ("import numpy\n", []),
    ],
)
def test_the_checker_sees_every_form_of_import(source: str, expected: list[str]) -> None:
    """The checker itself, on hand-written sources (a lazy import inside a function counts)."""
    assert [m for _, m in _imports(source, "terrabit.corpus")] == expected
