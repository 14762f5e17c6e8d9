"""Chunk encodings of the run directory format (docs/format.md "Chunk encoding").

This SDK writes codec version 1 and reads versions 1 and 2. In version 1 values are raw
little-endian float64; steps, timestamps and sequence numbers are varint delta
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
VALUES_RAW, VALUES_XOR64, VALUES_XOR32, VALUES_INT, VALUES_INT_RLE = range(5)
LEAD_64 = (0, 8, 12, 16, 18, 20, 22, 24)
LEAD_32 = (0, 4, 6, 8, 10, 12, 14, 16)
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
    version = data[0]
    if version not in (1, 2):
        raise ChunkDecodeError(f"unknown chunk codec version {version}")
    (crc,) = _CRC_TAIL.unpack_from(data, 8)
    if crc != zlib.crc32(data[12:], zlib.crc32(data[:8])):
        raise ChunkDecodeError("chunk checksum mismatch")
    flags, encoding, reserved = data[1], data[2], data[3]
    (n,) = _CRC_TAIL.unpack_from(data, 4)
    (length,) = _CRC_TAIL.unpack_from(data, 12)
    if version == 1:
        header_ok = encoding == 0 and length == 0
        length = n * 8
    else:
        header_ok = encoding <= VALUES_INT_RLE
    if flags & ~KNOWN_FLAGS or reserved or not header_ok:
        raise ChunkDecodeError("chunk header has unknown flags, encodings or reserved bits set")
    if len(data) < HEADER + length + (3 if n else 0):
        raise ChunkDecodeError(f"chunk too short for {n} points")
    return n


class _BitReader:
    """Bit fields most significant bit first from data[pos:end] (chunk codec 2's value streams)."""

    __slots__ = ("data", "pos", "end", "acc", "nacc")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end, self.acc, self.nacc = data, pos, end, 0, 0

    def get(self, k: int) -> int:
        while self.nacc < k:
            if self.pos >= self.end:
                raise ChunkDecodeError("chunk value stream ends early")
            take = min(8, self.end - self.pos)
            self.acc = (self.acc << (8 * take)) | int.from_bytes(self.data[self.pos : self.pos + take], "big")
            self.pos += take
            self.nacc += 8 * take
        self.nacc -= k
        v = self.acc >> self.nacc
        self.acc &= (1 << self.nacc) - 1
        return v

    def finish(self) -> None:
        # What is left must be the zero bits that pad the stream to a whole byte.
        if self.nacc + 8 * (self.end - self.pos) >= 8 or self.acc:
            raise ChunkDecodeError("chunk value stream has trailing bits")


def _decode_xor(data: bytes, pos: int, end: int, n: int, width: int) -> list[int]:
    """Chimp over `width`-bit patterns (docs/format.md "Value encodings")."""
    if n == 0:
        if pos != end:
            raise ChunkDecodeError("chunk value stream has trailing bits")
        return []
    lead_table, len_bits, threshold = (LEAD_64, 6, 6) if width == 64 else (LEAD_32, 5, 5)
    r = _BitReader(data, pos, end)
    get = r.get
    prev = get(width)
    out = [prev]
    stored = -1
    for _ in range(n - 1):
        flag = get(2)
        if flag == 0:
            stored = -1
        elif flag == 1:
            lead = lead_table[get(3)]
            length = get(len_bits)
            tz = width - lead - length
            if length == 0 or tz <= threshold:
                raise ChunkDecodeError("chunk value stream has a bad centre length")
            prev ^= get(length) << tz
            stored = -1
        else:
            if flag == 3:
                stored = lead_table[get(3)]
            elif stored < 0:
                raise ChunkDecodeError("chunk value stream reuses a leading-zero count it never set")
            prev ^= get(width - stored)
        out.append(prev)
    r.finish()
    return out


def _decode_values(data: bytes, n: int) -> tuple[array, int]:
    """The values of a chunk and where its value stream ends."""
    values = array("d")
    if data[0] == 1:
        end = HEADER + n * 8
        values.frombytes(data[HEADER:end])
        if not _LITTLE:
            values.byteswap()
        return values, end
    (length,) = _CRC_TAIL.unpack_from(data, 12)
    end = HEADER + length
    encoding = data[2]
    if encoding == VALUES_RAW:
        if length != n * 8:
            raise ChunkDecodeError(f"chunk value stream is not {n} float64 values")
        values.frombytes(data[HEADER:end])
        if not _LITTLE:
            values.byteswap()
    elif encoding == VALUES_XOR64:
        values.frombytes(struct.pack(f"<{n}Q", *_decode_xor(data, HEADER, end, n, 64)))
        if not _LITTLE:
            values.byteswap()
    elif encoding == VALUES_XOR32:
        narrow = array("f")
        narrow.frombytes(struct.pack(f"<{n}I", *_decode_xor(data, HEADER, end, n, 32)))
        if not _LITTLE:
            narrow.byteswap()
        values = array("d", narrow)  # widening is exact (a NaN keeps its payload)
    else:
        ints, stop = _read_stream(data, HEADER, n, encoding == VALUES_INT_RLE, True)
        if stop != end:
            raise ChunkDecodeError("chunk value stream has trailing bytes")
        values = array("d", ints)
    return values, end


def decode_chunk(data: bytes, with_values: bool = True) -> tuple[list[int], array, list[int], list[int]]:
    """(steps, values, ts, seqs) of a chunk (codec 1 or 2); ChunkDecodeError when it is damaged.
    `with_values=False` skips the values (an empty array comes back): what reading steps needs,
    and much faster for codec 2, whose value stream pure Python decodes at a few µs per value."""
    data = bytes(data)
    n = check_chunk(data)
    flags = data[1]
    if with_values:
        values, pos = _decode_values(data, n)
    else:
        values = array("d")
        pos = HEADER + (n * 8 if data[0] == 1 else _CRC_TAIL.unpack_from(data, 12)[0])
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
