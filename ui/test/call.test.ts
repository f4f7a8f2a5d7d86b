import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallStatus } from '../src/api';
import { CLOSE_AFTER_MS } from '../src/views/call';
import { $, click, close, emitEvent, en, fakeBackend, get, open, text, waitFor } from './helpers';

afterEach(() => {
  vi.useRealTimers();
  close();
});

const status = (over: Partial<CallStatus>): CallStatus => ({
  id: 'c1', number: '600 123 456', destination: '600123456', state: 'agent_ringing',
  text: 'Your phone is ringing…', can_hangup: true, final: false, outcome: null, ...over,
});

describe('#/call', () => {
  it('follows the call: number, localized state, Hang up while it can, closes 5 s after the end', async () => {
    const b = fakeBackend({ call_status: () => status({}) });
    await open('#/call');
    expect(text('call-number')).toBe('600 123 456');
    expect(text('call-state')).toBe('Your phone is ringing…');
    expect(get('call-state').dataset.state).toBe('agent_ringing');
    expect($('call-hangup')).not.toBeNull();

    await emitEvent('call-progress', status({ state: 'destination_ringing', text: 'Calling 600 123 456…' }));
    await waitFor(() => get('call-state').dataset.state === 'destination_ringing');
    expect(text('call-state')).toBe('Calling 600 123 456…');

    await emitEvent('call-progress', status({ state: 'connected', text: 'Connected' }));
    await waitFor(() => text('call-state') === 'Connected');
    await click('call-hangup');
    expect(b.of('hangup')).toHaveLength(1);
    expect(get<HTMLButtonElement>('call-hangup').disabled).toBe(true);

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await emitEvent('call-progress', status({ state: 'ended', text: 'Call ended (2:05)', can_hangup: false, final: true, outcome: 'answered' }));
    expect(text('call-state')).toBe('Call ended (2:05)');
    expect(get('call-state').dataset.final).toBe('true');
    expect($('call-hangup')).toBeNull();
    expect(text('call-closing')).toBe(en('ui.call.closing'));
    vi.advanceTimersByTime(CLOSE_AFTER_MS - 100);
    expect(b.of('close_window')).toHaveLength(0);
    vi.advanceTimersByTime(200);
    expect(b.of('close_window')).toHaveLength(1);
  });

  it('no Hang up when the call cannot be hung up (queued at the gateway)', async () => {
    fakeBackend({ call_status: () => status({ state: 'queued', text: 'Queued', can_hangup: false }) });
    await open('#/call');
    expect(text('call-state')).toBe('Queued');
    expect($('call-hangup')).toBeNull();
    expect($('call-close')).not.toBeNull();
  });

  it('a hang-up error is shown and the button comes back', async () => {
    fakeBackend({ call_status: () => status({}), hangup: () => { throw { kind: 'ami', message: 'Could not hang up.' }; } });
    await open('#/call');
    await click('call-hangup');
    await waitFor(() => $('call-error'));
    expect(text('call-error')).toBe('Could not hang up.');
    expect(get<HTMLButtonElement>('call-hangup').disabled).toBe(false);
  });

  it('a failed call shows its text and still closes itself', async () => {
    const b = fakeBackend({ call_status: () => null });
    await open('#/call');
    expect(get('call-state').dataset.state).toBe('none');
    await emitEvent('call-progress', status({ id: 'c2', state: 'ended', text: 'Busy', can_hangup: false, final: true, outcome: 'busy' }));
    await waitFor(() => text('call-state') === 'Busy');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    // a new call arriving before the window closed takes over and cancels the close
    await emitEvent('call-progress', status({ id: 'c3', text: 'Ringing again' }));
    await Promise.resolve();
    vi.advanceTimersByTime(CLOSE_AFTER_MS + 100);
    expect(b.of('close_window')).toHaveLength(0);
    expect(text('call-state')).toBe('Ringing again');
  });
});
