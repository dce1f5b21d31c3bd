/** Channel options read once at the API boundary: defaults, checks and their messages. */
import { describe, expect, it } from 'vitest';
import { freezeChannelOptions, optionsRecord, settleChannelOptions } from './channel-options.ts';

describe('optionsRecord()', () => {
  it('no options: undefined; an object: itself', () => {
    expect(optionsRecord(undefined, 'writeAll()')).toBeUndefined();
    const o = { dataSize: 8 };
    expect(optionsRecord(o, 'writeAll()')).toBe(o);
  });

  it('anything else is a TypeError naming the call and what came', () => {
    expect(() => optionsRecord(null, 'writeAll()')).toThrow(
      new TypeError('writeAll() takes an options object; got null'),
    );
    expect(() => optionsRecord(8, 'readExact()')).toThrow(
      new TypeError('readExact() takes an options object; got number'),
    );
    expect(() => optionsRecord('fast', 'readExact()')).toThrow(
      new TypeError('readExact() takes an options object; got string'),
    );
  });
});

describe('settleChannelOptions()', () => {
  it('defaults to 8-bit items at medium priority, frozen', () => {
    const s = settleChannelOptions(undefined, 'writeAll()');
    expect(s).toEqual({ dataSize: 8, priority: 'medium' });
    expect(Object.isFrozen(s)).toBe(true);
    expect(settleChannelOptions({}, 'writeAll()')).toEqual({ dataSize: 8, priority: 'medium' });
  });

  it('keeps every valid value', () => {
    for (const dataSize of [8, 16, 32] as const) {
      for (const priority of ['low', 'medium', 'high', 'very-high'] as const) {
        expect(settleChannelOptions({ dataSize, priority }, 'x')).toEqual({ dataSize, priority });
      }
    }
  });

  it('reads each option once', () => {
    const reads: string[] = [];
    const o = {
      get dataSize() {
        reads.push('dataSize');
        return 16;
      },
      get priority() {
        reads.push('priority');
        return 'high';
      },
    };
    expect(settleChannelOptions(o, 'x')).toEqual({ dataSize: 16, priority: 'high' });
    expect(reads).toEqual(['dataSize', 'priority']);
  });

  it('refuses a data size or priority the channel does not have, naming the call', () => {
    expect(() => settleChannelOptions({ dataSize: 12 }, 'writeAll()')).toThrow(
      new RangeError('writeAll(): dataSize is 8, 16 or 32; got 12'),
    );
    expect(() => settleChannelOptions({ dataSize: '8' }, 'writeAll()')).toThrow(RangeError);
    expect(() => settleChannelOptions({ priority: 'urgent' }, 'readExact()')).toThrow(
      new RangeError("readExact(): priority is 'low', 'medium', 'high' or 'very-high'; got urgent"),
    );
    expect(() => settleChannelOptions(null, 'readExact()')).toThrow(TypeError);
  });
});

describe('freezeChannelOptions()', () => {
  it('checks values already read', () => {
    expect(freezeChannelOptions(32, 'low', 'streamWriter()')).toEqual({ dataSize: 32, priority: 'low' });
    expect(() => freezeChannelOptions(64, 'low', 'streamWriter()')).toThrow(
      'streamWriter(): dataSize is 8, 16 or 32; got 64',
    );
    expect(() => freezeChannelOptions(8, undefined, 'streamWriter()')).toThrow(
      "streamWriter(): priority is 'low', 'medium', 'high' or 'very-high'; got undefined",
    );
  });
});
