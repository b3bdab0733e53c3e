"""Check a store against the Zarr v3 specification and labkit's format, by hand.

labkit promises stores that other Zarr implementations read. zarr-python reading its own
output proves little, so this reads every ``zarr.json`` as plain JSON (through the store
layer, so a bucket is checked like a folder) and checks the fields the v3 core specification
requires — node types, core data types only, a regular chunk grid, the default chunk key
encoding, a fill value valid for the data type, exactly one array-to-bytes codec, strict JSON
(no ``NaN`` tokens) — and what the format page adds: ``dimension_names`` on every array (``[]``
on 0-d ones), text as integer codes with a ``labels`` list, the run's required attributes, and
inline consolidated metadata (an extension with ``must_understand: false``) that agrees with
each array's own document.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

__all__ = ["SPEC_DATA_TYPES", "validate_store"]

# Zarr v3 core data types (spec section "Data types"): the writer takes its own from here.
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
FORMAT1_DATA_TYPES = {"string"}  # format 1 stored text as variable-length UTF-8
ARRAY_TO_BYTES = {"bytes", "sharding_indexed", "vlen-utf8"}
BYTES_TO_BYTES = {"blosc", "gzip", "crc32c", "zstd"}
ARRAY_TO_ARRAY = {"transpose"}
_FLOAT_WORDS = {"NaN", "Infinity", "-Infinity"}
REQUIRED_ATTRIBUTES = (
    "labkit_format",
    "run_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "dims",
    "dims_written",
    "points_written",
)
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


def _strict_load(data: bytes) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(data.decode("utf-8"), parse_constant=refuse)


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


def _check_array(name: str, meta: dict[str, Any], text_types: set[str]) -> list[str]:
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
    if data_type not in SPEC_DATA_TYPES | text_types:
        bad(f"data type {data_type!r} is not a core data type of the Zarr v3 specification")
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
    if (
        not isinstance(dims, list)
        or len(dims) != len(shape)
        or not all(isinstance(d, str) for d in dims)
    ):
        bad(f"dimension_names {dims!r} must name each of the {len(shape)} axes")
    labels = (meta.get("attributes") or {}).get("labels")
    if labels is not None:
        if data_type not in _INT_RANGES:
            bad(f"labels on a {data_type} array: text codes are integers")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            bad("labels must be a list of strings")
    if meta.get("storage_transformers") not in (None, []):
        bad("storage transformers are not expected")
    for key, value in meta.items():
        if isinstance(value, dict) and value.get("must_understand") is True:
            bad(f"extension field {key!r} must be understood")
    return problems


async def _documents(store: Any) -> dict[str, bytes | None]:
    """Every node's zarr.json by node path ('' for the root), without reading chunks."""
    from labkit.store._arrays import BUFFERS

    found: dict[str, bytes | None] = {}
    pending = [""]
    while pending:
        node = pending.pop()
        key = f"{node}/zarr.json" if node else "zarr.json"
        buffer = await store.get(key, BUFFERS)
        found[node] = None if buffer is None else buffer.to_bytes()
        if buffer is None and node:
            continue
        try:
            if json.loads(found[node] or b"{}").get("node_type") == "array":
                continue  # chunks below: not nodes
        except (ValueError, AttributeError):
            pass  # reported when the document itself is checked
        children = [c async for c in store.list_dir(node)]
        for child in sorted(children, reverse=True):
            child = child.rstrip("/").rsplit("/", 1)[-1]
            if child != "zarr.json" and not child.startswith("."):
                path = f"{node}/{child}" if node else child
                if await store.get(f"{path}/zarr.json", BUFFERS) is not None:
                    pending.append(path)
    return found


def _comparable(meta: dict[str, Any]) -> dict[str, Any]:
    """An array's metadata but for what may run ahead of what is published: its shape and
    its labels (the array's own document is updated first)."""
    attributes = {k: v for k, v in (meta.get("attributes") or {}).items() if k != "labels"}
    return {**{k: v for k, v in meta.items() if k != "shape"}, "attributes": attributes}


