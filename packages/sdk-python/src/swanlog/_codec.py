"""Chunk encoding of run directory format v1 (docs/format.md "Chunk encoding").

Values are raw little-endian float64; steps, timestamps and sequence numbers are varint delta
streams, each run-length encoded when that is smaller. The streams of one flush are shared by
every key logged in the same calls, so `encode_streams` runs once per group of keys and
`assemble_chunk` only glues bytes together.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array

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


def _deltas(values: list[int], zigzag: bool) -> list[int]:
    out = []
    prev = 0
    for v in values:
        d = v - prev
        prev = v
        if zigzag:
            d = d * 2 if d >= 0 else -d * 2 - 1
        out.append(d)
    return out


def _stream(deltas: list[int], out: bytearray) -> bool:
    """Writes a delta stream, run-length encoded when it has fewer than n/2 runs; answers whether it was."""
    n = len(deltas)
    runs: list[tuple[int, int]] = []
    if n:
        current = deltas[0]
        length = 0
        for d in deltas:
            if d == current:
                length += 1
            else:
                runs.append((current, length))
                if len(runs) * 2 >= n:
                    break
                current = d
                length = 1
        else:
            runs.append((current, length))
    if n and len(runs) * 2 < n:
        for d, length in runs:
            _varint(d, out)
            _varint(length, out)
        return True
    for d in deltas:
        _varint(d, out)
    return False


def encode_streams(steps: list[int], ts: list[int], seqs: list[int]) -> tuple[int, bytes]:
    """The flags and the varint bytes of the three streams of a chunk (everything after the values)."""
    absolute = False
    prev = 0
    for i, s in enumerate(steps):
        if i and (s - prev >= MAX_ZIGZAG_DELTA or prev - s >= MAX_ZIGZAG_DELTA):
            absolute = True
            break
        prev = s
    out = bytearray()
    flags = 0
    if absolute:
        flags |= FLAG_ABSOLUTE_STEPS
        for s in steps:
            _varint(s, out)
    elif _stream(_deltas(steps, True), out):
        flags |= FLAG_RLE_STEPS
    if _stream(_deltas(ts, False), out):
        flags |= FLAG_RLE_TS
    if _stream(_deltas(seqs, False), out):
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
