import { afterEach, describe, expect, it } from 'vitest';
import { close, en, fakeBackend, flush, get, key, open, text, type, waitFor } from './helpers';

afterEach(close);

describe('#/dial', () => {
  it('previews what will be dialed, dials the typed number, closes afterwards', async () => {
    const b = fakeBackend({
      candidates: (a) => ({ text: a.text, candidates: String(a.text).includes('600') ? [{ display: String(a.text), destination: '600123456' }] : [] }),
      dial: () => ({ id: 'c1' }),
    });
    await open('#/dial');
    await waitFor(() => document.activeElement === get('dial-input'));
    type('dial-input', 'hello');
    await waitFor(() => text('dial-preview') === en('ui.dial.preview_none'));
    type('dial-input', '600 123 456');
    await waitFor(() => text('dial-preview') === en('ui.dial.preview_one', { number: '600123456' }));
    get('dial-submit').click();
    await waitFor(() => b.of('dial').length);
    expect(b.of('dial')[0]).toEqual({ text: '600 123 456', trigger: 'typed' });
    expect(text('dial-status')).toBe(en('ui.dial.calling', { number: '600 123 456' }));
    await waitFor(() => b.of('close_window').length, 3000);
  });

  it('an empty box says so; a dial error stays visible; Esc closes', async () => {
    const b = fakeBackend({ dial: () => { throw { kind: 'invalid_number', message: 'That is not a phone number.' }; } });
    await open('#/dial');
    get('dial-submit').click();
    await flush();
    expect(text('dial-status')).toBe(en('ui.dial.empty'));
    expect(b.of('dial')).toHaveLength(0);
    type('dial-input', 'abc');
    get('dial-submit').click();
    await waitFor(() => text('dial-status') === 'That is not a phone number.');
    expect(get('dial-status').classList.contains('err')).toBe(true);
    key('Escape');
    await flush();
    expect(b.of('close_window')).toHaveLength(1);
  });

  it('an unknown route falls back to the dial box', async () => {
    fakeBackend();
    await open('#/nowhere');
    expect(document.body.dataset.route).toBe('dial');
  });
});
