import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../src/api';
import { $, choose, click, close, defaultSettings, emitEvent, en, ES, fakeBackend, get, open, text, type, waitFor } from './helpers';

afterEach(close);

async function stepOne(): Promise<void> {
  await open('#/setup');
  expect(get('setup-step').dataset.step).toBe('1');
  expect(get<HTMLSelectElement>('setup-language').value).toBe('en');
  // Next without an extension: said next to the field, stays on step 1.
  await click('setup-next-1');
  expect(text('setup-error-extension')).toBe(en('ui.setup.extension_required'));
  expect(get('setup-step').dataset.step).toBe('1');
  type('setup-extension', '10');
  await click('setup-next-1');
  await waitFor(() => $('setup-step-2'));
}

describe('#/setup', () => {
  it('gateway: test connection, save, test call, finish', async () => {
    const b = fakeBackend({
      test_connection: () => ({ ok: true, kind: 'ok', message: 'Connected to the gateway.' }),
      dial: () => ({ id: 'c1' }),
    });
    await stepOne();
    expect(get<HTMLButtonElement>('setup-next-2').disabled).toBe(true);
    await click('setup-choice-gateway');
    expect(get('setup-choice-gateway').getAttribute('aria-checked')).toBe('true');
    type('setup-connection-url', 'https://gw.example.com');
    type('setup-connection-token', 'tok-123');
    await click('setup-test');
    await waitFor(() => get('setup-test-result').dataset.kind === 'ok');
    expect(text('setup-test-result')).toContain(en('ui.test.ok'));
    expect(b.of('test_connection')[0]).toEqual({
      settings: expect.objectContaining({ extension: '10', connection: { mode: 'gateway', url: 'https://gw.example.com' } }),
      secret: 'tok-123',
    });

    await click('setup-next-2');
    await waitFor(() => $('setup-step-3'));
    const saved = b.of('save_settings')[0] as { settings: Settings; secret: string };
    expect(saved.secret).toBe('tok-123');
    expect(saved.settings.language).toBe('auto'); // the OS language was kept
    expect(saved.settings.extension).toBe('10');
    expect(saved.settings.connection).toEqual({ mode: 'gateway', url: 'https://gw.example.com' });
    expect(text('setup-hotkey')).toBe('Ctrl+Alt+D');

    type('setup-testcall-input', '600 123 456');
    await click('setup-testcall-submit');
    await waitFor(() => b.of('dial').length);
    expect(b.of('dial')[0]).toEqual({ text: '600 123 456', trigger: 'typed' });
    await emitEvent('call-progress', {
      id: 'c1', number: '600 123 456', destination: '600123456', state: 'agent_ringing',
      text: 'Your phone is ringing', can_hangup: true, final: false, outcome: null,
    });
    await waitFor(() => text('setup-testcall-status') === 'Your phone is ringing').catch((e) => { console.log(document.body.innerHTML); throw e; });

    await click('setup-finish');
    expect(b.of('finish_setup')).toHaveLength(1);
  });

  it('Asterisk: plain-language test failure, save problems next to the field', async () => {
    let attempts = 0;
    const b = fakeBackend({
      get_settings: () => ({ settings: { ...baseSettings(), extension: '' }, has_secret: false }),
      test_connection: () => ({ ok: false, kind: 'bad_credentials', message: 'Authentication failed' }),
      save_settings: () => {
        if (attempts++ === 0)
          throw { kind: 'invalid', message: 'Check the fields', problems: [{ field: 'connection.host', kind: 'required', message: 'Type the address of the PBX.' }] };
        return null;
      },
    });
    await stepOne();
    await click('setup-choice-ami');
    expect($('setup-ami-fields')).not.toBeNull();
    expect(get<HTMLInputElement>('setup-connection-port').value).toBe('5038');
    type('setup-connection-username', 'clickdial');
    type('setup-connection-secret', 's3cret');
    await click('setup-test');
    await waitFor(() => get('setup-test-result').dataset.kind === 'bad_credentials');
    expect(get('setup-test-result').classList.contains('err')).toBe(true);
    expect(text('setup-test-result')).toContain(en('ui.test.bad_credentials'));
    expect(text('setup-test-result')).toContain('Authentication failed');

    await click('setup-next-2');
    await waitFor(() => !get('setup-error-connection-host').hidden);
    expect(text('setup-error-connection-host')).toBe('Type the address of the PBX.');
    expect(get('setup-step').dataset.step).toBe('2');
    // Typed values survive the redraw.
    expect(get<HTMLInputElement>('setup-connection-username').value).toBe('clickdial');

    type('setup-connection-host', 'pbx.local');
    await click('setup-next-2');
    await waitFor(() => $('setup-step-3'));
    const saved = b.of('save_settings')[1] as { settings: Settings; secret: string };
    expect(saved.settings.connection).toMatchObject({ mode: 'ami', host: 'pbx.local', port: 5038, username: 'clickdial' });
    expect(saved.secret).toBe('s3cret');
  });

  it('a port that is not a number is caught before sending', async () => {
    const b = fakeBackend();
    await stepOne();
    await click('setup-choice-ami');
    type('setup-connection-port', 'abc');
    await click('setup-next-2');
    expect(text('setup-error-connection-port')).toBe(en('ui.conn.port_invalid'));
    expect(b.of('save_settings')).toHaveLength(0);
  });

  it('demo: starts the demo without a PBX', async () => {
    const demo = {
      mode: 'ami' as const,
      host: '127.0.0.1',
      port: 40001,
      username: 'clickdial',
      tls: false,
      channel: 'Local/{extension}@agents',
      context: 'extensiones-locales',
    };
    let started = false;
    const b = fakeBackend({
      start_demo: () => {
        started = true;
        return null;
      },
      // After start_demo the Rust side holds the demo's connection.
      get_settings: () => ({
        settings: started ? { ...defaultSettings(), connection: demo } : defaultSettings(),
        has_secret: started,
      }),
    });
    await stepOne();
    await click('setup-choice-demo');
    expect($('setup-demo-note')).not.toBeNull();
    expect($('setup-test')).toBeNull();
    await click('setup-next-2');
    await waitFor(() => $('setup-step-3'));
    expect(b.of('start_demo')).toHaveLength(1);
    const saved = (b.of('save_settings')[0] as { settings: Settings }).settings;
    expect(saved.extension).toBe('10');
    // The agent's choices on top of the demo's connection, not the empty one from before.
    expect(saved.connection).toEqual(demo);
    expect(b.calls.findIndex((c) => c.cmd === 'start_demo')).toBeLessThan(b.calls.findIndex((c) => c.cmd === 'save_settings'));
  });

  it('an extension problem from save brings the agent back to step 1', async () => {
    fakeBackend({
      save_settings: () => {
        throw { kind: 'invalid', message: 'x', problems: [{ field: 'extension', kind: 'invalid', message: 'An extension has only digits.' }] };
      },
    });
    await stepOne();
    await click('setup-choice-demo');
    await click('setup-next-2');
    await waitFor(() => $('setup-step-1'));
    expect(text('setup-error-extension')).toBe('An extension has only digits.');
  });

  it('switching the language redraws at once in that language', async () => {
    const b = fakeBackend();
    await open('#/setup');
    type('setup-extension', '12');
    choose('setup-language', 'es');
    await waitFor(() => text('setup-title') === ES['ui.setup.title']);
    expect(b.of('catalogue').at(-1)).toEqual({ language: 'es' });
    expect(get<HTMLInputElement>('setup-extension').value).toBe('12');
    expect(document.documentElement.lang).toBe('es');
    await click('setup-next-1');
    await click('setup-choice-demo');
    await click('setup-next-2');
    await waitFor(() => $('setup-step-3'));
    expect((b.of('save_settings')[0] as { settings: Settings }).settings.language).toBe('es');
  });
});

function baseSettings(): Settings {
  return {
    language: 'auto',
    extension: '',
    connection: { mode: 'gateway', url: '' },
    dial: { country: 'ES', outside_prefix: null, international_prefix: '00', trunk_prefix: null, internal_max_len: 4 },
    hotkey: 'Ctrl+Alt+D',
    hotkey_paused: false,
    clipboard_hotkey: '',
    selection: 'primary',
    autostart: true,
    notifications: true,
    preview_secs: 0,
  };
}
