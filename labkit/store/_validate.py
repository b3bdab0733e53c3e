"""Check a store against the Zarr v3 specification, by hand, without zarr-python.

labkit promises stores that other Zarr implementations read. zarr-python reading its own
output proves little, so this reads every ``zarr.json`` as plain JSON and checks the fields the
v3 core specification requires: node types, data types from the spec's list (plus the
registered ``string`` type), a regular chunk grid, the default chunk key encoding, a fill
value valid for the data type, exactly one array-to-bytes codec, dimension names, and strict
JSON (no ``NaN`` tokens) in the attributes.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["SPEC_DATA_TYPES", "validate_store"]

SPEC_DATA_TYPES = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
}
REGISTERED_DATA_TYPES = {"string"}  # zarr-extensions: variable-length UTF-8
ARRAY_TO_BYTES = {"bytes", "sharding_indexed", "vlen-utf8"}
BYTES_TO_BYTES = {"blosc", "gzip", "crc32c", "zstd"}
ARRAY_TO_ARRAY = {"transpose"}
_FLOAT_WORDS = {"NaN", "Infinity", "-Infinity"}
_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


def _strict_load(path: Path) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    with open(path, "rb") as handle:
        return json.loads(handle.read().decode("utf-8"), parse_constant=refuse)


def _valid_float_fill(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, str):
        return value in _FLOAT_WORDS or (value.startswith("0x") and len(value) > 2)
    return False


def _check_fill(data_type: str, fill: Any) -> str | None:
    if data_type == "bool":
        return None if isinstance(fill, bool) else "a bool data type needs a true/false fill"
    if data_type in _INT_RANGES:
        low, high = _INT_RANGES[data_type]
        if isinstance(fill, bool) or not isinstance(fill, int) or not low <= fill <= high:
            return f"fill value {fill!r} is not an integer in the range of {data_type}"
        return None
    if data_type.startswith("float"):
        return None if _valid_float_fill(fill) else f"fill value {fill!r} is not a valid float"
    if data_type.startswith("complex"):
        ok = isinstance(fill, list) and len(fill) == 2 and all(_valid_float_fill(v) for v in fill)
        return None if ok else f"fill value {fill!r} is not a [real, imaginary] pair"
    if data_type == "string":
        return None if isinstance(fill, str) else "a string data type needs a string fill"
    return None


def _check_array(name: str, meta: dict[str, Any]) -> list[str]:
    problems = []

    def bad(text: str) -> None:
        problems.append(f"{name}: {text}")

    shape = meta.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        bad(f"shape {shape!r} is not a list of non-negative integers")
        return problems
    data_type = meta.get("data_type")
    if isinstance(data_type, dict):  # an extension data type: {"name": ..., "configuration": ...}
        data_type = str(data_type.get("name"))
    if data_type not in SPEC_DATA_TYPES | REGISTERED_DATA_TYPES:
        bad(f"data type {data_type!r} is not in the Zarr v3 specification")
    grid = meta.get("chunk_grid") or {}
    chunk_shape = (grid.get("configuration") or {}).get("chunk_shape")
    if grid.get("name") != "regular":
        bad(f"chunk grid {grid.get('name')!r} is not 'regular'")
    elif not (
        isinstance(chunk_shape, list)
        and len(chunk_shape) == len(shape)
        and all(isinstance(n, int) and n > 0 for n in chunk_shape)
    ):
        bad(f"chunk shape {chunk_shape!r} does not match shape {shape!r}")
    encoding = meta.get("chunk_key_encoding") or {}
    if encoding.get("name") not in ("default", "v2"):
        bad(f"chunk key encoding {encoding.get('name')!r} is not in the specification")
    elif (encoding.get("configuration") or {}).get("separator", "/") not in ("/", "."):
        bad("chunk key separator must be '/' or '.'")
    if "fill_value" not in meta:
        bad("fill_value is missing")
    elif isinstance(data_type, str):
        problem = _check_fill(data_type, meta["fill_value"])
        if problem:
            bad(problem)
    codecs = meta.get("codecs")
    if not isinstance(codecs, list) or not codecs:
        bad("codecs must be a non-empty list")
    else:
        names = [c.get("name") if isinstance(c, dict) else None for c in codecs]
        serializers = [n for n in names if n in ARRAY_TO_BYTES]
        if len(serializers) != 1:
            bad(f"codecs {names} need exactly one array-to-bytes codec")
        for codec_name in names:
            if codec_name not in ARRAY_TO_BYTES | BYTES_TO_BYTES | ARRAY_TO_ARRAY:
                bad(f"codec {codec_name!r} is not in the specification or registry")
        if data_type == "string" and "vlen-utf8" not in names:
            bad("a string array needs the vlen-utf8 codec")
        for codec in codecs:
            if isinstance(codec, dict) and codec.get("name") == "bytes":
                endian = (codec.get("configuration") or {}).get("endian")
                multibyte = data_type not in ("bool", "int8", "uint8")
                if multibyte and endian not in ("little", "big"):
                    bad("the bytes codec needs an endian for multi-byte data types")
    dims = meta.get("dimension_names")
    if dims is not None and (
        not isinstance(dims, list)
        or len(dims) != len(shape)
        or not all(d is None or isinstance(d, str) for d in dims)
    ):
        bad(f"dimension_names {dims!r} must name each of the {len(shape)} axes")
    if meta.get("storage_transformers") not in (None, []):
        bad("storage transformers are not expected")
    for key, value in meta.items():
        if isinstance(value, dict) and value.get("must_understand") is True:
            bad(f"extension field {key!r} must be understood")
    return problems


def _nodes(root: Path):
    """Every node's zarr.json, without descending into chunk folders."""
    pending = [root]
    while pending:
        folder = pending.pop()
        document = folder / "zarr.json"
        if document.exists():
            yield document
            try:
                if json.loads(document.read_bytes()).get("node_type") == "array":
                    continue  # chunks below: not nodes
            except (ValueError, AttributeError, OSError):
                pass  # reported when the document itself is checked
        pending.extend(sorted(p for p in folder.iterdir() if p.is_dir()))


def validate_store(path: str | os.PathLike[str]) -> list[str]:
    """Every way the store at ``path`` departs from the Zarr v3 spec; empty if it conforms."""
    root = Path(path)
    if not (root / "zarr.json").exists():
        return [f"{root}: no zarr.json at the root"]
    problems: list[str] = []
    for document in _nodes(root):
        node = document.parent.relative_to(root).as_posix()
        name = "/" if node == "." else f"/{node}"
        try:
            meta = _strict_load(document)
        except ValueError as error:
            problems.append(f"{name}: zarr.json is not strict JSON ({error})")
            continue
        if not isinstance(meta, dict):
            problems.append(f"{name}: zarr.json is not an object")
            continue
        if meta.get("zarr_format") != 3:
            problems.append(f"{name}: zarr_format is {meta.get('zarr_format')!r}, not 3")
        kind = meta.get("node_type")
        if "attributes" in meta and not isinstance(meta["attributes"], dict):
            problems.append(f"{name}: attributes must be an object")
        if kind == "array":
            problems.extend(_check_array(name, meta))
        elif kind != "group":
            problems.append(f"{name}: node_type {kind!r} is not 'group' or 'array'")
    return problems
