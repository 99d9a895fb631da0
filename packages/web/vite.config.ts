import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The dashboard's build: static files that `failsmall serve` serves at / (docs/dashboard.md).
 * scripts/build.mjs runs it with `build.outDir` beside the CLI's bundle. Hashed names under
 * assets/ let the server cache them for good; no inline script, so the page runs under a CSP
 * without 'unsafe-inline'.
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    assetsDir: 'assets',
    // The CSP has no 'unsafe-inline': small assets stay files instead of data: URLs in the CSS or JS.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    emptyOutDir: true,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
