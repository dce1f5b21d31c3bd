/**
 * `dma-bridge regs`: a snapshot of what the bridge exposes, DMA1 channel 1
 * (or 2), its DMAMUX channel and USART1, decoded into the reference
 * manual's bit fields from the driver's chip description.
 */
import { z } from 'zod';
import type { Board } from '../../../driver/board/board.ts';
import { decodeRegister, registerAt } from '../../../driver/chip/decode.ts';
import type { ChipDescription, RegisterDescription } from '../../../driver/chip/types.ts';
import type { HelloInfo } from '../../../driver/protocol/messages.ts';
import { hex32 } from '../../../format/bytes.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { boardOptionSpecs, boardOptionsSchema } from '../options.ts';

export interface RegisterGroup {
  readonly title: string;
  readonly registers: readonly RegisterDescription[];
  /** Fields shown for a register; the DMA ISR holds every channel's flags, only this channel's matter. */
  readonly fieldFilter?: (register: RegisterDescription, offset: number) => boolean;
}

/** The registers `regs` shows for a channel. RDR is left out: reading it takes a received byte away. */
export function registerGroups(chip: ChipDescription, channel: number): RegisterGroup[] {
  const dma = chip.dma.channels.find((c) => c.channel === channel);
  if (!dma) throw new Error(`${chip.name} exposes no DMA1 channel ${channel}`);
  const usart = chip.usart1;
  return [
    {
      title: `DMA1 channel ${channel}`,
      registers: [chip.dma.isr, dma.ccr, dma.cndtr, dma.cpar, dma.cmar],
      fieldFilter: (register, offset) =>
        register !== chip.dma.isr || (offset >= dma.flagShift && offset < dma.flagShift + 4),
    },
    { title: `DMAMUX channel ${channel - 1}`, registers: [dma.mux] },
    { title: usart.name, registers: [usart.cr1, usart.cr2, usart.cr3, usart.brr, usart.isr, usart.presc] },
  ];
}

/** What an address register points at, in words: a named register, or the arena. */
function pointsAt(chip: ChipDescription, hello: HelloInfo, value: number): string | undefined {
  const register = registerAt(chip, value);
  if (register) return register.name;
  if (value >= hello.arenaBase && value < hello.arenaBase + hello.arenaSize) {
    return `arena + ${value - hello.arenaBase}`;
  }
  return undefined;
}

function fieldText(value: number, width: number): string {
  return width > 8 ? hex32(value).replace(/^0x0+(?=.)/, '0x') : String(value);
}

export const regsCommand = defineCommand({
  name: 'regs',
  summary: 'show DMA1 channel 1, DMAMUX channel 0 and USART1 registers decoded into bit fields',
  synopsis: '[--channel 1|2] [--all] [--port PATH|tcp://host:port] [--json]',
  details: [
    '--channel N   the DMA1 channel (and its DMAMUX channel) to show: 1 (default) or 2',
    '--all         list every field, not only those that are not zero',
  ],
  options: { ...boardOptionSpecs, channel: { type: 'string' }, all: { type: 'boolean' } },
  allowPositionals: false,
  schema: boardOptionsSchema.extend({
    channel: z.enum(['1', '2'], { message: 'expected 1 or 2' }).default('1').transform(Number),
    all: z.boolean().default(false),
  }),
  async run(args, io) {
    await withBoard(args, io, async (board, connection) => {
      const { chip, hello } = board;
      const groups = registerGroups(chip, args.channel);
      const values = await readRegisters(
        board,
        groups.flatMap((g) => g.registers),
      );
      if (args.json) {
        io.out(
          JSON.stringify({
            board: connection.description,
            chip: chip.name,
            registers: groups.flatMap((group) =>
              group.registers.map((register) => {
                const value = values.get(register) ?? 0;
                return {
                  name: register.name,
                  address: register.address,
                  value,
                  fields: Object.fromEntries(
                    decodeRegister(register, value)
                      .filter(
                        (field) => group.fieldFilter?.(register, fieldOffset(register, field.name)) ?? true,
                      )
                      .map((field) => [field.name, field.value]),
                  ),
                };
              }),
            ),
          }),
        );
        return;
      }
      for (const [i, group] of groups.entries()) {
        if (i > 0) io.out('');
        io.out(`${group.title}`);
        for (const register of group.registers) {
          const value = values.get(register) ?? 0;
          const target =
            register.fields.length === 1 && register.fields[0]?.width === 32
              ? pointsAt(chip, hello, value)
              : undefined;
          io.out(`  ${register.name.padEnd(14)} ${hex32(value)}${target ? `  → ${target}` : ''}`);
          const fields = decodeRegister(register, value).filter(
            (field) =>
              (group.fieldFilter?.(register, fieldOffset(register, field.name)) ?? true) &&
              (args.all || field.value !== 0) &&
              // A 32-bit address is the register's value itself: printing it twice says nothing.
              !(register.fields.length === 1 && fieldWidth(register, field.name) === 32),
          );
          for (const field of fields) {
            const width = fieldWidth(register, field.name);
            const meaning = field.meaning ? ` (${field.meaning})` : '';
            io.out(
              `    ${field.name.padEnd(10)} ${fieldText(field.value, width).padStart(6)}${meaning}  ${field.description}`,
            );
          }
        }
      }
    });
    return undefined;
  },
});

/** One REG_BATCH of reads: one round trip, and the values are one snapshot of the board. */
async function readRegisters(
  board: Board,
  registers: readonly RegisterDescription[],
): Promise<Map<RegisterDescription, number>> {
  const result = await board.raw.batch((batch) => {
    for (const register of registers) batch.read(register.address);
  });
  if (result.failure) throw result.failure.error;
  return new Map(registers.map((register, i) => [register, result.values[i] ?? 0]));
}

function fieldOffset(register: RegisterDescription, name: string): number {
  return register.fields.find((f) => f.name === name)?.offset ?? 0;
}

function fieldWidth(register: RegisterDescription, name: string): number {
  return register.fields.find((f) => f.name === name)?.width ?? 1;
}
