/**
 * What a command is: its name, its options for parseArgs, a zod schema that
 * validates and converts them, and what it does.
 */
import type { ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import type { CliIo } from './io.ts';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs produced, handed to the schema as one object. */
export interface RawArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

export interface Command<Schema extends z.ZodType = z.ZodType> {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** What follows the command name in the usage text, e.g. "[--port PATH] N". */
  readonly synopsis: string;
  /** Explains the options, one line each. */
  readonly details: readonly string[];
  readonly options: OptionSpecs;
  readonly allowPositionals: boolean;
  /** Turns the parsed command line into the command's arguments, or fails with a message. */
  readonly schema: Schema;
  run(args: z.infer<Schema>, io: CliIo): Promise<number | undefined>;
}

/** Keeps each command's argument type tied to its schema. */
export function defineCommand<Schema extends z.ZodType>(command: Command<Schema>): Command<Schema> {
  return command;
}
