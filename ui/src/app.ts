// The shell: loads the catalogue, picks the view from the hash route, redraws on a language change.
import { api, events, type AppInfo, type Language } from './api';
import { h } from './dom';
import { setCatalogue, t } from './i18n';
import type { Ctx, View, ViewFactory } from './view';
import { setupView } from './views/setup';
import { settingsView } from './views/settings';
import { historyView } from './views/history';
import { pickView } from './views/pick';
import { callView } from './views/call';
import { dialView } from './views/dial';

export const routes: Record<string, ViewFactory> = {
  setup: setupView,
  settings: settingsView,
  history: historyView,
  pick: pickView,
  call: callView,
  dial: dialView,
};

export function routeName(hash: string): string {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return name in routes ? name : 'dial';
}

export interface Mounted {
  view: View | null;
  unmount(): void;
}

/** Starts the app in `root`; resolves once the first view is drawn. */
export async function mount(root: HTMLElement): Promise<Mounted> {
  let info: AppInfo;
  let override: Language | null = null;
  const state: Mounted = { view: null, unmount };
  const unlisteners: (() => void)[] = [];
  let generation = 0;

  const resolved = (l: Language): 'en' | 'es' => (l === 'auto' ? info.language : l);

  async function loadStrings(): Promise<void> {
    const map = await api.catalogue(override ?? undefined);
    setCatalogue(map, override ? resolved(override) : info.language);
  }

  function draw(): void {
    const view = state.view;
    if (!view) return;
    // Keep the focus (and caret) on the same control across a redraw.
    const active = document.activeElement as HTMLElement | null;
    const focusId = active && root.contains(active) ? active.getAttribute('data-testid') : null;
    const sel =
      active instanceof HTMLInputElement && active.type === 'text' ? [active.selectionStart, active.selectionEnd] : null;
    document.title = t(view.title);
    root.replaceChildren(view.render());
    if (focusId) {
      const el = root.querySelector<HTMLElement>(`[data-testid="${focusId}"]`);
      el?.focus();
      if (sel && el instanceof HTMLInputElement) el.setSelectionRange(sel[0], sel[1]);
    }
  }

  const ctx: Ctx = {
    get info() {
      return info;
    },
    update: draw,
    async switchLanguage(language: Language) {
      override = language;
      await loadStrings();
      draw();
    },
  };

  async function show(): Promise<void> {
    const gen = ++generation;
    state.view?.destroy?.();
    state.view = null;
    const name = routeName(location.hash);
    document.body.dataset.route = name;
    try {
      const view = await routes[name](ctx);
      if (gen !== generation) {
        view.destroy?.();
        return;
      }
      state.view = view;
      draw();
    } catch (e) {
      const msg = e && typeof e === 'object' && 'message' in e ? String((e as { message: unknown }).message) : String(e);
      root.replaceChildren(
        h('main', { class: 'view' }, h('p', { class: 'status err', testid: 'app-error', role: 'alert' }, t('ui.app.load_failed', { message: msg }))),
      );
    }
  }

  const onHash = () => void show();

  function unmount(): void {
    window.removeEventListener('hashchange', onHash);
    unlisteners.forEach((u) => u());
    state.view?.destroy?.();
    state.view = null;
    root.replaceChildren();
  }

  try {
    info = await api.appInfo();
    await loadStrings();
  } catch (e) {
    root.replaceChildren(h('p', { class: 'status err', testid: 'app-error', role: 'alert' }, String((e as { message?: string })?.message ?? e)));
    return state;
  }
  document.body.classList.toggle('demo', info.demo);
  window.addEventListener('hashchange', onHash);
  events
    .onLanguageChanged(async () => {
      override = null;
      info = await api.appInfo().catch(() => info);
      await loadStrings();
      draw();
    })
    .then((u) => unlisteners.push(u), () => {});
  await show();
  return state;
}
