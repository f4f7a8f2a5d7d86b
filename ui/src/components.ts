// Pieces shared by the views: labelled fields with a problem slot, the connection form, the test result,
// and the "dial a number" box.
import {
  api,
  events,
  toApiError,
  type ApiError,
  type CallStatus,
  type Check,
  type Connection,
  type Problem,
  type TestResult,
  type UnlistenFn,
} from './api';
import { h, fieldId, byTestId } from './dom';
import { t } from './i18n';

/** A localized message kept as key + vars so it re-renders in a new language. */
export type Msg = { key: string; vars?: Record<string, string | number> } | { raw: string };
export const msgText = (m: Msg): string => ('raw' in m ? m.raw : t(m.key, m.vars));

export interface FieldOpts {
  prefix: string;
  /** settings field path, e.g. "connection.host" */
  field: string;
  label: string;
  hint?: string;
  problems?: Problem[];
  wide?: boolean;
}

/** Label + control + hint + the slot where a problem for `field` is shown (testid `<prefix>-error-<field>`). */
export function field(control: HTMLElement, o: FieldOpts): HTMLElement {
  const id = `${o.prefix}-${fieldId(o.field)}`;
  control.id = id;
  if (!control.getAttribute('data-testid')) control.setAttribute('data-testid', id);
  const problem = o.problems?.find((p) => p.field === o.field);
  if (problem) control.setAttribute('aria-invalid', 'true');
  const errId = `${o.prefix}-error-${fieldId(o.field)}`;
  control.setAttribute('aria-describedby', errId);
  const isCheck = control instanceof HTMLInputElement && control.type === 'checkbox';
  const label = h('label', { for: id }, o.label);
  return h(
    'div',
    { class: `field${isCheck ? ' check' : ''}${o.wide ? ' wide' : ''}${problem ? ' invalid' : ''}` },
    isCheck ? [control, label] : [label, control],
    o.hint ? h('div', { class: 'hint' }, o.hint) : null,
    h('div', { class: 'problem', id: errId, testid: errId, role: 'alert', hidden: !problem }, problem?.message ?? ''),
  );
}

export function textInput(value: string, oninput: (v: string) => void, attrs: Record<string, unknown> = {}) {
  return h('input', {
    type: 'text',
    value,
    autocomplete: 'off',
    spellcheck: 'false',
    oninput: (e: Event) => oninput((e.target as HTMLInputElement).value),
    ...attrs,
  });
}

export function checkbox(checked: boolean, onchange: (v: boolean) => void, attrs: Record<string, unknown> = {}) {
  return h('input', {
    type: 'checkbox',
    checked,
    onchange: (e: Event) => onchange((e.target as HTMLInputElement).checked),
    ...attrs,
  });
}

/** Moves the focus to the first field with a problem (after a redraw), so the agent sees it. */
export function focusFirstProblem(): void {
  const el = document.querySelector<HTMLElement>('[aria-invalid="true"], [data-testid$="-problems"]');
  if (!el) return;
  el.scrollIntoView?.({ block: 'center' });
  if (el.matches('input, select')) el.focus();
}

/** Problems whose field has no slot on the page, shown together (testid `<prefix>-problems`). */
export function otherProblems(prefix: string, problems: Problem[], known: string[]): HTMLElement | null {
  const rest = problems.filter((p) => !known.includes(p.field));
  if (!rest.length) return null;
  return h(
    'ul',
    { class: 'problems', testid: `${prefix}-problems`, role: 'alert' },
    rest.map((p) => h('li', {}, p.message)),
  );
}

// ---- connection form -------------------------------------------------------------------------------------

export interface ConnDraft {
  mode: 'ami' | 'gateway';
  host: string;
  port: string;
  username: string;
  tls: boolean;
  channel: string;
  context: string;
  url: string;
  /** typed secret (AMI) or token (gateway); '' = keep the stored one */
  secret: string;
  /** mode of the stored connection, whose secret is in the keyring */
  storedMode: 'ami' | 'gateway';
  hasSecret: boolean;
  /** the "Advanced" fold is open (kept across redraws) */
  advancedOpen?: boolean;
}

export const AMI_DEFAULTS = { port: 5038, channel: 'PJSIP/{extension}', context: 'from-internal' };

