import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../src/api';
import { duration } from '../src/views/history';
import { $, $$, click, close, emitEvent, en, fakeBackend, get, open, text, type, waitFor } from './helpers';

afterEach(close);

const NOW = Math.floor(Date.now() / 1000);
const ENTRIES: HistoryEntry[] = [
  { id: 3, started_at: NOW - 60, number: '600 123 456', destination: '600123456', trigger: 'hotkey', outcome: { kind: 'answered' }, talk_secs: 125 },
  { id: 2, started_at: NOW - 3600 * 30, number: '+34 93 200 90 00', destination: '0034932009000', trigger: 'pick', outcome: { kind: 'busy', text: 'Busy line' }, talk_secs: null },
  { id: 1, started_at: NOW - 3600 * 50, number: '12', destination: '12', trigger: 'typed', outcome: null, talk_secs: null },
];

function backend() {
  let entries = [...ENTRIES];
  return fakeBackend({
    history: (a) => entries.filter((e) => e.number.replace(/\s/g, '').includes(String(a.query).replace(/\s/g, ''))).slice(0, Number(a.limit)),
    redial: () => ({ id: 'c9' }),
    clear_history: () => {
      entries = [];
      return null;
    },
  });
}

const rows = () => $$('history-row');

describe('#/history', () => {
  it('lists calls with local time, number, outcome and talk time', async () => {
    const b = backend();
    await open('#/history');
    expect(b.of('history')[0]).toEqual({ query: '', limit: 200 });
    expect(rows()).toHaveLength(3);
    const [first, second, third] = rows();
    const q = (row: HTMLElement, id: string) => row.querySelector(`[data-testid="${id}"]`)!.textContent;
    expect(first.dataset.id).toBe('3');
    expect(q(first, 'history-number')).toBe('600 123 456');
    expect(q(first, 'history-outcome')).toBe(en('ui.outcome.answered'));
    expect(q(first, 'history-duration')).toBe('2:05');
    expect(q(first, 'history-time')).toMatch(/\d/);
    expect(q(second, 'history-outcome')).toBe('Busy line'); // the backend's text wins
    expect(q(second, 'history-duration')).toBe('—');
    expect(q(third, 'history-outcome')).toBe(en('ui.outcome.in_progress'));
    expect(duration(3725)).toBe('1:02:05');
  });

  it('filters as you type and keeps the focus in the search box', async () => {
    const b = backend();
    await open('#/history');
    type('history-search', '9320');
    await waitFor(() => rows().length === 1);
    expect(b.of('history').at(-1)).toEqual({ query: '9320', limit: 200 });
    expect(document.activeElement).toBe(get('history-search'));
    type('history-search', '777');
    await waitFor(() => $('history-empty'));
    expect(text('history-empty')).toBe(en('ui.history.no_match', { query: '777' }));
    type('history-search', '');
    await waitFor(() => rows().length === 3);
  });

  it('redials an entry by its id', async () => {
    const b = backend();
    await open('#/history');
    (rows()[1].querySelector('[data-testid="history-redial"]') as HTMLButtonElement).click();
    await waitFor(() => b.of('redial').length);
    expect(b.of('redial')[0]).toEqual({ id: 2 });
    expect(text('history-status')).toBe(en('ui.dial.calling', { number: '+34 93 200 90 00' }));
  });

  it('shows a redial error in plain words', async () => {
    fakeBackend({ history: () => ENTRIES, redial: () => { throw { kind: 'not_connected', message: 'The phone system is not reachable.' }; } });
    await open('#/history');
    (rows()[0].querySelector('[data-testid="history-redial"]') as HTMLButtonElement).click();
    await waitFor(() => text('history-status') === 'The phone system is not reachable.');
  });

  it('clears only after the confirm step', async () => {
    const b = backend();
    await open('#/history');
    await click('history-clear');
    expect(text('history-confirm-text')).toBe(en('ui.history.clear_confirm'));
    await click('history-clear-cancel');
    expect(b.of('clear_history')).toHaveLength(0);
    expect(rows()).toHaveLength(3);

    await click('history-clear');
    await click('history-clear-confirm');
    await waitFor(() => $('history-empty'));
    expect(b.of('clear_history')).toHaveLength(1);
    expect(text('history-empty')).toBe(en('ui.history.empty'));
    expect(text('history-status')).toBe(en('ui.history.cleared'));
    expect(get<HTMLButtonElement>('history-clear').disabled).toBe(true);
  });

  it('refreshes when a call ends', async () => {
    const b = backend();
    await open('#/history');
    const before = b.of('history').length;
    await emitEvent('call-progress', { id: 'x', number: '1', destination: '1', state: 'ended', text: 'Ended', can_hangup: false, final: true, outcome: 'answered' });
    await waitFor(() => b.of('history').length > before);
  });
});
