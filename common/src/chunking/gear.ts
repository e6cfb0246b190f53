import { createHash } from 'node:crypto';

/**
 * The 256-entry gear table of the content-defined chunker. Derived from SHA-256 of a fixed
 * label and the byte value, so every agent and the hub compute the same table without
 * shipping one, and the chunk boundaries of a file never depend on who chunked it.
 * Changing the label changes every boundary: it is part of the repository format.
 */
export const GEAR_LABEL = 'ferry-fastcdc-gear-v1';

function deriveGear(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`${GEAR_LABEL}:${i}`).digest().readUInt32BE(0);
  }
  return table;
}

export const GEAR: Uint32Array = deriveGear();
