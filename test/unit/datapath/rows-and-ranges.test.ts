import { describe, expect, it } from 'vitest';
import { cutRanges } from '../../../node-agent/src/datapath/plan-units.ts';
import { binaryRowKey, splitBinaryRows, splitTextRows, textRowField, BINARY_HEADER, BINARY_TRAILER } from '../../../node-agent/src/datapath/copy-rows.ts';
import { rangePredicate, quoteDouble, quoteBacktick } from '../../../node-agent/src/datapath/sql.ts';
import { TextFrameBuilder, rebatch, countLines } from '../../../node-agent/src/datapath/frames.ts';
import { oracleDecoder, oracleRowDecoder, oracleSelect } from '../../../node-agent/src/datapath/readers/oracle-decode.ts';
import { throttledProgress } from '../../../node-agent/src/datapath/progress.ts';

async function* chunks(bufs: Buffer[]) { for (const b of bufs) yield b; }
async function collect(it: AsyncIterable<Buffer>) { const out: Buffer[] = []; for await (const b of it) out.push(b); return out; }

describe('cutRanges', () => {
  it('cuts contiguous half-open ranges, open at both ends', () => {
    const r = cutRanges('id', 1n, 100n, 100, 30);
    expect(r).toEqual([
      { column: 'id', lo: null, hi: '26' }, { column: 'id', lo: '26', hi: '51' }, { column: 'id', lo: '51', hi: '76' }, { column: 'id', lo: '76', hi: null },
    ]);
  });
  it('handles the full int64 span and tiny tables', () => {
    const r = cutRanges('k', -9223372036854775808n, 9223372036854775807n, 10, 5);
    expect(r).toHaveLength(2);
    expect(r[0]).toEqual({ column: 'k', lo: null, hi: '0' });
    expect(cutRanges('k', 5n, 5n, 1000, 10)).toEqual([{ column: 'k', lo: null, hi: null }]);
  });
});

describe('rangePredicate', () => {
  it('puts NULL keys in the first range and rejects non-integer bounds', () => {
    expect(rangePredicate({ column: 'id', lo: null, hi: '10' }, 'id', quoteDouble)).toBe('("id" < 10 OR "id" IS NULL)');
    expect(rangePredicate({ column: 'id', lo: '-5', hi: null }, 'Id', quoteBacktick)).toBe('`Id` >= -5');
    expect(rangePredicate({ column: 'id', lo: null, hi: null }, 'id', quoteDouble)).toBe('');
    expect(() => rangePredicate({ column: 'id', lo: '1; DROP TABLE x', hi: null }, 'id', quoteDouble)).toThrow(/not an integer/);
  });
});

describe('frames', () => {
  it('TextFrameBuilder emits frames at the target size and flushes the rest', () => {
    const b = new TextFrameBuilder(10);
    expect(b.push('abc\n')).toBeNull();
    expect(b.push('defgh\n')!.toString()).toBe('abc\ndefgh\n');
    expect(b.push('🚀\n')).toBeNull();
    expect(b.flush()!.toString()).toBe('🚀\n');
    expect(b.flush()).toBeNull();
    expect([b.rows, b.bytes]).toEqual([3, 15]);
  });
  it('rebatch joins small chunks into frames and countLines counts rows', async () => {
    const out = await collect(rebatch(chunks([Buffer.from('a\n'), Buffer.from('b\nc'), Buffer.from('\n')]), 4));
    expect(out.map(String)).toEqual(['a\nb\nc', '\n']);
    expect(countLines(Buffer.concat(out))).toBe(3);
  });
});

describe('splitting COPY data into rows', () => {
  it('splits text rows across frame boundaries', async () => {
    const rows = await collect(splitTextRows(chunks([Buffer.from('1\ta\\tb\n2\t'), Buffer.from('\\N\n3'), Buffer.from('\tz')])));
    expect(rows.map(String)).toEqual(['1\ta\\tb\n', '2\t\\N\n', '3\tz\n']);
    expect(textRowField(rows[0]!, 1)).toBe('a\tb');
    expect(textRowField(rows[1]!, 1)).toBeNull();
    expect(textRowField(rows[2]!, 0)).toBe('3');
  });
  it('splits binary tuples across frame boundaries and reads integer keys', async () => {
    const tuple = (key: bigint, text: string | null) => {
      const t = text === null ? null : Buffer.from(text);
      const b = Buffer.alloc(2 + 4 + 8 + 4 + (t?.length ?? 0));
      b.writeInt16BE(2, 0); b.writeInt32BE(8, 2); b.writeBigInt64BE(key, 6);
      b.writeInt32BE(t === null ? -1 : t.length, 14); t?.copy(b, 18);
      return b;
    };
    const all = Buffer.concat([BINARY_HEADER, tuple(-9223372036854775808n, 'x'), tuple(7n, null), BINARY_TRAILER]);
    const rows = await collect(splitBinaryRows(chunks([all.subarray(0, 7), all.subarray(7, 25), all.subarray(25)])));
    expect(rows).toHaveLength(2);
    expect(binaryRowKey(rows[0]!, 0)).toBe('-9223372036854775808');
    expect(binaryRowKey(rows[1]!, 0)).toBe('7');
    expect(binaryRowKey(rows[1]!, 1)).toBeNull();
    await expect(collect(splitBinaryRows(chunks([all.subarray(0, 30)])))).rejects.toThrow(/middle of a row/);
  });
});

describe('Oracle value decoding', () => {
  it('decodes TO_CHAR numbers, dates and timestamps exactly', () => {
    expect(oracleDecoder('NUMBER(38)')('12345678901234567890123456789012345678')).toBe('12345678901234567890123456789012345678');
    expect(oracleDecoder('number')('-.5')).toBe('-0.5');
    expect(oracleDecoder('number')('1.0E+125')).toBe('1' + '0'.repeat(125));
    expect(oracleDecoder('binary_double')('Inf')).toBe('Infinity');
    expect(oracleDecoder('date')(' 1899-12-31 23:59:59')).toBe('1899-12-31 23:59:59');
    expect(oracleDecoder('date')('-0044-03-15 12:00:00')).toBe('0044-03-15 12:00:00 BC');
    expect(oracleDecoder('timestamp(6)')(' 2099-01-19 03:14:08.123456000')).toBe('2099-01-19 03:14:08.123456');
    expect(oracleDecoder('char(5)')('ab   ')).toBe('ab');
    expect(oracleDecoder('varchar2(10)')(undefined)).toBeNull();
    expect(oracleDecoder('blob')(Buffer.from([1]))).toEqual(Buffer.from([1]));
  });
  it('decodes whole rows and selects numbers and dates as text', () => {
    const d = oracleRowDecoder([{ source_type: 'number' }, { source_type: 'varchar2(4)' }]);
    expect(d(['007', 'x'])).toEqual(['7', 'x']);
    expect(oracleSelect({ source: 'AMOUNT', source_type: 'number(12,2)' })).toBe(`to_char("AMOUNT", 'TM9')`);
  });
});

describe('throttledProgress', () => {
  it('reports at most every interval, and always at the end', () => {
    const seen: unknown[] = [];
    let now = 0;
    const p = throttledProgress({ progress: (x) => seen.push(x.counters) }, 250, () => now);
    p.update({ rows: 1, bytes: 10 });
    now = 100; p.update({ rows: 2, bytes: 20 });
    now = 300; p.update({ rows: 3, bytes: 30 });
    p.final({ rows: 4, bytes: 40 });
    expect(seen).toEqual([{ rows: 1, bytes: 10 }, { rows: 3, bytes: 30 }, { rows: 4, bytes: 40 }]);
  });
});
