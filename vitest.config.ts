import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

const SOURCE_CONDITION = 'dma-bridge:source';

export default defineConfig({
  // The package's own name resolves to its TypeScript sources (the exports'
  // "dma-bridge:source" condition, which only this checkout asks for), never
  // to a dist/ left by a build.
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'web/dist/**', '.stryker-tmp/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Firmware on a virtual board is held to the strict board's rules.
    setupFiles: ['test/support/strict-board-setup.ts'],
    pool: 'forks',
    // One process per worker for all its files: the emulator, the driver and
    // their imports load once per worker instead of once per file. Every
    // file sets up and tears down what it uses.
    isolate: false,
  },
});
