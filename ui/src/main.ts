import './style.css';
import { mount } from './app';

async function start(): Promise<void> {
  // `npm run dev` in a plain browser: fake the Rust side (dropped from the production build).
  if (import.meta.env.DEV && !('__TAURI_INTERNALS__' in window)) {
    (await import('./devmock')).installDevMock();
  }
  await mount(document.getElementById('app')!);
}

void start();
