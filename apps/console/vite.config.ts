import path from 'node:path';
import { defineConfig } from 'vite';

// No @vitejs/plugin-react (its peers conflict with Vite 8): Vite's built-in oxc transform compiles TSX with
// the automatic runtime. Output goes to dist/console, which apps/api serves under a strict CSP.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: path.join(import.meta.dirname, '..', '..', 'dist', 'console'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
});
