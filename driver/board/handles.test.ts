import { describe, expect, it } from 'vitest';
import { DeviceResetError } from '../link/errors.ts';
import { RevokedError } from './errors.ts';
import { HandleRegistry } from './handles.ts';

describe('HandleRegistry: revocation by generation', () => {
  it('issues handles of the current generation and epoch, valid until the next revocation', () => {
    const r = new HandleRegistry(0x1234);
    expect(r.epoch).toBe(0x1234);
    expect(r.generation).toBe(0);
    const h = r.issue('this DmaBuffer');
    expect(h).toEqual({ what: 'this DmaBuffer', generation: 0, epoch: 0x1234 });
    expect(r.isValid(h)).toBe(true);
    expect(() => r.check(h)).not.toThrow();
    const reset = new DeviceResetError(0x1234, 0x5678, 'hello-epoch');
    r.revokeAll(reset);
    expect(r.generation).toBe(1);
    expect(r.epoch).toBe(0x5678);
    expect(r.isValid(h)).toBe(false);
    expect(r.resetAfter(0)).toBe(reset);
    expect(r.resetAfter(1)).toBeUndefined();
    const error = (() => {
      try {
        r.check(h);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RevokedError);
    expect((error as RevokedError).message).toContain('this DmaBuffer');
    expect(r.issue('x')).toEqual({ what: 'x', generation: 1, epoch: 0x5678 });
  });

  it('keeps the epoch when the revocation does not know a new one (recover(), a new session)', () => {
    const r = new HandleRegistry(7);
    r.revokeAll(new DeviceResetError(7, undefined, 'recover'));
    expect(r.epoch).toBe(7);
    expect(new HandleRegistry().epoch).toBeUndefined();
  });

  it('tells every listener, even when one throws, until it unsubscribes', () => {
    const r = new HandleRegistry(1);
    const heard: number[] = [];
    r.onRevoke(() => {
      throw new Error('a listener bug');
    });
    const off = r.onRevoke((_reset, generation) => heard.push(generation));
    r.revokeAll(new DeviceResetError(1, 2, 'boot-event'));
    expect(heard).toEqual([1]);
    off();
    r.revokeAll(new DeviceResetError(2, 3, 'boot-event'));
    expect(heard).toEqual([1]);
  });
});
