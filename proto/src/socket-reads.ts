import net, { type Socket } from 'node:net';

/**
 * Reads of a socket into one reused buffer, as `net.connect`'s `onread` option gives, for any
 * socket: also a server's accepted connections (plain or TLS), which take no such option.
 *
 * Why: a socket in the usual mode allocates a fresh 64 KiB buffer per read. At data-plane
 * rates that is gigabytes of short-lived external memory per backup, and V8 answers external
 * memory growth with full mark-compact collections: on a 2 GiB backup the hub ran 120 of
 * them, costing more CPU than compression (docs/design-notes.md, "Reads into one buffer").
 *
 * It uses the same two internal fields that `onread` sets (found by their symbol descriptions
 * on a socket made with `onread`) and the stream handle's `useUserBuffer`. Where a Node version
 * lacks either, `adoptReadBuffer` returns false and the caller reads 'data' events as before.
 */
interface ReadSymbols {
  buffer: symbol;
  callback: symbol;
}

let symbols: ReadSymbols | null | undefined;

function readSymbols(): ReadSymbols | null {
  if (symbols !== undefined) return symbols;
  symbols = null;
  try {
    // `onread` is typed only for net.connect, but the constructor is where it is read.
    const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => undefined } } as net.SocketConstructorOpts);
    const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
    probe.destroy();
    const buffer = byName.get('kBuffer');
    const callback = byName.get('kBufferCb');
    if (buffer && callback) symbols = { buffer, callback };
  } catch {
    // this Node has no onread: stay on 'data' events
  }
  return symbols;
}

interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

/**
 * Makes `socket` hand every read to `onRead(bytes)`: a view of `buffer`, valid only during the
 * call. Returning false pauses the socket (resume with `socket.resume()`); 'end', 'close' and
 * 'error' are emitted as usual. Bytes the socket already buffered (read before this call) go to
 * `onRead` first. Returns false, changing nothing, when this Node does not allow it.
 */
export function adoptReadBuffer(socket: Socket, buffer: Buffer, onRead: (bytes: Buffer) => boolean): boolean {
  const s = readSymbols();
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
  if (!s || !handle || typeof handle.useUserBuffer !== 'function') return false;
  // Read before the switch (a TLS socket may hold the first records of its peer already).
  let early: Buffer | null;
  const pending: Buffer[] = [];
  while ((early = socket.read() as Buffer | null) !== null) pending.push(early);
  const target = socket as unknown as Record<symbol, unknown>;
  target[s.buffer] = buffer;
  target[s.callback] = (n: number, buf: Buffer) => onRead(buf.subarray(0, n));
  handle.useUserBuffer(buffer);
  let more = true;
  for (const b of pending) more = onRead(b) && more;
  if (!more) socket.pause();
  return true;
}
