/**
 * Revocation by generation: every handle records the generation it was
 * issued in; a board reset starts a new generation, and a handle from an
 * older one throws `RevokedError` when used. O(1) per check and nothing to
 * walk at reset time, so layers above (buffers, transfers, channels) only
 * need to call `check` before they touch the board.
 */

import type { DeviceResetError } from '../link/errors.ts';
import { RevokedError } from './errors.ts';

export interface Handle {
  readonly what: string;
  readonly generation: number;
  readonly epoch: number | undefined;
}

export type RevokeListener = (reset: DeviceResetError, generation: number) => void;

export class HandleRegistry {
  #current = 0;
  #epochValue: number | undefined;
  readonly #resets = new Map<number, DeviceResetError>();
  readonly #listeners = new Set<RevokeListener>();

  constructor(epoch?: number) {
    this.#epochValue = epoch;
    // The generation decides which handles are void: private, and the registry frozen.
    Object.freeze(this);
  }

  get generation(): number {
    return this.#current;
  }

  get epoch(): number | undefined {
    return this.#epochValue;
  }

  issue(what: string): Handle {
    return Object.freeze({ what, generation: this.#current, epoch: this.#epochValue });
  }

  isValid(handle: Handle): boolean {
    return handle.generation === this.#current;
  }

  /** Throws RevokedError if a reset happened since `handle` was issued. */
  check(handle: Handle): void {
    if (handle.generation === this.#current) return;
    // The reset that ended the handle's generation explains why.
    const reset = this.#resets.get(handle.generation + 1)!;
    throw new RevokedError(handle.what, reset);
  }

  /** The reset that ended `generation`, if one did. */
  resetAfter(generation: number): DeviceResetError | undefined {
    return this.#resets.get(generation + 1);
  }

  /** A reset happened: everything issued so far is void. */
  revokeAll(reset: DeviceResetError): void {
    this.#current++;
    this.#resets.set(this.#current, reset);
    if (reset.bootEpoch !== undefined) this.#epochValue = reset.bootEpoch;
    for (const l of [...this.#listeners]) {
      try {
        l(reset, this.#current);
      } catch {
        // One listener's bug must not stop the others from learning of the reset.
      }
    }
  }

  onRevoke(listener: RevokeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
