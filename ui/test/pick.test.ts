import { afterEach, describe, expect, it } from 'vitest';
import { $$, click, close, en, fakeBackend, flush, get, key, open, text, type, waitFor } from './helpers';

afterEach(close);

const PENDING = {
  text: 'Call Ana at +34 600 111 222 or the office 93 200 90 00',
  candidates: [
    { display: '+34 600 111 222', destination: '0034600111222' },
    { display: '93 200 90 00', destination: '932009000' },
    { display: '12', destination: '12' },
  ],
};

describe('#/pick', () => {
  it('shows the candidates and focuses the first', async () => {
    fakeBackend({ pending_pick: () => PENDING });
    await open('#/pick');
    const c = $$('pick-candidate');
    expect(c.map((e) => e.querySelector('.display')!.textContent)).toEqual(['+34 600 111 222', '93 200 90 00', '12']);
    expect(c[0].textContent).toContain(en('ui.pick.dials', { number: '0034600111222' }));
    expect(c[2].textContent).not.toContain(en('ui.pick.dials', { number: '12' }));
    expect(text('pick-text')).toBe(PENDING.text);
    await waitFor(() => document.activeElement === c[0]);
  });

  it('Enter dials the focused candidate (arrows move), then the window closes', async () => {
    const b = fakeBackend({ pending_pick: () => PENDING, dial: () => ({ id: 'c1' }) });
    await open('#/pick');
    await waitFor(() => document.activeElement === $$('pick-candidate')[0]);
    key('ArrowDown');
    key('ArrowDown');
    key('ArrowUp');
    expect(document.activeElement).toBe($$('pick-candidate')[1]);
    key('Enter');
    await waitFor(() => b.of('close_window').length);
    expect(b.of('dial')).toEqual([{ text: '93 200 90 00', trigger: 'pick' }]);
  });

  it('wraps around with the arrows and a digit picks directly', async () => {
    const b = fakeBackend({ pending_pick: () => PENDING, dial: () => ({ id: 'c1' }) });
    await open('#/pick');
    await waitFor(() => document.activeElement === $$('pick-candidate')[0]);
    key('ArrowUp');
    expect(document.activeElement).toBe($$('pick-candidate')[2]);
    key('1');
    await waitFor(() => b.of('dial').length);
    expect(b.of('dial')[0]).toEqual({ text: '+34 600 111 222', trigger: 'pick' });
  });

  it('Esc cancels without dialing', async () => {
    const b = fakeBackend({ pending_pick: () => PENDING });
    await open('#/pick');
    key('Escape');
    await flush();
    expect(b.of('close_window')).toHaveLength(1);
    expect(b.of('dial')).toHaveLength(0);
  });

  it('a dial error stays in the window', async () => {
    const b = fakeBackend({ pending_pick: () => PENDING, dial: () => { throw { kind: 'policy', message: 'Premium numbers are blocked.' }; } });
    await open('#/pick');
    await click('pick-candidate');
    await waitFor(() => text('pick-error') === 'Premium numbers are blocked.');
    expect(b.of('close_window')).toHaveLength(0);
  });

  it('no number found: says so and lets the agent type one', async () => {
    const b = fakeBackend({ pending_pick: () => ({ text: 'see you tomorrow', candidates: [] }), dial: () => ({ id: 'c2' }) });
    await open('#/pick');
    expect(text('pick-none')).toBe(en('ui.pick.none', { text: 'see you tomorrow' }));
    await waitFor(() => document.activeElement === get('pick-input'));
    type('pick-input', '600 222 333');
    get<HTMLFormElement>('pick-input').closest('form')!.requestSubmit();
    await waitFor(() => b.of('close_window').length);
    expect(b.of('dial')).toEqual([{ text: '600 222 333', trigger: 'typed' }]);
    key('Escape');
    await flush();
    expect(b.of('close_window')).toHaveLength(2);
  });
});
