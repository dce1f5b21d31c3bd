/** A refusal in a reply → the typed error that explains it. */

import { registerAt } from '../chip/decode.ts';
import type { ChipDescription } from '../chip/types.ts';
import { type Refusal, Status } from '../protocol/index.ts';
import {
  type BoardRefusedError,
  BusyError,
  DmaStartRefusedError,
  OutOfArenaError,
  PollTimeoutError,
  ProtocolMismatchError,
  RegisterNotAllowedError,
  ValueNotAllowedError,
} from './errors.ts';

export interface RefusalContext {
  chip: ChipDescription;
  arena: { base: number; size: number };
  /** The register or memory address the request was about. */
  address?: number;
  length?: number;
}

export function refusalToError(command: string, refusal: Refusal, ctx: RefusalContext): BoardRefusedError {
  const name = (address: number) => registerAt(ctx.chip, address)?.name;
  switch (refusal.status) {
    case Status.REG_NOT_ALLOWED:
      return new RegisterNotAllowedError(command, refusal.address, name(refusal.address));
    case Status.VALUE_NOT_ALLOWED:
      return new ValueNotAllowedError(command, refusal.address, name(refusal.address));
    case Status.OUT_OF_ARENA:
      return new OutOfArenaError(command, ctx.address ?? 0, ctx.length ?? 0, ctx.arena);
    case Status.DMA_START_REFUSED:
      return new DmaStartRefusedError(command, refusal.reason, ctx.address);
    case Status.BUSY: {
      const target =
        ctx.length !== undefined
          ? `${ctx.length} bytes at 0x${(ctx.address ?? 0).toString(16)}`
          : ctx.address !== undefined
            ? (name(ctx.address) ?? `0x${ctx.address.toString(16)}`)
            : 'the board';
      return new BusyError(command, target);
    }
    case Status.POLL_TIMEOUT:
      return new PollTimeoutError(command, ctx.address ?? 0, refusal.lastValue);
    default:
      return new ProtocolMismatchError(refusal.status, command);
  }
}