export function connDraft(c: Connection, hasSecret: boolean): ConnDraft {
  const d: ConnDraft = {
    mode: c.mode,
    host: '',
    port: String(AMI_DEFAULTS.port),
    username: '',
    tls: false,
    channel: AMI_DEFAULTS.channel,
    context: AMI_DEFAULTS.context,
    url: '',
    secret: '',
    storedMode: c.mode,
    hasSecret,
  };
  if (c.mode === 'ami') {
    Object.assign(d, {
      host: c.host,
      port: String(c.port),
      username: c.username,
      tls: c.tls,
      channel: c.channel,
      context: c.context,
    });
  } else {
    d.url = c.url;
  }
  return d;
}

/** The connection to send, or the problems found before sending (a port that is not a number). */
export function draftConnection(d: ConnDraft): { connection: Connection; problems: Problem[] } {
  if (d.mode === 'gateway') return { connection: { mode: 'gateway', url: d.url.trim() }, problems: [] };
  const problems: Problem[] = [];
  const port = Number(d.port.trim());
  if (!/^\d{1,5}$/.test(d.port.trim()) || port < 1 || port > 65535) {
    problems.push({ field: 'connection.port', kind: 'invalid', message: t('ui.conn.port_invalid') });
  }
  return {
    connection: {
      mode: 'ami',
      host: d.host.trim(),
      port: Number.isFinite(port) ? port : 0,
      username: d.username.trim(),
      tls: d.tls,
      channel: d.channel.trim(),
      context: d.context.trim(),
    },
    problems,
  };
}

export const draftSecret = (d: ConnDraft): string | null => (d.secret === '' ? null : d.secret);

/** The secret/token field: never shows a stored secret, says when one is in the keyring. */
function secretField(d: ConnDraft, prefix: string, problems: Problem[]): HTMLElement {
  const stored = d.hasSecret && d.mode === d.storedMode;
  const isToken = d.mode === 'gateway';
  const input = h('input', {
    type: 'password',
    value: d.secret,
    autocomplete: 'new-password',
    placeholder: stored ? t('ui.conn.secret_saved_placeholder') : '',
    oninput: (e: Event) => (d.secret = (e.target as HTMLInputElement).value),
  });
  const f = field(input, {
    prefix,
    field: isToken ? 'connection.token' : 'connection.secret',
    label: isToken ? t('ui.conn.token') : t('ui.conn.secret'),
    problems: problems.map((p) =>
      p.field === 'secret' ? { ...p, field: isToken ? 'connection.token' : 'connection.secret' } : p,
    ),
  });
  if (stored) {
    f.insertBefore(
      h('div', { class: 'saved', testid: `${prefix}-secret-saved` }, t('ui.conn.secret_saved')),
      f.querySelector('.problem'),
    );
  }
  return f;
}

/** Fields known to the connection form (for the "other problems" list). */
export const CONN_FIELDS = [
  'connection.host',
  'connection.port',
  'connection.username',
  'connection.tls',
  'connection.channel',
  'connection.context',
  'connection.url',
  'connection.token',
  'connection.secret',
  'secret',
];

export function amiFields(d: ConnDraft, prefix: string, problems: Problem[]): HTMLElement {
  const advancedProblem = problems.some((p) =>
    ['connection.tls', 'connection.channel', 'connection.context'].includes(p.field),
  );
  return h(
    'div',
    { class: 'fields', testid: `${prefix}-ami-fields` },
    h(
      'div',
      { class: 'row' },
      field(textInput(d.host, (v) => (d.host = v), { placeholder: 'pbx.example.com' }), {
        prefix,
        field: 'connection.host',
        label: t('ui.conn.host'),
        problems,
        wide: true,
      }),
      field(textInput(d.port, (v) => (d.port = v), { inputmode: 'numeric', class: 'short' }), {
        prefix,
        field: 'connection.port',
        label: t('ui.conn.port'),
        problems,
      }),
    ),
    field(textInput(d.username, (v) => (d.username = v)), {
      prefix,
      field: 'connection.username',
      label: t('ui.conn.username'),
      problems,
    }),
    secretField(d, prefix, problems),
    h(
      'details',
      {
        class: 'advanced',
        open: advancedProblem || !!d.advancedOpen,
        ontoggle: (e: Event) => (d.advancedOpen = (e.target as HTMLDetailsElement).open),
      },
      h('summary', { testid: `${prefix}-advanced` }, t('ui.conn.advanced')),
      field(checkbox(d.tls, (v) => (d.tls = v)), {
        prefix,
        field: 'connection.tls',
        label: t('ui.conn.tls'),
        problems,
      }),
      field(textInput(d.channel, (v) => (d.channel = v)), {
        prefix,
        field: 'connection.channel',
        label: t('ui.conn.channel'),
        hint: t('ui.conn.channel_hint'),
        problems,
      }),
      field(textInput(d.context, (v) => (d.context = v)), {
        prefix,
        field: 'connection.context',
        label: t('ui.conn.context'),
        hint: t('ui.conn.context_hint'),
        problems,
      }),
    ),
  );
}

