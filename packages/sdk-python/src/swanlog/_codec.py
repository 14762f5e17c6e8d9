"""Chunk encoding of run directory format v1 (docs/format.md "Chunk encoding").

Values are raw little-endian float64; steps, timestamps and sequence numbers are varint delta
streams, each run-length encoded when that is smaller. The streams of one flush are shared by
every key logged in the same calls, so `encode_streams` runs once per group of keys and
`assemble_chunk` only glues bytes together.
"""

from __future__ import annotations

import operator
import struct
import sys
import zlib
from array import array
from itertools import compress, repeat

CODEC_VERSION = 1
HEADER = 16
FLAG_ABSOLUTE_STEPS = 1
FLAG_RLE_STEPS = 2
FLAG_RLE_TS = 4
FLAG_RLE_SEQS = 8
KNOWN_FLAGS = FLAG_ABSOLUTE_STEPS | FLAG_RLE_STEPS | FLAG_RLE_TS | FLAG_RLE_SEQS
MAX_ZIGZAG_DELTA = 2**51
MAX_SAFE_INTEGER = 2**53 - 1

_LITTLE = sys.byteorder == "little"
_HEAD = struct.Struct("<BBHI")
_CRC_TAIL = struct.Struct("<I")
# One-byte varints are by far the most common: look them up instead of computing them.
_SMALL = [bytes([i]) for i in range(128)]


class ChunkDecodeError(ValueError):
    """The bytes are not a sound chunk (checksum, header, length or varints)."""


def _varint(v: int, out: bytearray) -> None:
    if v < 128:
        out += _SMALL[v]
        return
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)


def _deltas(values: list[int]) -> list[int]:
    """values[i] - values[i-1], with values[-1] = 0 (C-level loops: a flush encodes millions)."""
    if not values:
        return []
    out = list(map(operator.sub, values[1:], values[:-1]))
    out.insert(0, values[0])
    return out


def _zigzag(deltas: list[int]) -> list[int]:
    if min(deltas) >= 0:
        return list(map(operator.lshift, deltas, repeat(1, len(deltas))))
    return [d * 2 if d >= 0 else -d * 2 - 1 for d in deltas]


def _plain(values: list[int], out: bytearray) -> None:
    if max(values) < 128:
        out += bytes(values)  # every varint is one byte
        return
    for v in values:
        _varint(v, out)


def _stream(deltas: list[int], out: bytearray) -> bool:
    """Writes a delta stream, run-length encoded when it has fewer than n/2 runs; answers whether it was."""
    n = len(deltas)
    if n == 0:
        return False
    changes = list(compress(range(1, n), map(operator.ne, deltas[1:], deltas[:-1])))
    if (len(changes) + 1) * 2 >= n:
        _plain(deltas, out)
        return False
    start = 0
    for end in changes:
        _varint(deltas[start], out)
        _varint(end - start, out)
        start = end
    _varint(deltas[start], out)
    _varint(n - start, out)
    return True


def encode_streams(steps: list[int], ts: list[int], seqs: list[int]) -> tuple[int, bytes]:
    """The flags and the varint bytes of the three streams of a chunk (everything after the values)."""
    out = bytearray()
    flags = 0
    step_deltas = _deltas(steps)
    rest = step_deltas[1:]
    if rest and (max(rest) >= MAX_ZIGZAG_DELTA or min(rest) <= -MAX_ZIGZAG_DELTA):
        flags |= FLAG_ABSOLUTE_STEPS
        _plain(steps, out)
    elif _stream(_zigzag(step_deltas), out):
        flags |= FLAG_RLE_STEPS
    if _stream(_deltas(ts), out):
        flags |= FLAG_RLE_TS
    if _stream(_deltas(seqs), out):
        flags |= FLAG_RLE_SEQS
    return flags, bytes(out)


def values_bytes(values: array) -> bytes:
    """float64 little endian, bit for bit (NaN payloads and -0 included)."""
    if _LITTLE:
        return values.tobytes()
    swapped = array("d", values)
    swapped.byteswap()
    return swapped.tobytes()


