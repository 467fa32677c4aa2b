import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev -w ui` serves the UI with hot reload and proxies the API to a running `handlog serve`.
export default defineConfig({
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: {
      '/api': { target: process.env['HANDLOG_API'] ?? 'http://127.0.0.1:8080', changeOrigin: true },
      '/healthz': { target: process.env['HANDLOG_API'] ?? 'http://127.0.0.1:8080' },
    },
  },
});
