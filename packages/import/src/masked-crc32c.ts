import { crc32c } from '@aws-crypto/crc32c';

/**
 * TFRecord's masked CRC-32C: ((c >> 15) | (c << 17)) + 0xA282EAD8, so that a CRC stored inside
 * data that is itself checksummed does not cancel out.
 */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