export function gatewayFields(d: ConnDraft, prefix: string, problems: Problem[]): HTMLElement {
  return h(
    'div',
    { class: 'fields', testid: `${prefix}-gateway-fields` },
    field(
      textInput(d.url, (v) => (d.url = v), { type: 'url', placeholder: 'https://clickdial.example.com' }),
      { prefix, field: 'connection.url', label: t('ui.conn.url'), hint: t('ui.conn.url_hint'), problems },
    ),
    secretField(d, prefix, problems),
  );
}

// ---- test connection -------------------------------------------------------------------------------------

const TEST_KEYS: Record<string, string> = {
  ok: 'ui.test.ok',
  unreachable: 'ui.test.unreachable',
  refused: 'ui.test.refused',
  bad_credentials: 'ui.test.bad_credentials',
  not_allowed: 'ui.test.not_allowed',
  tls: 'ui.test.tls',
  timeout: 'ui.test.timeout',
  gateway_error: 'ui.test.gateway_error',
  invalid: 'ui.test.invalid',
};

export type TestState = { state: 'idle' } | { state: 'running' } | { state: 'done'; result: TestResult };

/** The inline result of "Test connection": a plain-language headline by kind, the backend's detail under it. */
export function testResult(s: TestState, prefix: string): HTMLElement {
  const el = h('div', { class: 'test-result', testid: `${prefix}-test-result`, role: 'status', 'aria-live': 'polite' });
  if (s.state === 'idle') {
    el.hidden = true;
    return el;
  }
  if (s.state === 'running') {
    el.classList.add('running');
    el.setAttribute('data-kind', 'running');
    el.append(h('strong', {}, t('ui.test.running')));
    return el;
  }
  const r = s.result;
  el.classList.add(r.ok ? 'ok' : 'err');
  el.setAttribute('data-kind', r.kind);
  const key = TEST_KEYS[r.kind] ?? (r.ok ? 'ui.test.ok' : 'ui.test.failed');
  el.append(h('strong', {}, t(key)));
  if (r.message && r.message !== t(key)) el.append(h('div', { class: 'detail' }, r.message));
  return el;
}

export function errorAsTest(e: ApiError): TestResult {
  return { ok: false, kind: e.kind === 'invalid' ? 'invalid' : e.kind, message: e.message };
}

// ---- dial box --------------------------------------------------------------------------------------------

/** "Dial a number": a field, a Dial button, a live preview of what will be dialed and a status line. */
export class DialBox {
  value = '';
  preview: Msg | null = null;
  /** The one number the preview found, with the text it was found in. */
  private found: { text: string; display: string } | null = null;
  status: { msg: Msg; tone: 'info' | 'ok' | 'err' } | null = null;
  busy = false;
  private callId: string | null = null;
  private previewTimer: ReturnType<typeof setTimeout> | undefined;
  private unlisten: UnlistenFn | null = null;
  private el: HTMLElement | null = null;

  constructor(
    private prefix: string,
    private opts: { followProgress?: boolean; onDialed?: (id: string) => void } = {},
  ) {
    if (opts.followProgress) {
      void events
        .onCallProgress((s) => this.progress(s))
        .then((u) => {
          if (this.destroyed) u();
          else this.unlisten = u;
        });
    }
  }

