// "Check this computer": #/settings' section and the optional last block of the setup's step 3.
import { afterEach, describe, expect, it } from 'vitest';
import type { Check } from '../src/api';
import { $, $$, click, close, defaultInfo, defaultSettings, en, EN, ES, fakeBackend, get, open, text, type, waitFor } from './helpers';

afterEach(close);

const CHECKS: Check[] = [
  { id: 'handler', ok: false, message: 'tel: links open another app.', fix: 'register_handler' },
  { id: 'hotkey', ok: false, message: 'Ctrl+Alt+D is taken by another app. Pick another one.', fix: 'edit_hotkey' },
  { id: 'keyring', ok: true, message: 'The keyring works.', fix: null },
  { id: 'connection', ok: false, message: 'The PBX refused the login.', fix: 'test_connection' },
];

const stored = () => ({
  settings: {
    ...defaultSettings(),
    extension: '10',
    connection: { mode: 'ami' as const, host: 'pbx.local', port: 5038, username: 'clickdial', tls: false, channel: 'PJSIP/{extension}', context: 'from-internal' },
  },
  has_secret: true,
});

describe('#/settings — Check this computer', () => {
  it('runs the checks when the view opens and shows each as ok or a problem, in words', async () => {
    const b = fakeBackend({ get_settings: stored, self_check: () => ({ checks: CHECKS }) });
    await open('#/settings');
    await waitFor(() => $('settings-check-handler'));
    // Once per view shown (happy-dom fires a hashchange on open(), so the harness may build the view twice).
    expect(b.of('self_check')).toHaveLength(b.of('get_settings').length);
    expect(get('settings-section-check').textContent).toContain(en('ui.check.title'));

    const rows = CHECKS.map((c) => get(`settings-check-${c.id}`));
    expect(rows.map((r) => r.dataset.ok)).toEqual(['false', 'false', 'true', 'false']);
    expect(rows[0].textContent).toContain(en('ui.check.handler'));
    expect(rows[0].textContent).toContain('tel: links open another app.');
    expect(rows[0].textContent).toContain(en('ui.check.problem'));
    expect(rows[1].textContent).toContain(en('ui.check.hotkey'));
    expect(rows[2].textContent).toContain(en('ui.check.keyring'));
    expect(rows[2].textContent).toContain(en('ui.check.ok'));
    expect(rows[2].textContent).not.toContain(en('ui.check.problem'));
    expect(rows[3].textContent).toContain(en('ui.check.connection'));
    // The icon is decoration; the state is said in text.
    expect(rows[2].querySelector('.check-icon')?.getAttribute('aria-hidden')).toBe('true');

    expect(text('settings-check-fix-handler')).toBe(en('ui.check.fix_register_handler'));
    expect(text('settings-check-fix-hotkey')).toBe(en('ui.check.fix_edit_hotkey'));
    expect(text('settings-check-fix-connection')).toBe(en('ui.check.fix_test_connection'));
    expect($('settings-check-fix-keyring')).toBeNull();

    // Run checks again: "Checking…" meanwhile, then the new findings.
    let release!: () => void;
    b.handlers.self_check = () =>
      new Promise((r) => (release = () => r({ checks: CHECKS.map((c) => ({ ...c, ok: true, fix: null })) })));
    await click('settings-check-run');
    expect(text('settings-check-status')).toBe(en('ui.check.running'));
    expect(get<HTMLButtonElement>('settings-check-run').disabled).toBe(true);
    release();
    await waitFor(() => get('settings-check-handler').dataset.ok === 'true');
    expect(text('settings-check-status')).toBe('');
    expect($$('settings-check-list')[0].querySelectorAll('[data-ok="false"]')).toHaveLength(0);
    expect($('settings-check-fix-handler')).toBeNull();
  });

  it('register_handler: calls it, shows its message and runs the checks again', async () => {
    let registered = false;
    const b = fakeBackend({
      get_settings: stored,
      self_check: () => ({ checks: CHECKS.map((c) => (c.id === 'handler' && registered ? { ...c, ok: true, fix: null, message: 'clickdial opens tel: links.' } : c)) }),
      register_handler: () => {
        registered = true;
        return { ok: true, message: 'clickdial now opens tel:, callto: and sip: links.' };
      },
    });
    await open('#/settings');
    await waitFor(() => $('settings-check-fix-handler'));
    await click('settings-check-fix-handler');
    await waitFor(() => get('settings-check-handler').dataset.ok === 'true');
    const opened = b.of('get_settings').length;
    expect(b.of('register_handler')).toHaveLength(1);
    expect(b.of('self_check')).toHaveLength(opened + 1);
    expect(text('settings-check-message')).toBe('clickdial now opens tel:, callto: and sip: links.');
    expect(get('settings-check-message').dataset.ok).toBe('true');
    expect(get('settings-check-handler').textContent).toContain('clickdial opens tel: links.');
    expect($('settings-check-fix-handler')).toBeNull();
  });

  it('register_handler failing: its error is shown and the checks still run again', async () => {
    const b = fakeBackend({
      get_settings: stored,
      self_check: () => ({ checks: CHECKS }),
      register_handler: () => {
        throw { kind: 'io', message: 'xdg-mime is not installed' };
      },
    });
    await open('#/settings');
    await waitFor(() => $('settings-check-fix-handler'));
    await click('settings-check-fix-handler');
    await waitFor(() => b.of('self_check').length === b.of('get_settings').length + 1 && !get<HTMLButtonElement>('settings-check-run').disabled);
    expect(text('settings-check-message')).toBe('xdg-mime is not installed');
    expect(get('settings-check-message').dataset.ok).toBe('false');
  });

  it('edit_hotkey: focuses the hotkey field', async () => {
    const b = fakeBackend({ get_settings: stored, self_check: () => ({ checks: CHECKS }) });
    await open('#/settings');
    await waitFor(() => $('settings-check-fix-hotkey'));
    await click('settings-check-fix-hotkey');
    expect(document.activeElement).toBe(get('settings-hotkey'));
    expect(b.of('save_settings')).toHaveLength(0);
  });

  it('test_connection: runs the Test connection of the connection section', async () => {
    const b = fakeBackend({
      get_settings: stored,
      self_check: () => ({ checks: CHECKS }),
      test_connection: () => ({ ok: false, kind: 'bad_credentials', message: 'Authentication failed' }),
    });
    await open('#/settings');
    await waitFor(() => $('settings-check-fix-connection'));
    type('settings-connection-host', 'pbx2.local'); // the draft is what gets tested
    await click('settings-check-fix-connection');
    await waitFor(() => get('settings-test-result').dataset.kind === 'bad_credentials');
    expect(b.of('test_connection')).toEqual([
      { settings: expect.objectContaining({ connection: expect.objectContaining({ host: 'pbx2.local' }) }), secret: null },
    ]);
    expect(text('settings-test-result')).toContain(en('ui.test.bad_credentials'));
    // The rest of the check list is still there.
    expect(get('settings-check-connection').dataset.ok).toBe('false');
  });

  it('an error from self_check stays in the section; the rest of settings works', async () => {
    const b = fakeBackend({
      get_settings: stored,
      self_check: () => {
        throw { kind: 'internal', message: 'D-Bus is not available' };
      },
    });
    await open('#/settings');
    await waitFor(() => $('settings-check-error'));
    expect(text('settings-check-error')).toBe(en('ui.check.failed', { message: 'D-Bus is not available' }));
    expect(get('settings-section-check').contains(get('settings-check-error'))).toBe(true);
    expect($('settings-check-list')).toBeNull();
    expect($('app-error')).toBeNull();
    expect(get<HTMLInputElement>('settings-extension').value).toBe('10');

    type('settings-extension', '11');
    await click('settings-save');
    await waitFor(() => text('settings-status') === en('ui.settings.saved'));
    expect((b.of('save_settings')[0].settings as { extension: string }).extension).toBe('11');

    // Trying again after the cause went away shows the findings and drops the error.
    b.handlers.self_check = () => ({ checks: CHECKS });
    await click('settings-check-run');
    await waitFor(() => $('settings-check-keyring'));
    expect($('settings-check-error')).toBeNull();
  });

  it('speaks Spanish', async () => {
    fakeBackend({
      app_info: () => defaultInfo({ language: 'es' }),
      catalogue: () => ES,
      get_settings: stored,
      self_check: () => ({ checks: CHECKS }),
    });
    await open('#/settings');
    await waitFor(() => $('settings-check-handler'));
    expect(get('settings-section-check').textContent).toContain('Comprobar este equipo');
    expect(get('settings-check-connection').textContent).toContain('Conexión con la centralita');
    expect(get('settings-check-keyring').textContent).toContain(ES['ui.check.ok']);
  });
});

