"""Checksums of saved fits: a damaged file is an error, never silently changed draws.

A saved fit is an HDF5 (netCDF-4) file followed by a short text *trailer* that hierbayes
appends after the file is complete::

    HIERBAYES-FIT-CHECKSUM 1
    content-bytes <bytes before the trailer>
    block-bytes <size of the blocks the content is hashed in>
    sha256 <SHA-256 of the concatenated SHA-256 digests of the blocks>
    blocks <first 8 hex digits of each block's SHA-256> ...
    HIERBAYES-FIT-TRAILER <length of the trailer, 10 digits>

HDF5 (so h5py, h5netcdf, xarray and ArviZ) reads only up to its own end-of-file address and
ignores the trailer: the file stays an ordinary netCDF file. The checksum covers every byte
before the trailer (draws, metadata, data, HDF5 structure) and does not cover itself; one
pass over the file computes it, and the per-block digests say which part of the file was
damaged (which stored arrays, or HDF5's own structure). A file with bytes after HDF5's end
but no readable trailer is damaged; a file without either (saved before checksums existed)
loads with an :class:`UnverifiedFitWarning`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import FitFileError, warn_user

MAGIC = b"\nHIERBAYES-FIT-CHECKSUM 1\n"
_LAST_LINE = re.compile(rb"HIERBAYES-FIT-TRAILER (\d{10})\n\Z")
_LAST_LINE_BYTES = len(b"HIERBAYES-FIT-TRAILER 0000000000\n")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MIN_BLOCK = 4096
#: blocks grow (in powers of two) so that a trailer holds at most this many digests
MAX_BLOCKS = 400
_READ = 1 << 22


class UnverifiedFitWarning(UserWarning):
    """A saved fit has no checksum (saved by an older hierbayes): it cannot be verified."""


def _block_bytes(content_bytes: int) -> int:
    size = MIN_BLOCK
    while -(-content_bytes // size) > MAX_BLOCKS:
        size *= 2
    return size


def _block_digests(fh, block_bytes: int, limit: int) -> tuple[list[bytes], int]:
    """SHA-256 of each block of the first ``limit`` bytes of the file."""
    fh.seek(0)
    digests, total = [], 0
    while total < limit:
        hasher, filled = hashlib.sha256(), 0
        while filled < block_bytes and total + filled < limit:
            chunk = fh.read(min(_READ, block_bytes - filled, limit - total - filled))
            if not chunk:
                break
            hasher.update(chunk)
            filled += len(chunk)
        if not filled:
            break
        digests.append(hasher.digest())
        total += filled
    return digests, total


def append_checksum(path: str | Path) -> None:
    """Hash a complete saved fit and append the checksum trailer."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, 2)
        block_bytes = _block_bytes(size)
        digests, _ = _block_digests(fh, block_bytes, size)
        body = (
            MAGIC
            + f"content-bytes {size}\nblock-bytes {block_bytes}\n".encode()
            + f"sha256 {hashlib.sha256(b''.join(digests)).hexdigest()}\n".encode()
            + ("blocks " + " ".join(d.hex()[:8] for d in digests) + "\n").encode()
        )
        fh.seek(size)
        fh.write(body + f"HIERBAYES-FIT-TRAILER {len(body) + _LAST_LINE_BYTES:010d}\n".encode())


def hdf5_end(head: bytes) -> int | None:
    """HDF5's end-of-file address from the superblock at the start of ``head`` (versions
    0 to 3, 8-byte addresses), or None when there is no readable superblock there."""
    if not head.startswith(HDF5_SIGNATURE) or len(head) < 56:
        return None
    version = head[8]
    if version in (0, 1):
        size_of_offsets, at = head[13], 40 if version == 0 else 44
    elif version in (2, 3):
        size_of_offsets, at = head[9], 28
    else:
        return None
    if size_of_offsets != 8:
        return None
    return int.from_bytes(head[at:at + 8], "little")


