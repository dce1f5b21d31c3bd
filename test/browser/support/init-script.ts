/**
 * Bundles a fixture module (and everything it imports, the emulator
 * included) into one classic script, so `page.addInitScript` can run it
 * before the page's own scripts.
 */
import { build, type Rolldown } from 'vite';
import { REPO_ROOT } from './site.ts';

export async function bundleInitScript(entry: string, globals: Record<string, string> = {}): Promise<string> {
  const result = await build({
    configFile: false,
    root: REPO_ROOT,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      emptyOutDir: false,
      lib: { entry, formats: ['iife'], name: 'fixture' },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunk = outputs.flatMap((o) => o.output).find((o) => o.type === 'chunk');
  if (chunk?.type !== 'chunk') throw new Error(`bundling ${entry} produced no script`);
  const prelude = Object.entries(globals)
    .map(([name, value]) => `window[${JSON.stringify(name)}] = ${JSON.stringify(value)};`)
    .join('\n');
  return `${prelude}\n${chunk.code}`;
}