  private destroyed = false;
  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.previewTimer);
    this.unlisten?.();
  }

  /** progress that arrived before `dial` answered with its id */
  private early = new Map<string, CallStatus>();

  private progress(s: CallStatus): void {
    if (!this.callId || s.id !== this.callId) {
      this.early.set(s.id, s);
      return;
    }
    this.status = { msg: { raw: s.text }, tone: s.final ? (s.outcome === 'answered' ? 'ok' : 'info') : 'info' };
    this.refresh();
  }

  private refresh(): void {
    const old = this.el;
    if (!old) return;
    old.replaceWith(this.render());
  }

  private schedulePreview(): void {
    clearTimeout(this.previewTimer);
    const text = this.value.trim();
    if (!text) {
      this.preview = null;
      this.updatePreview();
      return;
    }
    this.previewTimer = setTimeout(async () => {
      try {
        const c = await api.candidates(text);
        if (text !== this.value.trim()) return;
        this.found = c.candidates.length === 1 ? { text, display: c.candidates[0].display } : null;
        if (c.candidates.length === 0) this.preview = { key: 'ui.dial.preview_none' };
        else if (c.candidates.length === 1)
          this.preview = { key: 'ui.dial.preview_one', vars: { number: c.candidates[0].destination } };
        else this.preview = { key: 'ui.dial.preview_many', vars: { count: c.candidates.length } };
      } catch {
        this.preview = null;
      }
      this.updatePreview();
    }, 200);
  }

  private updatePreview(): void {
    const p = this.el?.querySelector<HTMLElement>('.preview');
    if (!p) return;
    p.textContent = this.preview ? msgText(this.preview) : '';
    p.hidden = !this.preview;
  }

  async submit(): Promise<void> {
    const text = this.value.trim();
    if (!text) {
      this.status = { msg: { key: 'ui.dial.empty' }, tone: 'err' };
      this.refresh();
      return;
    }
    this.busy = true;
    // The number as people write it when the preview found exactly one, else what was typed.
    const number = this.found?.text === text ? this.found.display : text;
    this.status = { msg: { key: 'ui.dial.calling', vars: { number } }, tone: 'info' };
    this.refresh();
    try {
      const { id } = await api.dial(text, 'typed');
      this.callId = id;
      this.opts.onDialed?.(id);
      const early = this.early.get(id);
      this.early.clear();
      if (early) {
        this.busy = false;
        return this.progress(early);
      }
    } catch (e) {
      this.status = { msg: { raw: toApiError(e).message }, tone: 'err' };
    }
    this.busy = false;
    this.refresh();
  }

  render(): HTMLElement {
    const p = this.prefix;
    const input = textInput(this.value, (v) => {
      this.value = v;
      this.schedulePreview();
    }, {
      testid: `${p}-input`,
      id: `${p}-input`,
      inputmode: 'tel',
      placeholder: t('ui.dial.placeholder'),
      'aria-label': t('ui.dial.label'),
    });
    const form = h(
      'form',
      {
        novalidate: true,
        class: 'dialbox',
        testid: `${p}-form`,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.submit();
        },
      },
      h(
        'div',
        { class: 'dialrow' },
        input,
        h('button', { type: 'submit', class: 'primary', testid: `${p}-submit`, disabled: this.busy }, t('ui.dial.button')),
      ),
      h('div', { class: 'preview', testid: `${p}-preview`, hidden: !this.preview }, this.preview ? msgText(this.preview) : ''),
      h(
        'div',
        {
          class: `status ${this.status?.tone ?? ''}`,
          testid: `${p}-status`,
          role: 'status',
          'aria-live': 'polite',
          hidden: !this.status,
        },
        this.status ? msgText(this.status.msg) : '',
      ),
    );
    const hadFocus = this.el?.contains(document.activeElement) ?? false;
    this.el = form;
    if (hadFocus) queueMicrotask(() => input.focus());
    return form;
  }

  focus(): void {
    this.el?.querySelector('input')?.focus();
  }
}

// ---- rich text --------------------------------------------------------------------------------------------

/** The string for `key` with each `{name}` placeholder replaced by `<code>value</code>` (commands, paths). */
export function withCode(key: string, codes: Record<string, string>): (Node | string)[] {
  return t(key)
    .split(/(\{\w+\})/)
    .filter((part) => part !== '')
    .map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return name && name in codes ? h('code', {}, codes[name]) : part;
    });
}

/** What to use instead of the global hotkey on Wayland: a desktop shortcut running these, and tel: links. */
export const WAYLAND_COMMANDS = { selection: 'clickdial dial --selection', clipboard: 'clickdial dial --clipboard' };

// ---- check this computer ----------------------------------------------------------------------------------

const CHECK_TITLES: Record<string, string> = {
  handler: 'ui.check.handler',
  hotkey: 'ui.check.hotkey',
  keyring: 'ui.check.keyring',
  connection: 'ui.check.connection',
};

const FIX_LABELS: Record<string, string> = {
  register_handler: 'ui.check.fix_register_handler',
  edit_hotkey: 'ui.check.fix_edit_hotkey',
  test_connection: 'ui.check.fix_test_connection',
};

/** Fixes the view carries out itself; a fix without a handler here gets no button (its message says what to do). */
export type CheckFixHandlers = Partial<Record<'edit_hotkey' | 'test_connection', () => void | Promise<void>>>;

/**
 * "Check this computer": a Run checks button and one row per finding of `self_check` (testids
 * `<prefix>-check-run`, `<prefix>-check-<id>` with data-ok, `<prefix>-check-fix-<id>`, `<prefix>-check-status`,
 * `<prefix>-check-error`, `<prefix>-check-message`). register_handler is fixed here; the other fixes are the view's.
 * Redraws only itself, so the rest of the view (and its scroll position) stays as it is.
 */
