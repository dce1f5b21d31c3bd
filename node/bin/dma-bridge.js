#!/usr/bin/env node
// The dma-bridge command. Installed from npm it runs the compiled CLI. In a
// checkout, where the TypeScript sources sit beside this file, it runs them
// through tsx, so there is no build step between editing and running.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../../dist/node/cli/main.js');
}