def _parse_trailer(trailer: bytes, path: Path) -> tuple[int, int, str, list[str]]:
    try:
        if not trailer.startswith(MAGIC):
            raise ValueError("no checksum header")
        lines = trailer.decode("ascii").strip("\n").splitlines()[1:-1]
        fields = dict(line.split(" ", 1) for line in lines)
        content, block = int(fields["content-bytes"]), int(fields["block-bytes"])
        digest, blocks = fields["sha256"], fields["blocks"].split()
        if len(digest) != 64 or block < 1 or content < 0 or len(blocks) != -(-content // block):
            raise ValueError("inconsistent fields")
        int(digest, 16)
        return content, block, digest, blocks
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise FitFileError(f"{str(path)!r} is damaged: its checksum (at the end of the file) cannot be read ({exc})") from None


def verify_checksum(path: str | Path) -> bool:
    """Check a saved fit against its checksum before it is read.

    Returns
    -------
    bool
        True when the file was verified; False for a file without a checksum (saved before
        checksums existed, or not by hierbayes: the caller warns or refuses).

    Raises
    ------
    FitFileError
        When the file does not match its checksum, naming the file and what is damaged.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - _LAST_LINE_BYTES))
        last = _LAST_LINE.search(fh.read())
        if last is None:
            fh.seek(0)
            end = hdf5_end(fh.read(64))
            if end is not None and size > end:
                raise FitFileError(
                    f"{str(path)!r} is damaged: it has {size - end} bytes after the HDF5 data but no "
                    "readable checksum there (the end of the file was overwritten)"
                )
            return False
        length = int(last.group(1))
        if not _LAST_LINE_BYTES <= length <= size:
            raise FitFileError(f"{str(path)!r} is damaged: its checksum (at the end of the file) cannot be read")
        fh.seek(size - length)
        content, block, digest, expected = _parse_trailer(fh.read(length), path)
        if content != size - length:
            raise FitFileError(
                f"{str(path)!r} is damaged: it holds {size - length} bytes before its checksum, but "
                f"{content} were saved ({'bytes are missing' if size - length < content else 'bytes were added'})"
            )
        digests, _ = _block_digests(fh, block, content)
    if hashlib.sha256(b"".join(digests)).hexdigest() == digest:
        return True
    bad = [i for i, (d, e) in enumerate(zip(digests, expected, strict=True)) if d.hex()[:8] != e]
    ranges = [(i * block, min((i + 1) * block, content)) for i in bad]
    where = damaged_parts(path, ranges) if ranges else "the checksum itself"
    raise FitFileError(
        f"{str(path)!r} is damaged: its content does not match the checksum written when it was saved "
        f"(damaged: {where}). Load an intact copy or refit"
    )


def _stored_ranges(path: Path) -> list[tuple[str, int, int]]:
    """(name, first byte, end byte) of every contiguous dataset and of every chunk of a
    chunked (compressed) dataset that h5py can locate."""
    import h5py

    out: list[tuple[str, int, int]] = []
    with h5py.File(path, "r") as f:
        def visit(name, obj) -> None:
            if isinstance(obj, h5py.Dataset):
                offset = obj.id.get_offset()  # None for chunked or empty datasets
                if offset is not None:
                    out.append((name, int(offset), int(offset) + obj.id.get_storage_size()))
                elif obj.chunks is not None:
                    for i in range(obj.id.get_num_chunks()):
                        chunk = obj.id.get_chunk_info(i)
                        out.append((name, int(chunk.byte_offset), int(chunk.byte_offset) + int(chunk.size)))
        f.visititems(visit)
    return out


def damaged_parts(path: Path, ranges: list[tuple[int, int]]) -> str:
    """Which stored arrays (``group/variable``) overlap the damaged byte ranges; bytes in no
    array are HDF5's own structure and attributes (metadata)."""
    try:
        stored = _stored_ranges(path)
    except Exception:  # noqa: BLE001 - the structure itself is too damaged to read
        stored = None
    span = ", ".join(f"bytes {a}-{b - 1}" for a, b in ranges[:5]) + (" ..." if len(ranges) > 5 else "")
    if stored is None:
        return f"{span}; HDF5 structure unreadable"
    names, structural = [], False
    for a, b in ranges:
        hits = [name for name, lo, hi in stored if lo < b and a < hi]
        names.extend(h for h in hits if h not in names)
        covered = sum(min(b, hi) - max(a, lo) for _, lo, hi in stored if lo < b and a < hi)
        structural = structural or covered < b - a
    parts = [f"arrays {', '.join(names[:8])}" + (" ..." if len(names) > 8 else "")] if names else []
    if structural:
        parts.append("HDF5 structure or attributes (metadata)")
    return f"{span}, holding {' and '.join(parts)}"


def warn_unverified(path: Path) -> None:
    warn_user(
        f"{str(path)!r} has no checksum (saved by an older hierbayes): it cannot be verified. "
        "Save it again to add one",
        UnverifiedFitWarning
    )
