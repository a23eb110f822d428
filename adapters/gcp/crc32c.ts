// CRC32C (Castagnoli), the checksum Google Cloud APIs send beside payloads (Secret Manager's
// `payload.dataCrc32c`, Cloud KMS's `*Crc32c` fields) so each side can tell data damaged on the way. Node 20 has
// no CRC32C (zlib's crc32, from Node 22, is the other polynomial): a table-driven one, a few lines.
const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC32C of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
