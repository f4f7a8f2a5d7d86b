// #/settings — every preference of the app; Save sends them all, problems show next to their field.
import { api, events, toApiError, type Language, type Problem, type SelectionMethod, type Settings, type UnlistenFn } from '../api';
import {
  amiFields,
  checkbox,
  CheckList,
  connDraft,
  CONN_FIELDS,
  draftConnection,
  draftSecret,
  errorAsTest,
  field,
  focusFirstProblem,
  gatewayFields,
  otherProblems,
  testResult,
  textInput,
  type ConnDraft,
  type Msg,
  msgText,
  type TestState,
  WAYLAND_COMMANDS,
  withCode,
} from '../components';
import { byTestId, h } from '../dom';
import { t } from '../i18n';
import type { Ctx, View } from '../view';

const P = 'settings';

export interface Draft {
  language: Language;
  extension: string;
  conn: ConnDraft;
  country: string;
  outside_prefix: string;
  international_prefix: string;
  trunk_prefix: string;
  internal_max_len: string;
  hotkey: string;
  hotkey_paused: boolean;
  clipboard_hotkey: string;
  selection: SelectionMethod;
  autostart: boolean;
  notifications: boolean;
  preview_secs: string;
}

function toDraft(st: Settings, hasSecret: boolean): Draft {
  return {
    language: st.language,
    extension: st.extension,
    conn: connDraft(st.connection, hasSecret),
    country: st.dial.country ?? '',
    outside_prefix: st.dial.outside_prefix ?? '',
    international_prefix: st.dial.international_prefix ?? '',
    trunk_prefix: st.dial.trunk_prefix ?? '',
    internal_max_len: String(st.dial.internal_max_len),
    hotkey: st.hotkey,
    hotkey_paused: st.hotkey_paused,
    clipboard_hotkey: st.clipboard_hotkey,
    selection: st.selection,
    autostart: st.autostart,
    notifications: st.notifications,
    preview_secs: String(st.preview_secs),
  };
}

/**
 * The agent's edits (`mine` against `before`, the draft as it was loaded) on top of settings that changed
 * elsewhere meanwhile (`theirs`): the tray's Pause, say, is kept when the agent saves other edits.
 */
export function rebase(before: Draft, mine: Draft, theirs: Draft): Draft {
  const out = { ...theirs } as Record<keyof Draft, unknown>;
  for (const key of Object.keys(mine) as (keyof Draft)[]) {
    if (JSON.stringify(mine[key]) !== JSON.stringify(before[key])) out[key] = mine[key];
  }
  return out as unknown as Draft;
}

const opt = (v: string): string | null => (v.trim() === '' ? null : v.trim());

function intIn(v: string, min: number, max: number): number | null {
  if (!/^\s*\d+\s*$/.test(v)) return null;
  const n = Number(v);
  return n >= min && n <= max ? n : null;
}

/** The settings to save, or the problems found before sending. */
export function fromDraft(base: Settings, d: Draft): { settings: Settings; problems: Problem[] } {
  const { connection, problems } = draftConnection(d.conn);
  const maxLen = intIn(d.internal_max_len, 0, 20);
  if (maxLen === null)
    problems.push({ field: 'dial.internal_max_len', kind: 'invalid', message: t('ui.settings.max_len_invalid') });
  const preview = intIn(d.preview_secs, 0, 30);
  if (preview === null)
    problems.push({ field: 'preview_secs', kind: 'invalid', message: t('ui.settings.preview_invalid') });
  return {
    settings: {
      ...base,
      language: d.language,
      extension: d.extension.trim(),
      connection,
      dial: {
        country: opt(d.country)?.toUpperCase() ?? null,
        outside_prefix: opt(d.outside_prefix),
        international_prefix: opt(d.international_prefix),
        trunk_prefix: opt(d.trunk_prefix),
        internal_max_len: maxLen ?? 0,
      },
      hotkey: d.hotkey.trim(),
      hotkey_paused: d.hotkey_paused,
      clipboard_hotkey: d.clipboard_hotkey.trim(),
      selection: d.selection,
      autostart: d.autostart,
      notifications: d.notifications,
      preview_secs: preview ?? 0,
    },
    problems,
  };
}

