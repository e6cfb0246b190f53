import { describe, expect, it } from 'vitest';
import { anyToText } from '../../../node-agent/src/datapath/copy-text.ts';

describe('text_from_any on SQLite blobs', () => {
  it('renders valid UTF-8 as text', () => {
    expect(anyToText(Buffer.from('héllo 😀'))).toBe('héllo 😀');
  });

  it('renders bytes with a NUL as hex: PostgreSQL text cannot store U+0000', () => {
    expect(anyToText(Buffer.from([0, 1, 2]))).toBe('\\x000102');
  });

  it('renders invalid UTF-8 as hex', () => {
    expect(anyToText(Buffer.from([0xff, 0xfe]))).toBe('\\xfffe');
  });
});

describe('validation renders those bytes the way the data path wrote them', () => {
  it('text column: UTF-8 as text, NUL or invalid bytes as hex, so source and target agree', async () => {
    const { canonical } = await import('../../../node-agent/src/validate/normalize.ts');
    for (const b of [Buffer.from('plain ß'), Buffer.from([0, 1, 2]), Buffer.from([0xff])]) {
      expect(canonical(b, { kind: 'text' })).toBe(anyToText(b));
    }
  });
});
