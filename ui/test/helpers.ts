// Test harness: a fake Rust side behind mockIPC, the real catalogue from src-tauri/i18n/ui.toml, and helpers to
// drive the DOM through data-testid like the WebDriver tests do.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import type { AppInfo, Settings } from '../src/api';
import { mount, type Mounted } from '../src/app';

const HERE = dirname(fileURLToPath(import.meta.url));
export const TOML_PATH = join(HERE, '..', '..', 'src-tauri', 'i18n', 'ui.toml');

/** ui.toml flattened: key -> { en, es }. */
export function uiToml(): Record<string, Record<string, string>> {
  const doc = parse(readFileSync(TOML_PATH, 'utf8')) as Record<string, unknown>;
  const out: Record<string, Record<string, string>> = {};
  const walk = (node: Record<string, unknown>, path: string[]) => {
    const leaves = Object.entries(node).filter(([, v]) => typeof v === 'string');
    if (leaves.length) out[path.join('.')] = Object.fromEntries(leaves) as Record<string, string>;
    for (const [k, v] of Object.entries(node)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, [...path, k]);
    }
  };
  walk(doc, []);
  return out;
}

export function catalogueFor(lang: 'en' | 'es'): Record<string, string> {
  return Object.fromEntries(Object.entries(uiToml()).map(([k, v]) => [k, v[lang]]));
}

export const EN = catalogueFor('en');
export const ES = catalogueFor('es');

/** The English string of `key` with placeholders filled in. */
export function en(key: string, vars: Record<string, string | number> = {}): string {
  return (EN[key] ?? key).replace(/\{(\w+)\}/g, (m, n: string) => (n in vars ? String(vars[n]) : m));
}

export function defaultSettings(): Settings {
  return {
    language: 'auto',
    extension: '',
    connection: { mode: 'ami', host: '', port: 5038, username: '', tls: false, channel: 'PJSIP/{extension}', context: 'from-internal' },
    dial: { country: 'ES', outside_prefix: null, international_prefix: '00', trunk_prefix: null, internal_max_len: 4 },
    hotkey: 'Ctrl+Alt+D',
    hotkey_paused: false,
    clipboard_hotkey: 'Ctrl+Alt+C',
    selection: 'primary',
    autostart: true,
    notifications: true,
    preview_secs: 0,
  };
}

export function defaultInfo(over: Partial<AppInfo> = {}): AppInfo {
  return { version: '0.1.0', demo: false, first_run: true, language: 'en', wayland: false, notifications_available: true, primary_selection: true, ...over };
}

type Handler = (args: Record<string, unknown>) => unknown;
export interface Backend {
  calls: { cmd: string; args: Record<string, unknown> }[];
  /** the args of every call of `cmd` */
  of(cmd: string): Record<string, unknown>[];
  handlers: Record<string, Handler>;
}

/** Installs a fake Rust side. Unknown commands resolve to null; handlers may throw to reject. */
export function fakeBackend(handlers: Record<string, Handler> = {}): Backend {
  const b: Backend = {
    calls: [],
    of: (cmd) => b.calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    handlers: {
      app_info: () => defaultInfo(),
      catalogue: (a) => (a.language === 'es' ? ES : EN),
      get_settings: () => ({ settings: defaultSettings(), has_secret: false }),
      ...handlers,
    },
  };
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      b.calls.push({ cmd, args: a });
      const h = b.handlers[cmd];
      return h ? h(a) : null;
    },
    { shouldMockEvents: true },
  );
  return b;
}

let current: Mounted | null = null;

/** Opens the app on `hash` like the Rust side opens a window on it. */
export async function open(hash: string): Promise<Mounted> {
  current?.unmount();
  document.body.innerHTML = '<div id="app"></div>';
  history.replaceState(null, '', `/${hash}`);
  current = await mount(document.getElementById('app')!);
  await flush();
  return current;
}

export function close(): void {
  current?.unmount();
  current = null;
  clearMocks();
}

export const flush = () => new Promise<void>((r) => setTimeout(r, 0));

export async function waitFor<T>(f: () => T | null | undefined | false, ms = 2000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`waitFor timed out${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function $(testid: string): HTMLElement | null {
  return document.querySelector(`[data-testid="${testid}"]`);
}
export function $$(testid: string): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];
}
export function get<T extends HTMLElement = HTMLElement>(testid: string): T {
  const el = $(testid);
  if (!el) throw new Error(`no element with data-testid="${testid}"`);
  return el as T;
}

export function type(testid: string, value: string): void {
  const el = get<HTMLInputElement>(testid);
  el.focus();
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

export function choose(testid: string, value: string): void {
  const el = get<HTMLSelectElement>(testid);
  el.value = value;
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

export function tick(testid: string, checked: boolean): void {
  const el = get<HTMLInputElement>(testid);
  el.checked = checked;
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

export async function click(testid: string): Promise<void> {
  get(testid).click();
  await flush();
}

export async function submit(testid: string): Promise<void> {
  const el = get(testid);
  const form = el instanceof HTMLFormElement ? el : el.closest('form')!;
  form.requestSubmit();
  await flush();
}

export function key(k: string, target: Element = document.activeElement ?? document.body): void {
  target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
}

export function emitEvent(name: string, payload?: unknown): Promise<void> {
  return emit(name, payload);
}

export function text(testid: string): string {
  return get(testid).textContent?.trim() ?? '';
}
