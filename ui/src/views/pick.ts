// #/pick — "which number?": the candidates found in the text the agent triggered on. Up/Down move, Enter dials
// the focused one, Esc cancels. With no candidate, a field to type the number.
import { api, toApiError, type Candidates } from '../api';
import { textInput } from '../components';
import { h } from '../dom';
import { t } from '../i18n';
import type { Ctx, View } from '../view';

const P = 'pick';

export async function pickView(ctx: Ctx): Promise<View> {
  const pending: Candidates = (await api.pendingPick()) ?? { text: '', candidates: [] };
  const s = { focus: 0, typed: '', error: null as string | null, busy: false };
  const cands = pending.candidates;

  async function dial(text: string, trigger: 'pick' | 'typed'): Promise<void> {
    if (s.busy) return;
    if (!text.trim()) {
      s.error = t('ui.dial.empty');
      return ctx.update();
    }
    s.busy = true;
    s.error = null;
    try {
      await api.dial(text.trim(), trigger);
      await api.closeWindow();
    } catch (e) {
      s.error = toApiError(e).message;
      ctx.update();
    } finally {
      s.busy = false;
    }
  }

  const cancel = () => void api.closeWindow().catch(() => {});

  function focusIndex(i: number): void {
    s.focus = (i + cands.length) % cands.length;
    document.querySelector<HTMLElement>(`[data-testid="${P}-candidate"][data-index="${s.focus}"]`)?.focus();
  }

  function onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape') {
      e.preventDefault();
      cancel();
      return;
    }
    if (!cands.length) return; // the typed field's form handles Enter
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const current = Number((document.activeElement as HTMLElement | null)?.dataset?.index ?? s.focus);
      focusIndex(current + (e.key === 'ArrowDown' ? 1 : -1));
    } else if (e.key === 'Enter') {
      const active = document.activeElement as HTMLElement | null;
      // Enter on another button (Cancel) does what that button does.
      if (active instanceof HTMLButtonElement && active.dataset.index === undefined) return;
      e.preventDefault();
      const idx = Number(active?.dataset?.index ?? s.focus);
      const c = cands[Number.isFinite(idx) ? idx : s.focus] ?? cands[0];
      void dial(c.display, 'pick');
    } else if (/^[1-9]$/.test(e.key) && Number(e.key) <= cands.length) {
      e.preventDefault();
      void dial(cands[Number(e.key) - 1].display, 'pick');
    }
  }
  document.addEventListener('keydown', onKey);

  function render(): HTMLElement {
    const error = s.error ? h('p', { class: 'status err', testid: `${P}-error`, role: 'alert' }, s.error) : null;
    if (!cands.length) {
      const input = textInput(s.typed, (v) => (s.typed = v), {
        testid: `${P}-input`,
        inputmode: 'tel',
        placeholder: t('ui.dial.placeholder'),
        'aria-label': t('ui.dial.label'),
        autofocus: true,
      });
      queueMicrotask(() => input.focus());
      return h(
        'form',
        {
          class: 'view small pick',
          novalidate: true,
          onsubmit: (e: Event) => {
            e.preventDefault();
            void dial(s.typed, 'typed');
          },
        },
        h('h1', {}, t('ui.pick.title')),
        h('p', { class: 'notfound', testid: `${P}-none` }, t('ui.pick.none', { text: pending.text })),
        h('div', { class: 'dialrow' }, input, h('button', { type: 'submit', class: 'primary', testid: `${P}-dial` }, t('ui.dial.button'))),
        error,
        h('footer', { class: 'actions' }, h('span', { class: 'hint' }, t('ui.pick.keys_typed')), h('button', { type: 'button', testid: `${P}-cancel`, onclick: cancel }, t('ui.pick.cancel'))),
      );
    }
    const buttons = cands.map((c, i) =>
      h(
        'button',
        {
          type: 'button',
          class: 'candidate',
          testid: `${P}-candidate`,
          'data-index': String(i),
          'data-destination': c.destination,
          onclick: () => void dial(c.display, 'pick'),
          onfocus: () => (s.focus = i),
        },
        h('span', { class: 'key', 'aria-hidden': 'true' }, i < 9 ? String(i + 1) : ''),
        h('span', { class: 'display' }, c.display),
        c.destination !== c.display ? h('span', { class: 'dest' }, t('ui.pick.dials', { number: c.destination })) : null,
      ),
    );
    queueMicrotask(() => (buttons[s.focus] ?? buttons[0]).focus());
    return h(
      'main',
      { class: 'view small pick' },
      h('h1', {}, t('ui.pick.title')),
      pending.text ? h('p', { class: 'source', testid: `${P}-text`, title: pending.text }, pending.text) : null,
      h('div', { class: 'candidates', testid: `${P}-list` }, buttons),
      error,
      h('footer', { class: 'actions' }, h('span', { class: 'hint' }, t('ui.pick.keys')), h('button', { type: 'button', testid: `${P}-cancel`, onclick: cancel }, t('ui.pick.cancel'))),
    );
  }

  return {
    title: 'ui.pick.title',
    render,
    destroy: () => document.removeEventListener('keydown', onKey),
  };
}
