/**
 * Reusable zod pieces for option values, which parseArgs hands over as
 * strings: each says, in its message, what a valid value looks like.
 */
import { z } from 'zod';

export function wholeNumber(min: number, max: number, what = 'a whole number') {
  return z
    .string()
    .regex(/^\d+$/, `expected ${what} from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected ${what} from ${min} to ${max}`);
}

export const tcpPortNumber = wholeNumber(0, 65535, 'a TCP port number');

export const baudRate = wholeNumber(300, 12_000_000, 'a baud rate');

/** The options every command that talks to a board accepts. */
export const boardOptionsSchema = z.object({
  port: z.string().min(1, 'expected a serial port path or tcp://host:port').optional(),
  baud: baudRate.optional(),
  firmware: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

export type BoardOptions = z.infer<typeof boardOptionsSchema>;

export const boardOptionSpecs = {
  port: { type: 'string', short: 'p' },
  baud: { type: 'string' },
  firmware: { type: 'string' },
  json: { type: 'boolean' },
} as const;
