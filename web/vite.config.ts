/**
 * The browser console's build: root is `web/`, the site goes to
 * `web/dist/`, and `base: './'` makes every URL relative so the site works
 * from any static path (a subdirectory, a file share, GitHub Pages).
 * This file runs in Node at build time; the web code itself imports no
 * Node modules.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The firmware files are fetched or downloaded as bytes; never inline them as data URLs.
    assetsInlineLimit: (file) => (file.endsWith('.elf') || file.endsWith('.bin') ? false : undefined),
    // Bundling the board's worker is most of this small build, so the bundler's
    // plugin-time check fires whenever the machine is busy: it says nothing about the code.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es', rolldownOptions: { checks: { bundlerTimings: false } } },
  server: {
    // The page imports the firmware ELF and the driver from outside `web/`.
    fs: { allow: [repoRoot] },
  },
});
