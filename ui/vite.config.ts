/**
 * Builds the web dashboard into dist/ui/ (served by the controller, ADR 0028): hashed file names
 * under assets/ (cached for a year), no inline script (the controller's Content-Security-Policy
 * forbids it), no source maps shipped.
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui/', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Everything inline (small icons, fonts) would need a looser CSP: always emit files.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
