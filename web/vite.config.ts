// The dashboard: a React app built by Vite into dist/web, which the local server serves at `/`.
// `npm run dev:web` serves it with hot reload and forwards /api and /approve to a server on :3000.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
    // No "slow plugin" report: on a busy machine it fires for timing, not for a problem.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: {
    proxy: { '/api': 'http://localhost:3000', '/approve': 'http://localhost:3000' },
  },
});