export class CheckList {
  checks: Check[] | null = null;
  running = false;
  error: string | null = null;
  /** what register_handler answered */
  message: { text: string; ok: boolean } | null = null;
  fixing: string | null = null;
  private generation = 0;
  private el: HTMLElement | null = null;

  constructor(
    private prefix: string,
    private fixes: CheckFixHandlers = {},
  ) {}

  /** Runs `self_check`; a failure is shown in the list only. `keepMessage` keeps what a fix answered. */
  async run(keepMessage = false): Promise<void> {
    const gen = ++this.generation;
    this.running = true;
    this.error = null;
    if (!keepMessage) this.message = null;
    this.refresh();
    try {
      const res = await api.selfCheck();
      if (gen !== this.generation) return;
      this.checks = Array.isArray(res?.checks) ? res.checks : [];
    } catch (e) {
      if (gen !== this.generation) return;
      this.error = toApiError(e).message;
    }
    this.running = false;
    this.refresh();
  }

  private async fix(c: Check): Promise<void> {
    if (this.fixing) return;
    this.fixing = c.id;
    this.refresh();
    try {
      if (c.fix === 'register_handler') {
        try {
          const r = await api.registerHandler();
          this.message = { text: r.message, ok: r.ok };
        } catch (e) {
          this.message = { text: toApiError(e).message, ok: false };
        }
        this.fixing = null;
        await this.run(true);
        return;
      }
      const handler = this.fixes[c.fix as keyof CheckFixHandlers];
      await handler?.();
    } finally {
      this.fixing = null;
      this.refresh();
    }
  }

  private refresh(): void {
    const old = this.el;
    if (!old || !old.isConnected) return;
    const focused = old.contains(document.activeElement) ? document.activeElement?.getAttribute('data-testid') : null;
    const el = this.render();
    old.replaceWith(el);
    if (focused) byTestId(el, focused)?.focus();
  }

  private row(c: Check): HTMLElement {
    const p = this.prefix;
    const canFix = c.fix && FIX_LABELS[c.fix] && (c.fix === 'register_handler' || this.fixes[c.fix as keyof CheckFixHandlers]);
    return h(
      'li',
      { class: `check-row ${c.ok ? 'ok' : 'bad'}`, testid: `${p}-check-${c.id}`, 'data-ok': String(c.ok) },
      h('span', { class: 'check-icon', 'aria-hidden': 'true' }, c.ok ? '✓' : '!'),
      h(
        'div',
        { class: 'check-body' },
        h(
          'div',
          { class: 'check-head' },
          h('strong', {}, CHECK_TITLES[c.id] ? t(CHECK_TITLES[c.id]) : c.id),
          h('span', { class: 'check-state' }, t(c.ok ? 'ui.check.ok' : 'ui.check.problem')),
        ),
        c.message ? h('p', { class: 'check-message' }, c.message) : null,
        canFix
          ? h(
              'button',
              {
                type: 'button',
                class: 'small',
                testid: `${p}-check-fix-${c.id}`,
                disabled: this.fixing !== null || this.running,
                onclick: () => void this.fix(c),
              },
              t(FIX_LABELS[c.fix!]),
            )
          : null,
      ),
    );
  }

  render(): HTMLElement {
    const p = this.prefix;
    const el = h(
      'div',
      { class: 'checks' },
      h(
        'div',
        { class: 'check-run' },
        h(
          'button',
          { type: 'button', testid: `${p}-check-run`, disabled: this.running, onclick: () => void this.run() },
          t('ui.check.run'),
        ),
        h(
          'span',
          { class: 'status', testid: `${p}-check-status`, role: 'status', 'aria-live': 'polite' },
          this.running ? t('ui.check.running') : '',
        ),
      ),
      this.error
        ? h('p', { class: 'status err', testid: `${p}-check-error`, role: 'alert' }, t('ui.check.failed', { message: this.error }))
        : null,
      this.message
        ? h(
            'p',
            {
              class: `status ${this.message.ok ? 'ok' : 'err'}`,
              testid: `${p}-check-message`,
              'data-ok': String(this.message.ok),
              role: 'status',
            },
            this.message.text,
          )
        : null,
      this.checks && this.checks.length
        ? h('ul', { class: 'check-list', testid: `${p}-check-list` }, this.checks.map((c) => this.row(c)))
        : null,
    );
    this.el = el;
    return el;
  }
}