def _check_consolidated(
    group: dict[str, Any], arrays: dict[str, dict[str, Any]], text_types: set[str]
) -> list[str]:
    inline = group.get("consolidated_metadata")
    if inline is None:
        return []
    problems = []
    if not isinstance(inline, dict) or inline.get("must_understand") is not False:
        return ["/: consolidated_metadata must be an object with must_understand: false"]
    entries = inline.get("metadata")
    if inline.get("kind") != "inline" or not isinstance(entries, dict):
        return ["/: consolidated_metadata must be of kind 'inline' with a metadata object"]
    for name, meta in sorted(entries.items()):
        where = f"/{name} (inline)"
        if not isinstance(meta, dict):
            problems.append(f"{where}: not an object")
            continue
        problems.extend(_check_array(where, meta, text_types))
        own = arrays.get(name)
        if own is None:
            problems.append(f"{where}: no array of that name in the store")
            continue
        if _comparable(meta) != _comparable(own):
            problems.append(f"{where}: differs from the array's own zarr.json")
        labels = (meta.get("attributes") or {}).get("labels") or []
        if labels != ((own.get("attributes") or {}).get("labels") or [])[: len(labels)]:
            problems.append(f"{where}: labels are not those of the array's own zarr.json")
        shape, own_shape = meta.get("shape") or [], own.get("shape") or []
        if len(shape) != len(own_shape) or any(
            a > b for a, b in zip(shape, own_shape, strict=True)
        ):
            problems.append(f"{where}: shape {shape} exceeds the array's own {own_shape}")
    for name in sorted(set(arrays) - set(entries)):
        problems.append(f"/{name}: missing from the inline consolidated metadata")
    return problems


def validate_store(
    path: str | os.PathLike[str] | Any, storage_options: dict[str, Any] | None = None
) -> list[str]:
    """Every way the store at ``path`` (a folder or URL) departs from the Zarr v3 spec and
    labkit's format; empty if it conforms."""
    from zarr.core.sync import sync

    from labkit.store._location import location

    where = location(path, storage_options)
    documents = sync(_documents(where.store(read_only=True)))
    if documents.get("") is None:
        return [f"{where}: no zarr.json at the root"]
    problems: list[str] = []
    parsed: dict[str, dict[str, Any]] = {}
    for node, data in sorted(documents.items()):
        name = f"/{node}"
        try:
            meta = _strict_load(data or b"")
        except ValueError as error:
            problems.append(f"{name}: zarr.json is not strict JSON ({error})")
            continue
        if not isinstance(meta, dict):
            problems.append(f"{name}: zarr.json is not an object")
            continue
        parsed[node] = meta
    root = parsed.get("", {})
    found = root.get("attributes")
    attributes: dict[str, Any] = found if isinstance(found, dict) else {}
    version = attributes.get("labkit_format")
    text_types = FORMAT1_DATA_TYPES if version == 1 else set()
    if version is not None:
        missing = [key for key in REQUIRED_ATTRIBUTES if key not in attributes]
        if missing:
            problems.append(f"/: run attributes missing: {', '.join(missing)}")
    arrays: dict[str, dict[str, Any]] = {}
    for node, meta in parsed.items():
        name = f"/{node}"
        if meta.get("zarr_format") != 3:
            problems.append(f"{name}: zarr_format is {meta.get('zarr_format')!r}, not 3")
        kind = meta.get("node_type")
        if "attributes" in meta and not isinstance(meta["attributes"], dict):
            problems.append(f"{name}: attributes must be an object")
        if kind == "array":
            problems.extend(_check_array(name, meta, text_types))
            arrays[node] = meta
        elif kind != "group":
            problems.append(f"{name}: node_type {kind!r} is not 'group' or 'array'")
    problems.extend(_check_consolidated(root, arrays, text_types))
    return problems
