/**
 * Reads a set of registers in one REG_BATCH, so the values are one
 * snapshot of the board (and one round trip). Registers whose read has a
 * side effect (USART_RDR consumes a byte) or that cannot be read are left
 * out by the caller.
 */

import type { RegisterDescription } from '../../driver/chip/types.ts';
import type { Link } from '../../driver/link/link.ts';
import { STATUS_DESCRIPTIONS, Status, statusName } from '../../driver/protocol/messages.ts';
import { hex32 } from './format.ts';

export class RegisterReadError extends Error {
  override name = 'RegisterReadError';
}

export async function readRegisters(
  link: Link,
  registers: readonly RegisterDescription[],
): Promise<Map<RegisterDescription, number>> {
  const reply = await link.request({
    command: 'reg-batch',
    ops: registers.map((register) => ({ op: 'read', address: register.address })),
  });
  const { result } = reply;
  if (result.status !== Status.OK) {
    const failed = registers[reply.executed];
    const where = failed ? ` ${failed.name} (${hex32(failed.address)})` : '';
    const why = STATUS_DESCRIPTIONS[result.status] ?? 'unknown refusal';
    throw new RegisterReadError(`the board refused to read${where}: ${statusName(result.status)}, ${why}`);
  }
  return new Map(registers.map((register, i) => [register, reply.values[i] ?? 0]));
}
