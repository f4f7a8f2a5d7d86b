// Development only (`npm run dev` in a plain browser, no Tauri): a fake Rust side so every route can be seen
// and clicked. Never part of the production build (main.ts imports it behind import.meta.env.DEV).
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import { parse } from 'smol-toml';
import uiToml from '../../src-tauri/i18n/ui.toml?raw';
import type { CallStatus, HistoryEntry, Settings } from './api';

function catalogue(lang: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (node: Record<string, unknown>, path: string[]) => {
    if (typeof node[lang] === 'string') out[path.join('.')] = node[lang] as string;
    for (const [k, v] of Object.entries(node)) if (v && typeof v === 'object') walk(v as Record<string, unknown>, [...path, k]);
  };
  walk(parse(uiToml) as Record<string, unknown>, []);
  return out;
}

export function installDevMock(): void {
  const params = new URLSearchParams(location.search);
  let lang = params.get('lang') === 'es' ? 'es' : 'en';
  let settings: Settings = {
    language: 'auto',
    extension: '10',
    connection: { mode: 'ami', host: 'pbx.example.com', port: 5038, username: 'clickdial', tls: false, channel: 'PJSIP/{extension}', context: 'from-internal' },
    dial: { country: 'ES', outside_prefix: '0', international_prefix: '00', trunk_prefix: null, internal_max_len: 4 },
    hotkey: 'Ctrl+Alt+D',
    hotkey_paused: false,
    clipboard_hotkey: 'Ctrl+Alt+C',
    selection: 'primary',
    autostart: true,
    notifications: true,
    preview_secs: 3,
  };
  const now = Math.floor(Date.now() / 1000);
  let history: HistoryEntry[] = [
    { id: 4, started_at: now - 300, number: '600 123 456', destination: '0600123456', trigger: 'hotkey', outcome: { kind: 'answered' }, talk_secs: 184 },
    { id: 3, started_at: now - 4000, number: '+34 93 200 90 00', destination: '00034932009000', trigger: 'pick', outcome: { kind: 'busy' }, talk_secs: null },
    { id: 2, started_at: now - 90000, number: '912 345 678', destination: '0912345678', trigger: 'typed', outcome: { kind: 'no_answer' }, talk_secs: null },
    { id: 1, started_at: now - 200000, number: '21', destination: '21', trigger: 'redial', outcome: { kind: 'answered' }, talk_secs: 42 },
  ];
  const call: CallStatus = {
    id: 'c1', number: '600 123 456', destination: '0600123456', state: 'connected',
    text: lang === 'es' ? 'Conectado con 600 123 456' : 'Connected to 600 123 456', can_hangup: true, final: false, outcome: null,
  };
  let handlerOk = false;
  const digits = (s: string) => s.match(/\+?\d[\d\s]{1,}\d/g) ?? [];
  mockIPC(
    (cmd, a) => {
      const args = (a ?? {}) as Record<string, unknown>;
      switch (cmd) {
        case 'app_info':
          return { version: '0.1.0-dev', demo: params.has('demo'), first_run: true, language: lang, wayland: params.has('wayland'), notifications_available: !params.has('nonotify'), primary_selection: true };
        case 'catalogue':
          if (typeof args.language === 'string' && args.language !== 'auto') lang = args.language;
          return catalogue(lang);
        case 'get_settings':
          return { settings, has_secret: true };
        case 'save_settings':
          if (!(args.settings as Settings).extension) throw { kind: 'invalid', message: 'Check the fields', problems: [{ field: 'extension', kind: 'required', message: 'Type your extension.' }] };
          settings = args.settings as Settings;
          return null;
        case 'test_connection':
          return new Promise((r) => setTimeout(() => r({ ok: false, kind: 'bad_credentials', message: 'Authentication failed for user clickdial' }), 600));
        case 'candidates':
        case 'pending_pick': {
          const text = cmd === 'pending_pick' ? (params.get('text') ?? 'Ana: +34 600 111 222, office 93 200 90 00') : String(args.text);
          return { text, candidates: digits(text).map((d) => ({ display: d.trim(), destination: d.replace(/\s/g, '').replace('+', '00') })) };
        }
        case 'dial':
        case 'redial':
          return { id: 'c1' };
        case 'call_status':
          return call;
        case 'hangup':
          setTimeout(() => void emit('call-progress', { ...call, state: 'ended', text: lang === 'es' ? 'Llamada finalizada' : 'Call ended', can_hangup: false, final: true, outcome: 'answered' }), 300);
          return null;
        case 'history': {
          const q = String(args.query ?? '').replace(/\s/g, '');
          return history.filter((e) => e.number.replace(/\s/g, '').includes(q));
        }
        case 'self_check': {
          const es = lang === 'es';
          return new Promise((r) => setTimeout(() => r({ checks: [
            { id: 'handler', ok: handlerOk, fix: handlerOk ? null : 'register_handler',
              message: handlerOk ? (es ? 'Los enlaces tel: y callto: se abren con clickdial.' : 'tel: and callto: links open clickdial.')
                : (es ? 'Los enlaces tel: se abren con otra aplicación. Pulsa el botón para usar clickdial.' : 'tel: links open another app. Press the button to use clickdial.') },
            { id: 'hotkey', ok: false, fix: 'edit_hotkey', message: es ? 'Otra aplicación ya usa Ctrl+Alt+D. Elige otro atajo.' : 'Another app already uses Ctrl+Alt+D. Pick another hotkey.' },
            { id: 'keyring', ok: true, fix: null, message: es ? 'El llavero funciona.' : 'The keyring works.' },
            { id: 'connection', ok: false, fix: 'test_connection', message: es ? 'No se puede iniciar sesión en la centralita.' : 'Cannot log in to the PBX.' },
          ] }), 400));
        }
        case 'register_handler':
          handlerOk = true;
          return { ok: true, message: lang === 'es' ? 'clickdial abre ahora los enlaces de teléfono.' : 'clickdial now opens telephone links.' };
        case 'clear_history':
          history = [];
          return null;
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
}
