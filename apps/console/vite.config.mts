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
    rollupOptions: {
      // Libraries ship "use client" directives for React server components; a browser bundle has no use for
      // them, and the warning per file would hide real ones.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
