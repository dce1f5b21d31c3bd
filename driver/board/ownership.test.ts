/** Move semantics at run time: a moved owner refuses every use, naming the call that moved it. */
import { describe, expect, it } from 'vitest';
import { MovedError } from './buffer-errors.ts';
import { OwnerToken } from './ownership.ts';

describe('OwnerToken', () => {
  it('is usable until moved, then names the move in every refusal; restore() undoes a refused move', () => {
    const token = new OwnerToken('this Serial1', 'use the one the Transfer handed back');
    expect(token.isMoved).toBe(false);
    token.check();
    token.move('writeAll()');
    expect(token.isMoved).toBe(true);
    expect(() => token.check()).toThrow(MovedError);
    expect(() => token.check()).toThrow(
      'this Serial1 was moved by writeAll(); use the one the Transfer handed back',
    );
    expect(() => token.move('readExact()')).toThrow('this Serial1 was moved by writeAll()');
    token.restore();
    expect(token.isMoved).toBe(false);
    token.check();
    expect(Object.isFrozen(token)).toBe(true);
  });
});
