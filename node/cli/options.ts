/**
 * Reusable zod pieces for option values, which parseArgs hands over as
 * strings: each says, in its message, what a valid value looks like.
 */
import { z } from 'zod';
import { HexInputError, parseHex } from '../../format/bytes.ts';
import { isTcpSpec } from '../transport/open-transport.ts';
import { parseTcpAddress } from '../transport/tcp-transport.ts';

export function wholeNumber(min: number, max: number, what = 'a whole number') {
  return z
    .string()
    .regex(/^\d+$/, `expected ${what} from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected ${what} from ${min} to ${max}`);
}

export const tcpPortNumber = wholeNumber(0, 65535, 'a TCP port number');

/**
 * The host link's rate: 'max' (negotiate the highest both ends take),
 * 'boot' (stay at the board's boot rate), or an exact rate from the board's
 * list (PROTOCOL.md §2, SET_LINK_BAUD).
 */
export const linkBaudRate = z.union([z.enum(['max', 'boot']), wholeNumber(300, 12_000_000, 'a baud rate')], {
  error: 'expected max, boot or a baud rate such as 2000000',
});

/** USART1's rate: BRR is 16..65535 of the bridge's 64 MHz USART1 clock. */
export const usartBaudRate = wholeNumber(1000, 4_000_000, 'a USART1 baud rate');

/** A duration: "2s", "500ms", or plain seconds ("1.5"); converted to milliseconds. */
export function duration(max = 24 * 3600 * 1000) {
  const message = 'expected a duration such as 500ms, 2s or 1.5 (seconds)';
  return z
    .string()
    .regex(/^(\d+(\.\d+)?)(ms|s)?$/, message)
    .transform((text) => {
      const value = Number.parseFloat(text);
      return text.endsWith('ms') ? value : value * 1000;
    })
    .refine((ms) => ms > 0 && ms <= max, message);
}

/** The options every command that talks to a board accepts. */
export const boardOptionsSchema = z.object({
  port: z
    .string()
    .min(1, 'expected a serial port path or tcp://host:port')
    .superRefine((port, ctx) => {
      // A TCP address is checked here: a wrong one is a wrong command line, not a failed connection.
      if (!isTcpSpec(port)) return;
      try {
        parseTcpAddress(port);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      }
    })
    .optional(),
  'link-baud': linkBaudRate.optional(),
  firmware: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

export type BoardOptions = z.infer<typeof boardOptionsSchema>;

export const boardOptionSpecs = {
  port: { type: 'string', short: 'p' },
  'link-baud': { type: 'string' },
  firmware: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Bytes in hex, in the syntax the console takes too (format/bytes.ts): "48 65 6c", "48656c", "0x48,0x65". */
export const hexInput = z.string().transform((text, ctx) => {
  try {
    const bytes = parseHex(text);
    if (bytes.length > 0) return bytes;
    ctx.addIssue({ code: 'custom', message: 'expected bytes in hex, e.g. "48 65 6c 6c 6f"' });
  } catch (error) {
    if (!(error instanceof HexInputError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
  return z.NEVER;
});
