// Typed wrappers for every command and event of the Rust side (src-tauri). The rest of the UI talks to the
// backend only through this file.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type Language = 'auto' | 'en' | 'es';

/** X11's PRIMARY selection, or copy (Ctrl+C) and put the clipboard back. */
export type SelectionMethod = 'primary' | 'copy';

export interface AmiConnection {
  mode: 'ami';
  host: string;
  port: number;
  username: string;
  tls: boolean;
  channel: string;
  context: string;
}
export interface GatewayConnection {
  mode: 'gateway';
  url: string;
}
export type Connection = AmiConnection | GatewayConnection;

export interface DialRules {
  country: string | null;
  outside_prefix: string | null;
  international_prefix: string | null;
  trunk_prefix: string | null;
  internal_max_len: number;
}

export interface Settings {
  language: Language;
  extension: string;
  connection: Connection;
  dial: DialRules;
  hotkey: string;
  hotkey_paused: boolean;
  clipboard_hotkey: string;
  /** How the selection hotkey reads the selection (the choice exists where `AppInfo.primary_selection`). */
  selection: SelectionMethod;
  autostart: boolean;
  notifications: boolean;
  preview_secs: number;
}

export interface Problem {
  /** e.g. "extension", "connection.host", "dial.country" */
  field: string;
  kind: string;
  message: string;
}

/** What every rejected command promise carries (normalized by {@link toApiError}). */
export interface ApiError {
  kind: string;
  message: string;
  problems?: Problem[];
}

export interface AppInfo {
  version: string;
  demo: boolean;
  first_run: boolean;
  language: 'en' | 'es';
  wayland: boolean;
  notifications_available: boolean;
  /** Whether the selection can be read as X11's PRIMARY (Linux): settings then offer `selection`. */
  primary_selection: boolean;
}

export interface StoredSettings {
  settings: Settings;
  has_secret: boolean;
}

export type TestKind =
  | 'ok'
  | 'unreachable'
  | 'refused'
  | 'bad_credentials'
  | 'not_allowed'
  | 'tls'
  | 'timeout'
  | 'gateway_error'
  | 'invalid';

export interface TestResult {
  ok: boolean;
  kind: TestKind | string;
  message: string;
}

export interface Candidate {
  /** as found in the text */
  display: string;
  /** what would be dialed */
  destination: string;
}

export interface Candidates {
  text: string;
  candidates: Candidate[];
}

export type DialTrigger = 'typed' | 'pick' | 'redial';

export type CallState =
  | 'preview'
  | 'queued'
  | 'agent_ringing'
  | 'agent_answered'
  | 'destination_ringing'
  | 'connected'
  | 'ended';

export interface CallStatus {
  id: string;
  number: string;
  destination: string;
  state: CallState;
  /** localized */
  text: string;
  can_hangup: boolean;
  final: boolean;
  outcome: string | null;
}

export type OutcomeKind = 'answered' | 'busy' | 'no_answer' | 'congestion' | 'failed' | 'cancelled' | 'lost';

export interface HistoryEntry {
  id: number;
  /** unix seconds */
  started_at: number;
  number: string;
  destination: string;
  trigger: string;
  outcome: null | { kind: OutcomeKind; text?: string };
  talk_secs: number | null;
}

export type CheckId = 'handler' | 'hotkey' | 'keyring' | 'connection';
export type CheckFix = 'register_handler' | 'edit_hotkey' | 'test_connection';

/** One finding of `self_check`: is this part of the computer ready for clickdial, and what would fix it. */
export interface Check {
  id: CheckId | string;
  ok: boolean;
  /** localized plain-language finding + fix */
  message: string;
  fix: CheckFix | string | null;
}

export interface SelfCheck {
  checks: Check[];
}

/** What `register_handler` did (making clickdial the default app for tel:, callto: and sip: links). */
export interface HandlerResult {
  ok: boolean;
  /** localized */
  message: string;
}

/** Turns whatever a rejected command gave into an {@link ApiError}. */
export function toApiError(e: unknown): ApiError {
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if (typeof o.message === 'string') {
      return {
        kind: typeof o.kind === 'string' ? o.kind : 'error',
        message: o.message,
        problems: Array.isArray(o.problems) ? (o.problems as Problem[]) : undefined,
      };
    }
  }
  return { kind: 'error', message: typeof e === 'string' ? e : String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>('app_info'),
  /**
   * All strings for the current language. `language` asks for another language's strings (used while the agent
   * tries a language before saving); a Rust side without that optional argument ignores it.
   */
  catalogue: (language?: Language) =>
    call<Record<string, string>>('catalogue', language ? { language } : undefined),
  getSettings: () => call<StoredSettings>('get_settings'),
  /** `secret` null keeps the stored one. */
  saveSettings: (settings: Settings, secret: string | null) =>
    call<void>('save_settings', { settings, secret }),
  testConnection: (settings: Settings, secret: string | null) =>
    call<TestResult>('test_connection', { settings, secret }),
  startDemo: () => call<void>('start_demo'),
  finishSetup: () => call<void>('finish_setup'),
  candidates: (text: string) => call<Candidates>('candidates', { text }),
  pendingPick: () => call<Candidates | null>('pending_pick'),
  dial: (text: string, trigger: DialTrigger) => call<{ id: string }>('dial', { text, trigger }),
  hangup: () => call<void>('hangup'),
  callStatus: () => call<CallStatus | null>('call_status'),
  history: (query: string, limit: number) => call<HistoryEntry[]>('history', { query, limit }),
  redial: (id: number) => call<{ id: string }>('redial', { id }),
  clearHistory: () => call<void>('clear_history'),
  closeWindow: () => call<void>('close_window'),
  selfCheck: () => call<SelfCheck>('self_check'),
  registerHandler: () => call<HandlerResult>('register_handler'),
};

export const events = {
  onCallProgress: (f: (s: CallStatus) => void): Promise<UnlistenFn> =>
    listen<CallStatus>('call-progress', (e) => f(e.payload)),
  onSettingsChanged: (f: () => void): Promise<UnlistenFn> => listen('settings-changed', () => f()),
  onLanguageChanged: (f: () => void): Promise<UnlistenFn> => listen('language-changed', () => f()),
};

export type { UnlistenFn };