def assemble_chunk(n: int, flags: int, values: bytes, streams: bytes) -> bytes:
    head = _HEAD.pack(CODEC_VERSION, flags, 0, n)
    crc = zlib.crc32(streams, zlib.crc32(values, zlib.crc32(b"\0\0\0\0", zlib.crc32(head))))
    return b"".join((head, _CRC_TAIL.pack(crc), b"\0\0\0\0", values, streams))


def encode_chunk(steps: list[int], values: array, ts: list[int], seqs: list[int]) -> bytes:
    for s in steps:
        if not 0 <= s <= MAX_SAFE_INTEGER:
            raise ValueError(f"step {s} is not a non-negative safe integer")
    flags, streams = encode_streams(steps, ts, seqs)
    return assemble_chunk(len(steps), flags, values_bytes(values), streams)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    for _ in range(9):
        if pos >= len(buf):
            raise ChunkDecodeError("chunk ends inside a number")
        b = buf[pos]
        pos += 1
        result |= (b & 127) << shift
        if b < 128:
            return result, pos
        shift += 7
    raise ChunkDecodeError("chunk holds an overlong number")


def _read_stream(buf: bytes, pos: int, n: int, rle: bool, zigzag: bool) -> tuple[list[int], int]:
    out: list[int] = []
    prev = 0

    def undo(v: int) -> int:
        if not zigzag:
            return v
        return v // 2 if v % 2 == 0 else -(v + 1) // 2

    if not rle:
        for _ in range(n):
            v, pos = _read_varint(buf, pos)
            prev += undo(v)
            out.append(prev)
        return out, pos
    while len(out) < n:
        v, pos = _read_varint(buf, pos)
        run, pos = _read_varint(buf, pos)
        if run < 1 or len(out) + run > n:
            raise ChunkDecodeError("chunk has a run past its point count")
        d = undo(v)
        for _ in range(run):
            prev += d
            out.append(prev)
    return out, pos


def check_chunk(data: bytes) -> int:
    """Checks a chunk's header and checksum; answers its point count."""
    if len(data) < HEADER:
        raise ChunkDecodeError(f"chunk is {len(data)} bytes, shorter than its header")
    if data[0] != CODEC_VERSION:
        raise ChunkDecodeError(f"unknown chunk codec version {data[0]}")
    (crc,) = _CRC_TAIL.unpack_from(data, 8)
    if crc != zlib.crc32(data[12:], zlib.crc32(data[:8])):
        raise ChunkDecodeError("chunk checksum mismatch")
    _, flags, reserved, n = _HEAD.unpack_from(data, 0)
    if flags & ~KNOWN_FLAGS or reserved or data[12:16] != b"\0\0\0\0":
        raise ChunkDecodeError("chunk header has unknown flags or reserved bits set")
    if len(data) < HEADER + n * 8 + (3 if n else 0):
        raise ChunkDecodeError(f"chunk too short for {n} points")
    return n


def decode_chunk(data: bytes) -> tuple[list[int], array, list[int], list[int]]:
    """(steps, values, ts, seqs) of a chunk; ChunkDecodeError when it is damaged."""
    data = bytes(data)
    n = check_chunk(data)
    flags = data[1]
    values = array("d")
    values.frombytes(data[HEADER : HEADER + n * 8])
    if not _LITTLE:
        values.byteswap()
    pos = HEADER + n * 8
    if flags & FLAG_ABSOLUTE_STEPS:
        steps = []
        for _ in range(n):
            v, pos = _read_varint(data, pos)
            steps.append(v)
    else:
        steps, pos = _read_stream(data, pos, n, bool(flags & FLAG_RLE_STEPS), True)
    ts, pos = _read_stream(data, pos, n, bool(flags & FLAG_RLE_TS), False)
    seqs, pos = _read_stream(data, pos, n, bool(flags & FLAG_RLE_SEQS), False)
    if pos != len(data):
        raise ChunkDecodeError("chunk has trailing bytes")
    return steps, values, ts, seqs
