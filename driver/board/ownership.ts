/**
 * Move semantics at run time. Rust's compiler refuses a use after a move;
 * here each owning object carries a token that records the call that moved
 * it, and every method checks it first, so a use after a move throws an error
 * naming that call.
 */

import { MovedError } from './buffer-errors.ts';

export class OwnerToken {
  #movedBy: string | undefined;
  readonly #what: string;
  readonly #hint: string;

  constructor(what: string, hint: string) {
    this.#what = what;
    this.#hint = hint;
    Object.freeze(this);
  }

  get isMoved(): boolean {
    return this.#movedBy !== undefined;
  }

  /** Throws `MovedError` if the owner was moved. */
  check(): void {
    if (this.#movedBy !== undefined) throw new MovedError(this.#what, this.#movedBy, this.#hint);
  }

  /** Marks the owner moved by `by` (e.g. `writeAll()`); throws if it already was. */
  move(by: string): void {
    this.check();
    this.#movedBy = by;
  }

  /**
   * Undoes a move whose operation was refused before it touched anything
   * (the board refused a DMA start): the owner is usable again.
   */
  restore(): void {
    this.#movedBy = undefined;
  }
}
