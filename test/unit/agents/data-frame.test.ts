import { describe, expect, it } from 'vitest';
import { loadAgentProto, type DataFrame, type DataFrame__Output } from '../../../proto/src/load.ts';
import { dataFrameSerializer, FRAME_HEADROOM, markHeadroom } from '../../../node-agent/src/session/data-frame.ts';

const push = loadAgentProto().AgentHub.service.Push;
const generated = push.requestSerialize as (f: DataFrame) => Buffer;
const decode = push.requestDeserialize as (b: Buffer) => DataFrame__Output;
const serialize = dataFrameSerializer(generated);

function roomyFrame(bytes: Buffer): Buffer {
  const backing = Buffer.alloc(FRAME_HEADROOM + bytes.length, 0xee);
  bytes.copy(backing, FRAME_HEADROOM);
  return markHeadroom(backing.subarray(FRAME_HEADROOM));
}

describe('dataFrameSerializer', () => {
  it('encodes a frame with headroom in place, as a view ending with the frame, and it decodes like the generated one', () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    for (const seq of [0, 1, 127, 128, 300_000]) {
      const frame = roomyFrame(data);
      const out = serialize({ channel: 'bk-job-1-1-1732240000000', seq, data: frame });
      expect(out.buffer).toBe(frame.buffer);
      expect(out.byteOffset + out.length).toBe(frame.byteOffset + frame.length);
      const back = decode(out);
      expect(back.channel).toBe('bk-job-1-1-1732240000000');
      expect(Number(back.seq)).toBe(seq);
      expect(Buffer.compare(back.data, data)).toBe(0);
      expect(back.eof).toBe(false);
    }
  });

  it('falls back to the generated encoder for buffers without headroom and for eof/error frames', () => {
    const plain = Buffer.from('abc');
    expect(Buffer.compare(serialize({ channel: 'c', seq: 2, data: plain }), generated({ channel: 'c', seq: 2, data: plain }))).toBe(0);
    const eof = serialize({ channel: 'c', seq: 3, eof: true });
    expect(decode(eof).eof).toBe(true);
    const roomy = roomyFrame(Buffer.from('xyz'));
    expect(decode(serialize({ channel: 'c', seq: 4, data: roomy, error: 'boom' })).error).toBe('boom');
  });

  it('refuses to mark a buffer that has no room in front of it', () => {
    expect(() => markHeadroom(Buffer.allocUnsafeSlow(10))).toThrow(RangeError);
  });
});