describe('Wayland note', () => {
  it('settings names the desktop-shortcut commands and tel: links', async () => {
    fakeBackend({ app_info: () => defaultInfo({ wayland: true }), self_check: () => ({ checks: [] }) });
    await open('#/settings');
    const note = get('settings-wayland-note');
    const codes = [...note.querySelectorAll('code')].map((c) => c.textContent);
    expect(codes).toEqual(['clickdial dial --selection', 'clickdial dial --clipboard']);
    expect(note.textContent).toContain('tel:');
    expect(note.textContent).not.toMatch(/\{\w+\}/);
  });

  it('setup step 3 names them too, in Spanish as well', async () => {
    for (const lang of ['en', 'es'] as const) {
      fakeBackend({
        app_info: () => defaultInfo({ wayland: true, language: lang }),
        catalogue: () => (lang === 'es' ? ES : EN),
      });
      await open('#/setup');
      type('setup-extension', '10');
      await click('setup-next-1');
      await click('setup-choice-demo');
      await click('setup-next-2');
      await waitFor(() => $('setup-step-3'));
      const note = get('setup-wayland-note');
      expect([...note.querySelectorAll('code')].map((c) => c.textContent)).toEqual([
        'clickdial dial --selection',
        'clickdial dial --clipboard',
      ]);
      expect(note.textContent).toContain('tel:');
      expect($('setup-hotkey')).toBeNull();
      close();
    }
  });
});

