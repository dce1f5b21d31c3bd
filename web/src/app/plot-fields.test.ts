import { describe, expect, it } from 'vitest';
import { LineFields, parseFields, type Sample } from './plot-fields.ts';

const asObject = (s: Sample) => Object.fromEntries(s);

describe('plotter fields', () => {
  it('reads named fields', () => {
    expect(asObject(parseFields('temp=23.5 adc=1234'))).toEqual({ temp: 23.5, adc: 1234 });
    expect(asObject(parseFields('temp: -1.5e2, v:3'))).toEqual({ temp: -150, v: 3 });
  });

  it('reads columns of numbers by position, and nothing from prose', () => {
    expect(asObject(parseFields('1.5, 2,-3'))).toEqual({ '1': 1.5, '2': 2, '3': -3 });
    expect(asObject(parseFields('10 20\t30'))).toEqual({ '1': 10, '2': 20, '3': 30 });
    expect(parseFields('hello 12 world').size).toBe(0);
    expect(parseFields('').size).toBe(0);
  });

  it('splits a stream into lines across chunks', () => {
    const seen: Record<string, number>[] = [];
    const fields = new LineFields((s) => seen.push(asObject(s)));
    fields.push(new TextEncoder().encode('temp=2'));
    fields.push(new TextEncoder().encode('1\r\ntemp=22\nboot ok\n1,2\r'));
    expect(seen).toEqual([{ temp: 21 }, { temp: 22 }, { '1': 1, '2': 2 }]);
  });
});
