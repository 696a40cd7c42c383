// Table-driven CRC-32 in the two variants the library's file formats use:
// ISO-HDLC (PNG chunks) and Castagnoli, "CRC-32C" (TFRecord framing).
function crcTable(reversedPolynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? reversedPolynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const TABLES = { 'iso-hdlc': crcTable(0xedb88320), castagnoli: crcTable(0x82f63b78) };

/** The CRC of the concatenated parts. */
export function crc32(parts: readonly Uint8Array[], variant: keyof typeof TABLES = 'iso-hdlc'): number {
  const table = TABLES[variant];
  let crc = 0xffffffff;
  for (const bytes of parts) for (const b of bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
