// #/setup — first run: language + extension, how to connect, done (hotkey + a test call).
import { api, toApiError, type Language, type Problem, type Settings } from '../api';
import {
  amiFields,
  CheckList,
  connDraft,
  CONN_FIELDS,
  DialBox,
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
  type TestState,
  WAYLAND_COMMANDS,
  withCode,
} from '../components';
import { h } from '../dom';
import { t } from '../i18n';
import type { Ctx, View } from '../view';

type Choice = 'gateway' | 'ami' | 'demo';
const P = 'setup';

export async function setupView(ctx: Ctx): Promise<View> {
  const stored = await api.getSettings();
  const base: Settings = stored.settings;
  const s = {
    step: 1 as 1 | 2 | 3,
    // Prefilled from the OS (app_info.language); saved as "auto" unless the agent picks another one.
    language: ctx.info.language as 'en' | 'es',
    extension: base.extension,
    // The country local numbers belong to; prefilled from the OS locale by the Rust side.
    country: base.dial.country ?? '',
    choice: (ctx.info.demo ? 'demo' : null) as Choice | null,
    conn: connDraft(base.connection, stored.has_secret) as ConnDraft,
    test: { state: 'idle' } as TestState,
    problems: [] as Problem[],
    error: null as string | null,
    busy: false,
    saved: base,
  };
  const dialBox = new DialBox(`${P}-testcall`, { followProgress: true });
  // Optional last block of step 3. The hotkey cannot be edited here (its message says where); a connection
  // problem goes back to step 2 and tests there.
  const checks = new CheckList(P, {
    test_connection: async () => {
      s.step = 2;
      s.error = null;
      if (s.choice === 'ami' || s.choice === 'gateway') await test();
      else ctx.update();
    },
  });

  const settingsNow = (): { settings: Settings; problems: Problem[] } => {
    const language: Language =
      base.language === 'auto' && s.language === ctx.info.language ? 'auto' : s.language;
    let connection = base.connection;
    let problems: Problem[] = [];
    if (s.choice === 'ami' || s.choice === 'gateway') {
      s.conn.mode = s.choice;
      ({ connection, problems } = draftConnection(s.conn));
    }
    const country = s.country.trim().toUpperCase() || base.dial.country;
    const dial = { ...base.dial, country };
    return { settings: { ...base, language, extension: s.extension.trim(), connection, dial }, problems };
  };

  function next1(): void {
    s.problems = [];
    if (!s.extension.trim()) {
      s.problems = [{ field: 'extension', kind: 'required', message: t('ui.setup.extension_required') }];
    } else {
      s.step = 2;
    }
    ctx.update();
  }

  async function test(): Promise<void> {
    const { settings, problems } = settingsNow();
    s.problems = problems;
    if (problems.length) return ctx.update();
    s.test = { state: 'running' };
    ctx.update();
    try {
      s.test = { state: 'done', result: await api.testConnection(settings, draftSecret(s.conn)) };
    } catch (e) {
      const err = toApiError(e);
      s.problems = err.problems ?? [];
      s.test = { state: 'done', result: errorAsTest(err) };
    }
    ctx.update();
  }

  async function next2(): Promise<void> {
    if (!s.choice) {
      s.error = t('ui.setup.choose_one');
      return ctx.update();
    }
    const { settings, problems } = settingsNow();
    s.problems = problems;
    s.error = null;
    if (problems.length) return ctx.update();
    s.busy = true;
    ctx.update();
    try {
      if (s.choice === 'demo') {
        await api.startDemo();
        // The demo brings its own connection: save the agent's choices on top of it.
        const demo = (await api.getSettings()).settings;
        const { language, extension, dial } = settings;
        await api.saveSettings({ ...demo, language, extension, dial }, null);
      } else {
        await api.saveSettings(settings, draftSecret(s.conn));
      }
      s.saved = settings;
      s.step = 3;
      void checks.run();
    } catch (e) {
      const err = toApiError(e);
      s.problems = err.problems ?? [];
      if (s.problems.some((p) => ['extension', 'language', 'dial.country'].includes(p.field))) s.step = 1;
      if (!s.problems.length) s.error = err.message;
    }
    s.busy = false;
    ctx.update();
    if (s.problems.length) focusFirstProblem();
  }

  async function finish(): Promise<void> {
    try {
      await api.finishSetup();
    } catch (e) {
      s.error = toApiError(e).message;
      ctx.update();
    }
  }

  const stepHeader = (n: number, title: string) =>
    h(
      'header',
      { class: 'head' },
      h('div', { class: 'steps', testid: `${P}-step`, 'data-step': String(n) }, t('ui.setup.step', { n, total: 3 })),
      h('h1', { testid: `${P}-title` }, title),
    );

  const errorLine = () =>
    s.error ? h('p', { class: 'status err', testid: `${P}-error`, role: 'alert' }, s.error) : null;

  function step1(): HTMLElement {
    const select = h(
      'select',
      {
        value: s.language,
        onchange: (e: Event) => {
          s.language = (e.target as HTMLSelectElement).value as 'en' | 'es';
          void ctx.switchLanguage(s.language);
        },
      },
      h('option', { value: 'en' }, t('ui.lang.en')),
      h('option', { value: 'es' }, t('ui.lang.es')),
    );
    const ext = textInput(s.extension, (v) => (s.extension = v), {
      inputmode: 'numeric',
      placeholder: '10',
      class: 'big',
      autofocus: true,
    });
    return h(
      'form',
      {
        novalidate: true,
        class: 'view setup',
        testid: `${P}-step-1`,
        onsubmit: (e: Event) => {
          e.preventDefault();
          next1();
        },
      },
      stepHeader(1, t('ui.setup.title')),
      h('p', { class: 'lead' }, t('ui.setup.welcome')),
      field(select, { prefix: P, field: 'language', label: t('ui.setup.language'), problems: s.problems }),
      field(ext, {
        prefix: P,
        field: 'extension',
        label: t('ui.setup.extension'),
        hint: t('ui.setup.extension_hint'),
        problems: s.problems,
      }),
      field(
        textInput(s.country, (v) => (s.country = v), { maxlength: 2, placeholder: 'ES', class: 'short upper' }),
        {
          prefix: P,
          field: 'dial.country',
          label: t('ui.settings.country'),
          hint: t('ui.settings.country_hint'),
          problems: s.problems,
        },
      ),
      otherProblems(P, s.problems, ['language', 'extension', 'dial.country']),
      errorLine(),
      h(
        'footer',
        { class: 'actions' },
        h('span'),
        h('button', { type: 'submit', class: 'primary', testid: `${P}-next-1` }, t('ui.setup.next')),
      ),
    );
  }

  function choiceCard(c: Choice, title: string, desc: string): HTMLElement {
    const on = s.choice === c;
    return h(
      'button',
      {
        type: 'button',
        role: 'radio',
        'aria-checked': String(on),
        class: `choice${on ? ' on' : ''}`,
        testid: `${P}-choice-${c}`,
        onclick: () => {
          if (s.choice !== c) {
            s.choice = c;
            s.test = { state: 'idle' };
            s.problems = [];
            s.error = null;
            if (c !== 'demo') s.conn.mode = c;
            ctx.update();
          }
        },
      },
      h('span', { class: 'radio', 'aria-hidden': 'true' }),
      // Once one is chosen, the others fold to their title so the fields fit the window.
      h('span', { class: 'choice-text' }, h('strong', {}, title), s.choice && !on ? null : h('span', {}, desc)),
    );
  }

  function step2(): HTMLElement {
    let details: HTMLElement | null = null;
    if (s.choice === 'gateway') details = gatewayFields(s.conn, P, s.problems);
    else if (s.choice === 'ami') details = amiFields(s.conn, P, s.problems);
    else if (s.choice === 'demo') details = h('p', { class: 'note', testid: `${P}-demo-note` }, t('ui.setup.demo_note'));
    const testable = s.choice === 'gateway' || s.choice === 'ami';
    return h(
      'form',
      {
        novalidate: true,
        class: 'view setup',
        testid: `${P}-step-2`,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void next2();
        },
      },
      stepHeader(2, t('ui.setup.connect_title')),
      h(
        'div',
        { class: 'choices', role: 'radiogroup', 'aria-label': t('ui.setup.connect_title') },
        choiceCard('gateway', t('ui.setup.choice_gateway'), t('ui.setup.choice_gateway_desc')),
        choiceCard('ami', t('ui.setup.choice_ami'), t('ui.setup.choice_ami_desc')),
        choiceCard('demo', t('ui.setup.choice_demo'), t('ui.setup.choice_demo_desc')),
      ),
      details,
      testable
        ? h(
            'div',
            { class: 'test' },
            h(
              'button',
              { type: 'button', testid: `${P}-test`, disabled: s.test.state === 'running', onclick: () => void test() },
              t('ui.conn.test'),
            ),
            testResult(s.test, P),
          )
        : null,
      otherProblems(P, s.problems, [...CONN_FIELDS]),
      errorLine(),
      h(
        'footer',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            testid: `${P}-back`,
            onclick: () => {
              s.step = 1;
              s.error = null;
              ctx.update();
            },
          },
          t('ui.setup.back'),
        ),
        h(
          'button',
          { type: 'submit', class: 'primary', testid: `${P}-next-2`, disabled: s.busy || !s.choice },
          t('ui.setup.next'),
        ),
      ),
    );
  }

  function step3(): HTMLElement {
    const hotkey = s.saved.hotkey;
    return h(
      'div',
      { class: 'view setup', testid: `${P}-step-3` },
      stepHeader(3, t('ui.setup.done_title')),
      ctx.info.wayland
        ? h('p', { class: 'lead', testid: `${P}-wayland-note` }, withCode('ui.setup.done_wayland', WAYLAND_COMMANDS))
        : h(
            'div',
            { class: 'hotkey-box' },
            h('p', { class: 'lead' }, t('ui.setup.done_hotkey')),
            h('kbd', { class: 'hotkey', testid: `${P}-hotkey` }, hotkey),
          ),
      s.choice === 'demo' ? h('p', { class: 'note' }, t('ui.setup.done_demo')) : null,
      h('section', { class: 'card' }, h('h2', {}, t('ui.setup.test_call')), h('p', { class: 'hint' }, t('ui.setup.test_call_hint')), dialBox.render()),
      h(
        'section',
        { class: 'card', testid: `${P}-check` },
        h('h2', {}, t('ui.check.title')),
        h('p', { class: 'hint' }, t('ui.setup.check_hint')),
        checks.render(),
      ),
      errorLine(),
      h(
        'footer',
        { class: 'actions' },
        h('span'),
        h('button', { type: 'button', class: 'primary', testid: `${P}-finish`, onclick: () => void finish() }, t('ui.setup.finish')),
      ),
    );
  }

  return {
    title: 'ui.setup.title',
    render: () => (s.step === 1 ? step1() : s.step === 2 ? step2() : step3()),
    destroy: () => dialBox.destroy(),
  };
}