const KNOWN_FIELDS = [
  'language',
  'extension',
  'connection.mode',
  ...CONN_FIELDS,
  'dial.country',
  'dial.outside_prefix',
  'dial.international_prefix',
  'dial.trunk_prefix',
  'dial.internal_max_len',
  'hotkey',
  'hotkey_paused',
  'clipboard_hotkey',
  'selection',
  'autostart',
  'notifications',
  'preview_secs',
];

export async function settingsView(ctx: Ctx): Promise<View> {
  let loaded = await api.getSettings();
  const s = {
    base: loaded.settings,
    draft: toDraft(loaded.settings, loaded.has_secret),
    problems: [] as Problem[],
    status: null as { msg: Msg; tone: 'ok' | 'err' | 'info' } | null,
    test: { state: 'idle' } as TestState,
    busy: false,
  };
  let unlisten: UnlistenFn | null = null;
  let destroyed = false;
  const checks = new CheckList(P, {
    edit_hotkey: () => {
      const el = byTestId(document, `${P}-hotkey`);
      el?.scrollIntoView?.({ block: 'center' });
      el?.focus();
    },
    test_connection: async () => {
      const showResult = () => byTestId(document, `${P}-test-result`)?.scrollIntoView?.({ block: 'center' });
      const running = test();
      showResult();
      await running;
      showResult();
    },
  });
  let checksStarted = false;

  events
    .onSettingsChanged(async () => {
      if (s.busy) return;
      const before = toDraft(s.base, s.draft.conn.hasSecret);
      loaded = await api.getSettings();
      s.base = loaded.settings;
      s.draft = rebase(before, s.draft, toDraft(loaded.settings, loaded.has_secret));
      ctx.update();
    })
    .then((u) => (destroyed ? u() : (unlisten = u)), () => {});

  async function save(): Promise<void> {
    const { settings, problems } = fromDraft(s.base, s.draft);
    s.problems = problems;
    if (problems.length) {
      s.status = { msg: { key: 'ui.settings.check_fields' }, tone: 'err' };
      ctx.update();
      return focusFirstProblem();
    }
    s.busy = true;
    s.status = { msg: { key: 'ui.settings.saving' }, tone: 'info' };
    ctx.update();
    try {
      await api.saveSettings(settings, draftSecret(s.draft.conn));
      const typedSecret = s.draft.conn.secret !== '';
      s.base = settings;
      const keepSecret = s.draft.conn.hasSecret && s.draft.conn.mode === s.draft.conn.storedMode;
      s.draft = toDraft(settings, typedSecret || keepSecret);
      s.status = { msg: { key: 'ui.settings.saved' }, tone: 'ok' };
      // What was just saved (hotkey, connection) may have fixed a finding.
      if (checks.checks?.some((c) => !c.ok)) void checks.run();
    } catch (e) {
      const err = toApiError(e);
      s.problems = err.problems ?? [];
      s.status = s.problems.length
        ? { msg: { key: 'ui.settings.check_fields' }, tone: 'err' }
        : { msg: { raw: err.message }, tone: 'err' };
    }
    s.busy = false;
    ctx.update();
    if (s.problems.length) focusFirstProblem();
  }

  async function test(): Promise<void> {
    const { settings, problems } = fromDraft(s.base, s.draft);
    const connProblems = problems.filter((p) => p.field.startsWith('connection'));
    if (connProblems.length) {
      s.problems = connProblems;
      return ctx.update();
    }
    s.test = { state: 'running' };
    ctx.update();
    try {
      s.test = { state: 'done', result: await api.testConnection(settings, draftSecret(s.draft.conn)) };
    } catch (e) {
      const err = toApiError(e);
      if (err.problems) s.problems = err.problems;
      s.test = { state: 'done', result: errorAsTest(err) };
    }
    ctx.update();
  }

  function render(): HTMLElement {
    // Once when the view is first shown; the section says "Checking…" meanwhile and any failure stays inside it.
    if (!checksStarted) {
      checksStarted = true;
      void checks.run();
    }
    const d = s.draft;
    const pr = s.problems;
    const f = (control: HTMLElement, name: string, label: string, hint?: string) =>
      field(control, { prefix: P, field: name, label, hint, problems: pr });
    const section = (id: string, title: string, ...body: (HTMLElement | null)[]) =>
      h('section', { class: 'card', testid: `${P}-section-${id}` }, h('h2', {}, title), ...body);
    const modeRadio = (mode: 'ami' | 'gateway', label: string) =>
      h(
        'label',
        { class: `seg${d.conn.mode === mode ? ' on' : ''}` },
        h('input', {
          type: 'radio',
          name: 'mode',
          value: mode,
          checked: d.conn.mode === mode,
          testid: `${P}-mode-${mode}`,
          onchange: () => {
            d.conn.mode = mode;
            s.test = { state: 'idle' };
            ctx.update();
          },
        }),
        label,
      );

    const body = h(
      'div',
      { class: 'scroll' },
      ctx.info.demo ? h('p', { class: 'note', testid: `${P}-demo-note` }, t('ui.settings.demo_note')) : null,
      section(
        'agent',
        t('ui.settings.agent'),
        f(textInput(d.extension, (v) => (d.extension = v), { inputmode: 'numeric' }), 'extension', t('ui.setup.extension'), t('ui.setup.extension_hint')),
      ),
      section(
        'connection',
        t('ui.settings.connection'),
        h(
          'div',
          { class: 'segmented', role: 'radiogroup', 'aria-label': t('ui.settings.mode') },
          modeRadio('gateway', t('ui.settings.mode_gateway')),
          modeRadio('ami', t('ui.settings.mode_ami')),
        ),
        d.conn.mode === 'ami' ? amiFields(d.conn, P, pr) : gatewayFields(d.conn, P, pr),
        h(
          'div',
          { class: 'test' },
          h('button', { type: 'button', testid: `${P}-test`, disabled: s.test.state === 'running', onclick: () => void test() }, t('ui.conn.test')),
          testResult(s.test, P),
        ),
      ),
      section(
        'dial',
        t('ui.settings.dial'),
        h(
          'div',
          { class: 'grid2' },
          f(textInput(d.country, (v) => (d.country = v), { maxlength: 2, placeholder: 'ES', class: 'short upper' }), 'dial.country', t('ui.settings.country'), t('ui.settings.country_hint')),
          f(textInput(d.outside_prefix, (v) => (d.outside_prefix = v), { class: 'short' }), 'dial.outside_prefix', t('ui.settings.outside_prefix'), t('ui.settings.outside_prefix_hint')),
          f(textInput(d.international_prefix, (v) => (d.international_prefix = v), { placeholder: '00', class: 'short' }), 'dial.international_prefix', t('ui.settings.international_prefix'), t('ui.settings.international_prefix_hint')),
          f(textInput(d.trunk_prefix, (v) => (d.trunk_prefix = v), { class: 'short' }), 'dial.trunk_prefix', t('ui.settings.trunk_prefix'), t('ui.settings.trunk_prefix_hint')),
          f(h('input', { type: 'number', min: 0, max: 20, value: d.internal_max_len, class: 'short', oninput: (e: Event) => (d.internal_max_len = (e.target as HTMLInputElement).value) }), 'dial.internal_max_len', t('ui.settings.internal_max_len'), t('ui.settings.internal_max_len_hint')),
        ),
      ),
      section(
        'hotkey',
        t('ui.settings.hotkey_section'),
        ctx.info.wayland
          ? h('p', { class: 'note', testid: `${P}-wayland-note` }, withCode('ui.settings.wayland_note', WAYLAND_COMMANDS))
          : null,
        f(textInput(d.hotkey, (v) => (d.hotkey = v), { placeholder: 'Ctrl+Alt+D' }), 'hotkey', t('ui.settings.hotkey'), t('ui.settings.hotkey_hint')),
        f(checkbox(d.hotkey_paused, (v) => (d.hotkey_paused = v)), 'hotkey_paused', t('ui.settings.hotkey_paused')),
        ctx.info.primary_selection
          ? f(
              h(
                'select',
                { value: d.selection, onchange: (e: Event) => (d.selection = (e.target as HTMLSelectElement).value as SelectionMethod) },
                h('option', { value: 'primary' }, t('ui.settings.selection_primary')),
                h('option', { value: 'copy' }, t('ui.settings.selection_copy')),
              ),
              'selection',
              t('ui.settings.selection'),
              t('ui.settings.selection_hint'),
            )
          : null,
        f(textInput(d.clipboard_hotkey, (v) => (d.clipboard_hotkey = v), { placeholder: 'Ctrl+Alt+C' }), 'clipboard_hotkey', t('ui.settings.clipboard_hotkey'), t('ui.settings.clipboard_hotkey_hint')),
      ),
      section(
        'startup',
        t('ui.settings.startup'),
        f(checkbox(d.autostart, (v) => (d.autostart = v)), 'autostart', t('ui.settings.autostart')),
        f(checkbox(d.notifications, (v) => (d.notifications = v)), 'notifications', t('ui.settings.notifications')),
        ctx.info.notifications_available ? null : h('p', { class: 'note', testid: `${P}-notifications-note` }, t('ui.settings.notifications_unavailable')),
        f(h('input', { type: 'number', min: 0, max: 30, value: d.preview_secs, class: 'short', oninput: (e: Event) => (d.preview_secs = (e.target as HTMLInputElement).value) }), 'preview_secs', t('ui.settings.preview_secs'), t('ui.settings.preview_secs_hint')),
      ),
      section(
        'language',
        t('ui.settings.language'),
        f(
          h(
            'select',
            {
              value: d.language,
              onchange: (e: Event) => {
                d.language = (e.target as HTMLSelectElement).value as Language;
                void ctx.switchLanguage(d.language);
              },
            },
            h('option', { value: 'auto' }, t('ui.lang.auto')),
            h('option', { value: 'en' }, t('ui.lang.en')),
            h('option', { value: 'es' }, t('ui.lang.es')),
          ),
          'language',
          t('ui.settings.language_label'),
        ),
      ),
      section('check', t('ui.check.title'), h('p', { class: 'hint' }, t('ui.check.hint')), checks.render()),
      otherProblems(P, pr, KNOWN_FIELDS),
      h('p', { class: 'version', testid: `${P}-version` }, t('ui.settings.version', { version: ctx.info.version })),
    );

    return h(
      'form',
      {
        novalidate: true,
        class: 'view settings',
        testid: `${P}-form`,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void save();
        },
      },
      h('header', { class: 'head' }, h('h1', {}, t('ui.settings.title'))),
      body,
      h(
        'footer',
        { class: 'actions bar' },
        h(
          'span',
          { class: `status ${s.status?.tone ?? ''}`, testid: `${P}-status`, role: 'status', 'aria-live': 'polite' },
          s.status ? msgText(s.status.msg) : '',
        ),
        h('button', { type: 'button', testid: `${P}-cancel`, onclick: () => void api.closeWindow().catch(() => {}) }, t('ui.settings.cancel')),
        h('button', { type: 'submit', class: 'primary', testid: `${P}-save`, disabled: s.busy }, t('ui.settings.save')),
      ),
    );
  }

  return {
    title: 'ui.settings.title',
    render,
    destroy: () => {
      destroyed = true;
      unlisten?.();
    },
  };
}
