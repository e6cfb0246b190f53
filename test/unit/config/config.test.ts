import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../hub/src/config/config.ts';

describe('hub configuration', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c.FERRY_HTTP_HOST).toBe('127.0.0.1');
    expect(c.FERRY_HTTP_PORT).toBe(8420);
    expect(c.FERRY_GRPC_PORT).toBe(8421);
    expect(c.FERRY_BUILTIN_AGENT).toBe(true);
    expect(c.dataDir).toBe(path.resolve('./data'));
  });

  it('names the bad setting, its value and what is allowed', () => {
    expect(() => loadConfig({ FERRY_HTTP_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ FERRY_HTTP_PORT: '70000' })).toThrow(/FERRY_HTTP_PORT="70000"/);
    expect(() => loadConfig({ FERRY_BUILTIN_AGENT: 'maybe' })).toThrow(/FERRY_BUILTIN_AGENT="maybe".*on\/off/);
    expect(() => loadConfig({ FERRY_LOG_LEVEL: 'loud' })).toThrow(/FERRY_LOG_LEVEL/);
  });

  it('never echoes the admin password in an error', () => {
    try {
      loadConfig({ FERRY_ADMIN_PASSWORD: 'short' });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).toContain('FERRY_ADMIN_PASSWORD=(hidden)');
      expect(String(e)).not.toContain('short"');
    }
  });

  it('reads an optional config file, with the environment winning', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-cfg-'));
    const f = path.join(dir, 'hub.json');
    writeFileSync(f, JSON.stringify({ FERRY_HTTP_PORT: 9000, FERRY_GRPC_PORT: 9001 }));
    const c = loadConfig({ FERRY_CONFIG_FILE: f, FERRY_GRPC_PORT: '9101' });
    expect(c.FERRY_HTTP_PORT).toBe(9000);
    expect(c.FERRY_GRPC_PORT).toBe(9101);
    writeFileSync(f, JSON.stringify({ FERRY_NOPE: 1 }));
    expect(() => loadConfig({ FERRY_CONFIG_FILE: f })).toThrow(/unknown setting FERRY_NOPE/);
    writeFileSync(f, '{oops');
    expect(() => loadConfig({ FERRY_CONFIG_FILE: f })).toThrow(/cannot read it as JSON/);
  });
});
