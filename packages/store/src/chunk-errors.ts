/** The bytes are not a sound chunk (checksum, header, length, varints or value stream). */
export class ChunkDecodeError extends Error {}
