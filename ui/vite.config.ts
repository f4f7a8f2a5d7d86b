/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The Tauri side serves ui/dist (src-tauri/tauri.conf.json: build.frontendDist = "../ui/dist").
export default defineConfig({
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2021',
    // No external resources: everything is bundled, nothing is fetched at run time.
    assetsInlineLimit: 0,
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.ts'],
    restoreMocks: true,
  },
});