describe('#/setup step 3 — Check this computer', () => {
  async function toStep3(): Promise<void> {
    await open('#/setup');
    type('setup-extension', '10');
    await click('setup-next-1');
    await click('setup-choice-ami');
    type('setup-connection-host', 'pbx.local');
    type('setup-connection-username', 'clickdial');
    type('setup-connection-secret', 's3cret');
    await click('setup-next-2');
    await waitFor(() => $('setup-step-3'));
  }

  it('is an optional block that runs once on arrival; register_handler fixes, Finish still works', async () => {
    let registered = false;
    const b = fakeBackend({
      self_check: () => ({ checks: CHECKS.map((c) => (c.id === 'handler' && registered ? { ...c, ok: true, fix: null } : c)) }),
      register_handler: () => {
        registered = true;
        return { ok: true, message: 'Done.' };
      },
    });
    await toStep3();
    await waitFor(() => $('setup-check-handler'));
    expect(b.of('self_check')).toHaveLength(1);
    expect(get('setup-check').textContent).toContain(en('ui.setup.check_hint'));
    expect(get('setup-check-keyring').dataset.ok).toBe('true');
    expect(get('setup-check-hotkey').dataset.ok).toBe('false');
    // No hotkey field in setup: the message says what to do, no button.
    expect($('setup-check-fix-hotkey')).toBeNull();

    await click('setup-check-fix-handler');
    await waitFor(() => get('setup-check-handler').dataset.ok === 'true');
    expect(b.of('register_handler')).toHaveLength(1);
    expect(text('setup-check-message')).toBe('Done.');

    await click('setup-check-run');
    await waitFor(() => b.of('self_check').length === 3);
    await click('setup-finish');
    expect(b.of('finish_setup')).toHaveLength(1);
  });

  it('test_connection goes back to the connection step and tests it there', async () => {
    const b = fakeBackend({
      self_check: () => ({ checks: CHECKS }),
      test_connection: () => ({ ok: false, kind: 'refused', message: 'Connection refused' }),
    });
    await toStep3();
    await waitFor(() => $('setup-check-fix-connection'));
    await click('setup-check-fix-connection');
    await waitFor(() => $('setup-step-2') && get('setup-test-result').dataset.kind === 'refused');
    expect(b.of('test_connection')).toHaveLength(1);
    expect(b.of('test_connection')[0]).toEqual({
      settings: expect.objectContaining({ connection: expect.objectContaining({ host: 'pbx.local' }) }),
      secret: 's3cret',
    });
  });

  it('an error from self_check stays in the block', async () => {
    fakeBackend({
      self_check: () => {
        throw { kind: 'internal', message: 'boom' };
      },
    });
    await toStep3();
    await waitFor(() => $('setup-check-error'));
    expect(text('setup-check-error')).toBe(en('ui.check.failed', { message: 'boom' }));
    expect($('setup-error')).toBeNull();
    expect(get<HTMLButtonElement>('setup-finish').disabled).toBe(false);
  });
});

