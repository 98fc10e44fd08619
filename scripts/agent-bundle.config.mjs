/**
 * Builds the host agent's bundle into dist/agent/ (ADR 0026): what `slipway hosts setup` installs
 * on a host, content-addressed. One ES module per process the agent starts (the agent, the router
 * daemon and its worker, the log writer), all in one flat folder: each finds the next by
 * `new URL('./<name>.js', import.meta.url)`, as in dist/src/. Every npm package it imports is
 * inlined, so a host needs only Node. Bundled from tsc's output (dist/src/), after `tsc`.
 * Vite (a direct devDependency, ADR 0028) bundles with rolldown.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));

export default defineConfig({
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir: dist('agent/'),
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: false,
    reportCompressedSize: false,
    copyPublicDir: false,
    rollupOptions: {
      input: {
        'agent-main': dist('src/fleet/agent/agent-main.js'),
        main: dist('src/router/main.js'),
        worker: dist('src/router/worker.js'),
        'log-writer-main': dist('src/drivers/local/log-writer-main.js'),
      },
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
    },
  },
  ssr: { noExternal: true, target: 'node' },
});
