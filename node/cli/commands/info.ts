/** `dma-bridge info`: what the board says about itself in its HELLO reply. */

import type { ChipDescription } from '../../../driver/chip/types.ts';
import { Capability, type HelloInfo } from '../../../driver/protocol/messages.ts';
import { hex, hex32, hexBytes } from '../../../format/bytes.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { table } from '../layout.ts';
import { boardOptionSpecs, boardOptionsSchema } from '../options.ts';

const CAPABILITY_NAMES: Record<keyof typeof Capability, string> = {
  DMA1_CH1_USART1: 'dma1-ch1-usart1',
  DMA1_CH2_FULL_DUPLEX: 'dma1-ch2-full-duplex',
  BATCH_POLL: 'batch-poll',
  EVENTS: 'events',
  SET_LINK_BAUD: 'set-link-baud',
  BOARD_STATUS: 'board-status',
};

export function capabilityNames(bits: number): string[] {
  const names = (Object.keys(Capability) as (keyof typeof Capability)[])
    .filter((key) => (bits & Capability[key]) !== 0)
    .map((key) => CAPABILITY_NAMES[key]);
  const known = Object.values(Capability).reduce((all, bit) => all | bit, 0);
  const unknown = bits & ~known;
  return unknown === 0 ? names : [...names, `unknown ${hex32(unknown)}`];
}

export function helloToJson(hello: HelloInfo, chip: ChipDescription) {
  const { major, minor, patch } = hello.firmwareVersion;
  return {
    protocolVersion: hello.protocolVersion,
    firmwareVersion: `${major}.${minor}.${patch}`,
    devId: hello.devId,
    device: deviceName(hello, chip) ?? null,
    revId: hello.revId,
    uid: Buffer.from(hello.uid).toString('hex'),
    arenaBase: hello.arenaBase,
    arenaSize: hello.arenaSize,
    maxRequestPayload: hello.maxRequestPayload,
    maxReplyPayload: hello.maxReplyPayload,
    window: hello.window,
    capabilities: capabilityNames(hello.capabilities),
    bootEpoch: hello.bootEpoch,
    usart1ClockHz: hello.usart1ClockHz,
    linkBaud: hello.linkBaud,
    bootLinkBaud: hello.bootLinkBaud ?? hello.linkBaud,
    linkRates: hello.linkRates,
    rxBuffer: hello.rxBuffer ?? null,
  };
}

export function helloLines(hello: HelloInfo, chip: ChipDescription, board: string): string[] {
  const { major, minor, patch } = hello.firmwareVersion;
  const device = deviceName(hello, chip) ?? 'unknown device';
  const arenaEnd = hello.arenaBase + hello.arenaSize - 1;
  return table([
    ['board', board],
    ['protocol', `v${hello.protocolVersion}`],
    ['firmware', `${major}.${minor}.${patch}`],
    ['device', `${device} (dev ${hex(hello.devId, 3)}, rev ${hex(hello.revId, 4)})`],
    ['unique id', hexBytes(hello.uid, '')],
    ['arena', `${hex32(hello.arenaBase)} .. ${hex32(arenaEnd)} (${hello.arenaSize} bytes)`],
    [
      'limits',
      `request ${hello.maxRequestPayload} B, reply ${hello.maxReplyPayload} B, window ${hello.window}`,
    ],
    ['capabilities', capabilityNames(hello.capabilities).join(', ') || 'none'],
    ['boot epoch', hex32(hello.bootEpoch)],
    ['usart1 clock', `${hello.usart1ClockHz} Hz`],
    ['link baud', linkBaudText(hello)],
    ...(hello.rxBuffer === undefined
      ? []
      : [['receive buffer', `${hello.rxBuffer} bytes`] as [string, string]]),
  ]);
}

/** The rate in use, the boot rate, and the rates SET_LINK_BAUD takes. */
function linkBaudText(hello: HelloInfo): string {
  const boot = hello.bootLinkBaud ?? hello.linkBaud;
  const offers = hello.linkRates.length > 0 ? `offers ${hello.linkRates.join(', ')}` : 'fixed rate';
  return `${hello.linkBaud} (boot ${boot}; ${offers})`;
}

/** The chip's name when HELLO's device ID is the one the description is for. */
function deviceName(hello: HelloInfo, chip: ChipDescription): string | undefined {
  return hello.devId === chip.devId ? chip.name : undefined;
}

export const infoCommand = defineCommand({
  name: 'info',
  summary: "open a session and show the board's HELLO: firmware, device, arena, limits",
  synopsis: '[--port PATH|tcp://host:port] [--json]',
  details: [],
  options: boardOptionSpecs,
  allowPositionals: false,
  schema: boardOptionsSchema,
  async run(args, io) {
    await withBoard(args, io, async (board, connection) => {
      const { hello, chip } = board;
      if (args.json) {
        io.out(
          JSON.stringify({
            board: connection.description,
            virtual: connection.virtual,
            ...helloToJson(hello, chip),
          }),
        );
      } else {
        for (const line of helloLines(hello, chip, connection.description)) io.out(line);
      }
    });
    return undefined;
  },
});
