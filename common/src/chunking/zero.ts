const ZEROS = Buffer.alloc(4 * 1024 * 1024);

/** True when every byte is 0. Compares against a static zero page with native memcmp. */
export function isAllZero(data: Uint8Array): boolean {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let off = 0; off < buf.length; off += ZEROS.length) {
    const end = Math.min(buf.length, off + ZEROS.length);
    if (!buf.subarray(off, end).equals(ZEROS.subarray(0, end - off))) return false;
  }
  return true;
}
