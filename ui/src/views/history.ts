// #/history — the calls made from this desktop: search as you type, redial, clear (with a confirm step).
import { api, events, toApiError, type HistoryEntry, type OutcomeKind, type UnlistenFn } from '../api';
import { msgText, type Msg } from '../components';
import { h } from '../dom';
import { locale, t } from '../i18n';
import type { Ctx, View } from '../view';

const P = 'history';
export const HISTORY_LIMIT = 200;
export const SEARCH_DELAY_MS = 150;

const OUTCOME_KEYS: Record<OutcomeKind, string> = {
  answered: 'ui.outcome.answered',
  busy: 'ui.outcome.busy',
  no_answer: 'ui.outcome.no_answer',
  congestion: 'ui.outcome.congestion',
  failed: 'ui.outcome.failed',
  cancelled: 'ui.outcome.cancelled',
  lost: 'ui.outcome.lost',
};

export function outcomeText(o: HistoryEntry['outcome']): string {
  if (!o) return t('ui.outcome.in_progress');
  if (o.text) return o.text;
  return t(OUTCOME_KEYS[o.kind] ?? 'ui.outcome.failed');
}

export function duration(secs: number | null): string {
  if (secs === null || secs === undefined) return '—';
  const s = Math.max(0, Math.round(secs));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function when(unix: number): string {
  const d = new Date(unix * 1000);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const opts: Intl.DateTimeFormatOptions = sameDay ? { timeStyle: 'short' } : { dateStyle: 'short', timeStyle: 'short' };
  try {
    return new Intl.DateTimeFormat(locale(), opts).format(d);
  } catch {
    return d.toLocaleString();
  }
}

export async function historyView(ctx: Ctx): Promise<View> {
  const s = {
    query: '',
    entries: await api.history('', HISTORY_LIMIT),
    confirming: false,
    status: null as { msg: Msg; tone: 'ok' | 'err' | 'info' } | null,
  };
  let listEl: HTMLElement | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  let unlisten: UnlistenFn | null = null;
  let destroyed = false;

  async function reload(): Promise<void> {
    const mine = ++seq;
    try {
      const entries = await api.history(s.query.trim(), HISTORY_LIMIT);
      if (mine !== seq) return;
      s.entries = entries;
    } catch (e) {
      s.status = { msg: { raw: toApiError(e).message }, tone: 'err' };
      return ctx.update();
    }
    // Only the list changes: the search box keeps its focus and caret.
    if (listEl) {
      const fresh = list();
      listEl.replaceWith(fresh);
      listEl = fresh;
      const clearBtn = document.querySelector<HTMLButtonElement>(`[data-testid="${P}-clear"]`);
      if (clearBtn) clearBtn.disabled = s.entries.length === 0 && !s.query;
    }
  }

  events
    .onCallProgress((c) => {
      if (!c.final) return;
      // A redial's line ends with how the call ended, not "Calling…".
      if (s.status?.tone === 'info') {
        s.status = { msg: { raw: c.number ? `${c.number} — ${c.text}` : c.text }, tone: c.outcome === 'answered' ? 'ok' : 'err' };
      }
      void reload();
    })
    .then((u) => (destroyed ? u() : (unlisten = u)), () => {});

  async function redial(e: HistoryEntry): Promise<void> {
    s.status = { msg: { key: 'ui.dial.calling', vars: { number: e.number } }, tone: 'info' };
    ctx.update();
    try {
      await api.redial(e.id);
    } catch (err) {
      s.status = { msg: { raw: toApiError(err).message }, tone: 'err' };
      ctx.update();
    }
  }

  async function clearAll(): Promise<void> {
    try {
      await api.clearHistory();
      s.confirming = false;
      s.query = '';
      s.status = { msg: { key: 'ui.history.cleared' }, tone: 'ok' };
      s.entries = await api.history('', HISTORY_LIMIT);
    } catch (e) {
      s.confirming = false;
      s.status = { msg: { raw: toApiError(e).message }, tone: 'err' };
    }
    ctx.update();
  }

  function row(e: HistoryEntry): HTMLElement {
    const kind = e.outcome?.kind ?? 'in_progress';
    return h(
      'li',
      { class: `call-row ${kind}`, testid: `${P}-row`, 'data-id': String(e.id) },
      h(
        'div',
        { class: 'call-main' },
        h('span', { class: 'number', testid: `${P}-number` }, e.number),
        h(
          'span',
          { class: 'meta' },
          h('time', { testid: `${P}-time`, datetime: new Date(e.started_at * 1000).toISOString() }, when(e.started_at)),
          ' · ',
          h('span', { class: `outcome ${kind}`, testid: `${P}-outcome`, 'data-kind': kind }, outcomeText(e.outcome)),
          ' · ',
          h('span', { testid: `${P}-duration`, title: t('ui.history.talk_time') }, duration(e.talk_secs)),
        ),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'small',
          testid: `${P}-redial`,
          'aria-label': t('ui.history.redial_label', { number: e.number }),
          onclick: () => void redial(e),
        },
        t('ui.history.redial'),
      ),
    );
  }

  function list(): HTMLElement {
    if (!s.entries.length) {
      return h(
        'p',
        { class: 'empty', testid: `${P}-empty` },
        s.query.trim() ? t('ui.history.no_match', { query: s.query.trim() }) : t('ui.history.empty'),
      );
    }
    return h('ul', { class: 'calls', testid: `${P}-list` }, s.entries.map(row));
  }

  function render(): HTMLElement {
    listEl = list();
    const search = h('input', {
      type: 'search',
      value: s.query,
      testid: `${P}-search`,
      placeholder: t('ui.history.search'),
      'aria-label': t('ui.history.search'),
      autocomplete: 'off',
      autofocus: true,
      oninput: (e: Event) => {
        s.query = (e.target as HTMLInputElement).value;
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), SEARCH_DELAY_MS);
      },
    });
    return h(
      'main',
      { class: 'view history' },
      h('header', { class: 'head' }, h('h1', {}, t('ui.history.title')), search),
      h('div', { class: 'scroll' }, listEl),
      h(
        'div',
        { class: `status ${s.status?.tone ?? ''}`, testid: `${P}-status`, role: 'status', 'aria-live': 'polite', hidden: !s.status },
        s.status ? msgText(s.status.msg) : '',
      ),
      s.confirming
        ? h(
            'footer',
            { class: 'actions bar confirm', testid: `${P}-confirm`, role: 'alertdialog' },
            h('span', { class: 'status err', testid: `${P}-confirm-text` }, t('ui.history.clear_confirm')),
            h('button', { type: 'button', testid: `${P}-clear-cancel`, onclick: () => { s.confirming = false; ctx.update(); } }, t('ui.history.clear_keep')),
            h('button', { type: 'button', class: 'danger', testid: `${P}-clear-confirm`, onclick: () => void clearAll() }, t('ui.history.clear_yes')),
          )
        : h(
            'footer',
            { class: 'actions bar' },
            h('span'),
            h(
              'button',
              {
                type: 'button',
                testid: `${P}-clear`,
                disabled: s.entries.length === 0 && !s.query,
                onclick: () => {
                  s.confirming = true;
                  s.status = null;
                  ctx.update();
                },
              },
              t('ui.history.clear'),
            ),
          ),
    );
  }

  return {
    title: 'ui.history.title',
    render,
    destroy: () => {
      destroyed = true;
      clearTimeout(timer);
      unlisten?.();
    },
  };
}
