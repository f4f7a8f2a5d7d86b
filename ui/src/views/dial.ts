// #/dial — a small "Dial a number" box. Closes itself once the call is on its way; Esc closes it.
import { api } from '../api';
import { DialBox } from '../components';
import { h } from '../dom';
import { t } from '../i18n';
import type { Ctx, View } from '../view';

export const CLOSE_AFTER_DIAL_MS = 1500;

export async function dialView(_ctx: Ctx): Promise<View> {
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  const box = new DialBox('dial', {
    onDialed: () => {
      closeTimer = setTimeout(() => void api.closeWindow().catch(() => {}), CLOSE_AFTER_DIAL_MS);
    },
  });
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      void api.closeWindow().catch(() => {});
    }
  };
  document.addEventListener('keydown', onKey);
  let first = true;
  return {
    title: 'ui.dial.title',
    render: () => {
      const el = h('main', { class: 'view small dial' }, h('h1', {}, t('ui.dial.title')), box.render(), h('p', { class: 'hint' }, t('ui.dial.hint')));
      if (first) {
        first = false;
        queueMicrotask(() => box.focus());
      }
      return el;
    },
    destroy: () => {
      clearTimeout(closeTimer);
      document.removeEventListener('keydown', onKey);
      box.destroy();
    },
  };
}
