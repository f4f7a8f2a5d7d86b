// #/call — in-app call status when the desktop has no notification service. Follows `call-progress`, offers
// Hang up while the call can be hung up, closes itself a few seconds after the end.
import { api, events, toApiError, type CallStatus, type UnlistenFn } from '../api';
import { h } from '../dom';
import { t } from '../i18n';
import type { Ctx, View } from '../view';

const P = 'call';
export const CLOSE_AFTER_MS = 5000;

export async function callView(ctx: Ctx): Promise<View> {
  const s = { call: null as CallStatus | null, error: null as string | null, hangingUp: false };
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  let unlisten: UnlistenFn | null = null;
  let destroyed = false;

  function apply(c: CallStatus): void {
    // A new call replaces an ended one; stale events of an older call are ignored.
    if (s.call && c.id !== s.call.id && !s.call.final) return;
    if (s.call?.id !== c.id) s.hangingUp = false;
    s.call = c;
    clearTimeout(closeTimer);
    if (c.final) closeTimer = setTimeout(() => void api.closeWindow().catch(() => {}), CLOSE_AFTER_MS);
    ctx.update();
  }

  unlisten = await events.onCallProgress((c) => apply(c));
  if (destroyed) unlisten();
  const initial = await api.callStatus();
  if (initial && !s.call) apply(initial);
  else if (!initial && !s.call) closeTimer = setTimeout(() => void api.closeWindow().catch(() => {}), CLOSE_AFTER_MS);

  async function hangup(): Promise<void> {
    s.hangingUp = true;
    s.error = null;
    ctx.update();
    try {
      await api.hangup();
    } catch (e) {
      s.hangingUp = false;
      s.error = toApiError(e).message;
      ctx.update();
    }
  }

  function render(): HTMLElement {
    const c = s.call;
    if (!c) {
      return h(
        'main',
        { class: 'view small call' },
        h('p', { class: 'state', testid: `${P}-state`, 'data-state': 'none', role: 'status' }, t('ui.call.none')),
        h('footer', { class: 'actions' }, h('span'), h('button', { type: 'button', testid: `${P}-close`, onclick: () => void api.closeWindow().catch(() => {}) }, t('ui.call.close'))),
      );
    }
    const tone = c.final ? (c.outcome === 'answered' ? 'ok' : 'ended') : c.state === 'connected' ? 'ok' : 'live';
    return h(
      'main',
      { class: `view small call ${tone}` },
      h('div', { class: 'number', testid: `${P}-number` }, c.number),
      c.destination && c.destination !== c.number ? h('div', { class: 'dest', testid: `${P}-destination` }, c.destination) : null,
      h(
        'p',
        { class: `state ${tone}`, testid: `${P}-state`, 'data-state': c.state, 'data-final': String(c.final), role: 'status', 'aria-live': 'polite' },
        c.text,
      ),
      c.final ? h('p', { class: 'hint', testid: `${P}-closing` }, t('ui.call.closing')) : null,
      s.error ? h('p', { class: 'status err', testid: `${P}-error`, role: 'alert' }, s.error) : null,
      h(
        'footer',
        { class: 'actions' },
        h('span'),
        c.can_hangup && !c.final
          ? h('button', { type: 'button', class: 'danger big', testid: `${P}-hangup`, disabled: s.hangingUp, onclick: () => void hangup() }, t('ui.call.hangup'))
          : h('button', { type: 'button', testid: `${P}-close`, onclick: () => void api.closeWindow().catch(() => {}) }, t('ui.call.close')),
      ),
    );
  }

  return {
    title: 'ui.call.title',
    render,
    destroy: () => {
      destroyed = true;
      clearTimeout(closeTimer);
      unlisten?.();
    },
  };
}
