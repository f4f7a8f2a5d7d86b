import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../src/api';
import { $, choose, click, close, defaultInfo, defaultSettings, emitEvent, en, ES, fakeBackend, get, open, text, tick, type, waitFor } from './helpers';

afterEach(close);

function stored(): Settings {
  return {
    ...defaultSettings(),
    extension: '10',
    connection: { mode: 'ami', host: 'pbx.local', port: 5038, username: 'clickdial', tls: true, channel: 'PJSIP/{extension}', context: 'agents' },
    dial: { country: 'ES', outside_prefix: '0', international_prefix: '00', trunk_prefix: null, internal_max_len: 4 },
    preview_secs: 3,
  };
}

const value = (id: string) => get<HTMLInputElement>(id).value;
const saved = (b: ReturnType<typeof fakeBackend>, i = 0) => b.of('save_settings')[i] as { settings: Settings; secret: string | null };

describe('#/settings', () => {
  it('shows the stored settings and never the secret', async () => {
    fakeBackend({ get_settings: () => ({ settings: stored(), has_secret: true }) });
    await open('#/settings');
    expect(value('settings-extension')).toBe('10');
    expect(get<HTMLInputElement>('settings-mode-ami').checked).toBe(true);
    expect(value('settings-connection-host')).toBe('pbx.local');
    expect(value('settings-connection-port')).toBe('5038');
    expect(get<HTMLInputElement>('settings-connection-tls').checked).toBe(true);
    expect(value('settings-connection-context')).toBe('agents');
    expect(value('settings-connection-secret')).toBe('');
    expect(get('settings-connection-secret').getAttribute('type')).toBe('password');
    expect(text('settings-secret-saved')).toBe(en('ui.conn.secret_saved'));
    expect(value('settings-dial-country')).toBe('ES');
    expect(value('settings-dial-outside_prefix')).toBe('0');
    expect(value('settings-dial-trunk_prefix')).toBe('');
    expect(value('settings-dial-internal_max_len')).toBe('4');
    expect(value('settings-hotkey')).toBe('Ctrl+Alt+D');
    expect(get<HTMLInputElement>('settings-autostart').checked).toBe(true);
    expect(value('settings-preview_secs')).toBe('3');
    expect(get('settings-section-startup').textContent).toContain(en('ui.settings.preview_secs_hint'));
    expect(get<HTMLSelectElement>('settings-language').value).toBe('auto');
  });

  it('round-trips: what is saved is what was shown plus the edits; the stored secret is kept', async () => {
    const b = fakeBackend({ get_settings: () => ({ settings: stored(), has_secret: true }) });
    await open('#/settings');
    await click('settings-save');
    await waitFor(() => text('settings-status') === en('ui.settings.saved'));
    expect(saved(b)).toEqual({ settings: stored(), secret: null });

    type('settings-extension', '11');
    type('settings-dial-country', 'pt');
    type('settings-dial-outside_prefix', '');
    type('settings-dial-trunk_prefix', '0');
    type('settings-hotkey', 'Ctrl+Shift+L');
    tick('settings-hotkey_paused', true);
    tick('settings-notifications', false);
    type('settings-preview_secs', '0');
    type('settings-connection-secret', 'new-secret');
    await click('settings-save');
    await waitFor(() => b.of('save_settings').length === 2);
    expect(saved(b, 1)).toEqual({
      settings: {
        ...stored(),
        extension: '11',
        dial: { country: 'PT', outside_prefix: null, international_prefix: '00', trunk_prefix: '0', internal_max_len: 4 },
        hotkey: 'Ctrl+Shift+L',
        hotkey_paused: true,
        notifications: false,
        preview_secs: 0,
      },
      secret: 'new-secret',
    });
    await waitFor(() => $('settings-secret-saved'));
    expect(value('settings-connection-secret')).toBe('');
  });

  it('keeps a change made elsewhere (the tray\'s Pause) under the agent\'s own edits', async () => {
    let current = stored();
    const b = fakeBackend({ get_settings: () => ({ settings: current, has_secret: true }) });
    await open('#/settings');
    type('settings-extension', '11');
    current = { ...stored(), hotkey_paused: true };
    await emitEvent('settings-changed', null);
    await waitFor(() => get<HTMLInputElement>('settings-hotkey_paused').checked);
    expect(value('settings-extension')).toBe('11');
    await click('settings-save');
    await waitFor(() => b.of('save_settings').length === 1);
    expect(saved(b).settings).toEqual({ ...stored(), extension: '11', hotkey_paused: true });
  });

  it('shows the problems save returns next to their fields', async () => {
    fakeBackend({
      get_settings: () => ({ settings: stored(), has_secret: true }),
      save_settings: () => {
        throw {
          kind: 'invalid',
          message: 'Some settings are not valid',
          problems: [
            { field: 'dial.country', kind: 'unknown_country', message: 'XX is not a country code.' },
            { field: 'connection.host', kind: 'required', message: 'Type the address of the PBX.' },
            { field: 'hotkey', kind: 'taken', message: 'Another program already uses this hotkey.' },
            { field: 'something.else', kind: 'x', message: 'A problem without a field on the page.' },
          ],
        };
      },
    });
    await open('#/settings');
    type('settings-dial-country', 'XX');
    await click('settings-save');
    await waitFor(() => text('settings-status') === en('ui.settings.check_fields'));
    expect(text('settings-error-dial-country')).toBe('XX is not a country code.');
    expect(get('settings-dial-country').getAttribute('aria-invalid')).toBe('true');
    expect(text('settings-error-connection-host')).toBe('Type the address of the PBX.');
    expect(text('settings-error-hotkey')).toBe('Another program already uses this hotkey.');
    expect(text('settings-problems')).toContain('A problem without a field on the page.');
    expect(get('settings-error-extension').hidden).toBe(true);
    expect(value('settings-dial-country')).toBe('XX'); // the draft survives
  });

  it('a plain error (no problems) shows its message in the status', async () => {
    fakeBackend({ save_settings: () => { throw { kind: 'keyring', message: 'The keyring is locked.' }; } });
    await open('#/settings');
    await click('settings-save');
    await waitFor(() => text('settings-status') === 'The keyring is locked.');
  });

  it('checks numbers before sending', async () => {
    const b = fakeBackend();
    await open('#/settings');
    type('settings-preview_secs', '45');
    type('settings-dial-internal_max_len', 'x');
    await click('settings-save');
    expect(text('settings-error-preview_secs')).toBe(en('ui.settings.preview_invalid'));
    expect(text('settings-error-dial-internal_max_len')).toBe(en('ui.settings.max_len_invalid'));
    expect(b.of('save_settings')).toHaveLength(0);
  });

  it('switches to the gateway: URL and token, the AMI secret is not "saved" for it', async () => {
    const b = fakeBackend({
      get_settings: () => ({ settings: stored(), has_secret: true }),
      test_connection: () => ({ ok: false, kind: 'unreachable', message: 'No route to host' }),
    });
    await open('#/settings');
    get<HTMLInputElement>('settings-mode-gateway').click();
    await waitFor(() => $('settings-connection-url'));
    expect($('settings-connection-host')).toBeNull();
    expect($('settings-secret-saved')).toBeNull();
    type('settings-connection-url', 'https://gw.example.com');
    type('settings-connection-token', 'tok');
    await click('settings-test');
    await waitFor(() => get('settings-test-result').dataset.kind === 'unreachable');
    expect(text('settings-test-result')).toContain(en('ui.test.unreachable'));
    expect(b.of('test_connection')[0]).toMatchObject({ settings: { connection: { mode: 'gateway', url: 'https://gw.example.com' } }, secret: 'tok' });
    await click('settings-save');
    await waitFor(() => b.of('save_settings').length);
    expect(saved(b)).toMatchObject({ settings: { connection: { mode: 'gateway', url: 'https://gw.example.com' } }, secret: 'tok' });
  });

  it('switching the language re-renders at once and keeps the edits', async () => {
    const b = fakeBackend();
    await open('#/settings');
    type('settings-extension', '42');
    choose('settings-language', 'es');
    await waitFor(() => document.title === ES['ui.settings.title']);
    expect(text('settings-save')).toBe(ES['ui.settings.save']);
    expect(value('settings-extension')).toBe('42');
    expect(get<HTMLSelectElement>('settings-language').value).toBe('es');
    await click('settings-save');
    await waitFor(() => b.of('save_settings').length);
    expect(saved(b).settings.language).toBe('es');
  });

  it('says what this desktop cannot do and when the demo is on', async () => {
    fakeBackend({ app_info: () => defaultInfo({ wayland: true, notifications_available: false, demo: true }) });
    await open('#/settings');
    expect($('settings-wayland-note')).not.toBeNull();
    expect($('settings-notifications-note')).not.toBeNull();
    expect($('settings-demo-note')).not.toBeNull();
  });

  it('offers how the selection is read where X11 has a selection, and saves the choice', async () => {
    const b = fakeBackend({ get_settings: () => ({ settings: stored(), has_secret: true }) });
    await open('#/settings');
    expect(get<HTMLSelectElement>('settings-selection').value).toBe('primary');
    const section = get('settings-section-hotkey').textContent ?? '';
    expect(section).toContain(en('ui.settings.selection'));
    expect(section).toContain(en('ui.settings.selection_hint'));
    expect(section).toContain("don't publish the X11 selection");
    choose('settings-selection', 'copy');
    await click('settings-save');
    await waitFor(() => b.of('save_settings').length);
    expect(saved(b)).toEqual({ settings: { ...stored(), selection: 'copy' }, secret: null });
    expect($('settings-error-selection')?.hidden).toBe(true);
  });

  it('has no selection choice where the selection can only be copied (Windows, macOS)', async () => {
    const b = fakeBackend({
      app_info: () => defaultInfo({ primary_selection: false }),
      get_settings: () => ({ settings: { ...stored(), selection: 'copy' }, has_secret: true }),
    });
    await open('#/settings');
    expect($('settings-selection')).toBeNull();
    await click('settings-save');
    await waitFor(() => b.of('save_settings').length);
    expect(saved(b).settings.selection).toBe('copy');
  });

  it('Cancel closes the window without saving', async () => {
    const b = fakeBackend();
    await open('#/settings');
    type('settings-extension', '99');
    await click('settings-cancel');
    expect(b.of('close_window')).toHaveLength(1);
    expect(b.of('save_settings')).toHaveLength(0);
  });
});
