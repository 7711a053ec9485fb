"""The on-disk cache of the exported NUTS programs of :mod:`.jaxnuts`: one ``.bin`` file
(the serialized ``jax.export`` programs, concatenated) and one ``.json`` file (metadata) per
program key, written atomically and pruned oldest first (with the stored graph arguments of
:mod:`.graph_cache`, ``.npz`` and ``.json``, which share the folder)."""

from __future__ import annotations

import json
import os
import time

from .nuts_setup import cache_dir

#: Cached programs are pruned (oldest first) above this many bytes.
CACHE_MAX_BYTES = 2 * 1024**3


def cache_folder() -> str | None:
    """The folder of the cached programs (created); None when caching is off."""
    root = cache_dir()
    if root is None:
        return None
    folder = os.path.join(root, "programs")
    os.makedirs(folder, exist_ok=True)
    return folder


def cache_paths(key: str) -> tuple[str, str] | None:
    """The program file and its metadata file for ``key``; None when caching is off."""
    folder = cache_folder()
    if folder is None:
        return None
    return os.path.join(folder, key + ".bin"), os.path.join(folder, key + ".json")


PROGRAM_NAMES = ("init", "advance", "finish")


def load_programs(paths: tuple[str, str] | None) -> tuple[dict, dict] | None:
    """The exported programs and metadata stored at ``paths``; None when absent or damaged
    (it is then rebuilt)."""
    from jax import export

    if paths is None or not (os.path.exists(paths[0]) and os.path.exists(paths[1])):
        return None
    try:
        with open(paths[1]) as fh:
            meta = json.load(fh)
        with open(paths[0], "rb") as fh:
            blob = fh.read()
        programs, offset = {}, 0
        for name, size in zip(PROGRAM_NAMES, meta["program_bytes"]):
            programs[name] = export.deserialize(bytearray(blob[offset:offset + size]))
            offset += size
    except Exception:  # a damaged or incompatible entry: rebuild it
        return None
    now = time.time()
    os.utime(paths[0], (now, now))
    return programs, meta


def save_programs(paths: tuple[str, str] | None, programs: dict, meta: dict) -> None:
    """Store exported programs atomically, then prune the cache to ``CACHE_MAX_BYTES``."""
    if paths is None:
        return
    try:
        blobs = [bytes(programs[name].serialize()) for name in PROGRAM_NAMES]
    except Exception:  # serialization needs the optional 'flatbuffers' package
        return
    meta = {**meta, "program_bytes": [len(b) for b in blobs]}
    write_atomically(paths[0], b"".join(blobs))
    write_atomically(paths[1], json.dumps(meta).encode())
    _prune(os.path.dirname(paths[0]))


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader sees the
    old file, none, or the whole new one."""
    tmp = path + f".tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _prune(folder: str) -> None:
    entries = []
    for name in os.listdir(folder):
        if name.endswith((".bin", ".npz")):  # programs and the graphs' arguments (graph_cache.py)
            path = os.path.join(folder, name)
            st = os.stat(path)
            entries.append((st.st_mtime, st.st_size, path))
    total = sum(e[1] for e in entries)
    for _, size, path in sorted(entries):
        if total <= CACHE_MAX_BYTES:
            break
        for p in (path, path[:-4] + ".json"):
            try:
                os.remove(p)
            except OSError:
                pass
        total -= size
