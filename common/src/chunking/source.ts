/** Anything that yields bytes in order: a Node Readable, a file handle's stream, an async generator. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** One chunk cut from a stream. `data` belongs to the consumer: the chunker never reuses it. */
export interface Chunk {
  /** Byte offset of the chunk in the source. */
  offset: number;
  data: Buffer;
}

export function toBuffer(piece: Uint8Array): Buffer {
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/** Throws a typed error when chunker options are unusable, once, before any data is read. */
export class ChunkerOptionsError extends Error {
  readonly code = 'chunker_options_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'ChunkerOptionsError';
  }
}
