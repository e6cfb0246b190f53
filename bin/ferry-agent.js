#!/usr/bin/env node
// Runs the compiled agent when dist/ exists (the appliance package), else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/node-agent/src/main.js', import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../node-agent/src/main.ts', import.meta.url).href);
}
