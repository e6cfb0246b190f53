import { FerryError } from '../../../common/src/errors.ts';

/**
 * Wire constants of the NBD protocol (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md)
 * as far as Ferry's client uses it, and its error type.
 */
export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPT_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

export const FLAG_FIXED_NEWSTYLE = 1;
export const FLAG_NO_ZEROES = 2;

export const OPT = { go: 7, structuredReply: 8, setMetaContext: 10 } as const;
export const REP = { ack: 1, info: 3, metaContext: 4 } as const;
export const REP_ERROR_BIT = 0x80000000;
export const INFO = { export: 0, blockSize: 3 } as const;
export const CMD = { read: 0, write: 1, disc: 2, flush: 3, blockStatus: 7 } as const;
export const REPLY_FLAG_DONE = 1;
export const REPLY_TYPE = { none: 0, offsetData: 1, offsetHole: 2, blockStatus: 5 } as const;
export const REPLY_TYPE_ERROR_BIT = 0x8000;

/** `base:allocation` flags. */
export const NBD_STATE = { hole: 1, zero: 2 } as const;
/** `qemu:dirty-bitmap:*` flag: the range was written since the bitmap was created. */
export const NBD_STATE_DIRTY = 1;

/** Error of the NBD layer: protocol violations, server errors and a lost connection. */
export function nbdError(message: string, cause?: unknown): FerryError {
  return new FerryError('nbd_error', `NBD: ${message}`, { status: 502, retryable: true, cause });
}

export function requestHeader(type: number, cookie: number, offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(BigInt(cookie), 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}

export function errnoName(code: number): string {
  const names: Record<number, string> = { 1: 'EPERM', 5: 'EIO', 12: 'ENOMEM', 22: 'EINVAL', 28: 'ENOSPC', 75: 'EOVERFLOW', 95: 'ENOTSUP', 108: 'ESHUTDOWN' };
  return names[code] ?? 'error';
}
