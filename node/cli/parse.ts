/**
 * From argv to a command and its validated arguments. parseArgs knows the
 * option names; the command's zod schema checks and converts the values.
 * Every failure is a UsageError with one line that says what to fix.
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { PROGRAM } from './io.ts';

export type Parsed =
  | { kind: 'help'; command: Command | undefined }
  /** No command at all: the usage, as an error (exit 2). */
  | { kind: 'no-command' }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; args: unknown };

export function parseCommandLine(argv: readonly string[], commands: readonly Command[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'no-command' };
  if (first === '--help' || first === '-h') return { kind: 'help', command: undefined };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') {
    const name = rest[0];
    return { kind: 'help', command: name === undefined ? undefined : findCommand(name, commands) };
  }
  const command = findCommand(first, commands);
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help', command };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: withNegativeNumbers(rest, command),
      options: command.options,
      allowPositionals: command.allowPositionals,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError(error, command));
  }
  const input = { ...parsed.values, ...(command.allowPositionals && { _: parsed.positionals }) };
  const result = command.schema.safeParse(input);
  if (!result.success) throw new UsageError(describeIssue(result.error.issues[0], command));
  return { kind: 'run', command, args: result.data };
}

const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;

/**
 * parseArgs takes "-5" for an option: a negative number after an option
 * that takes a value becomes that option's value ("--baud=-5"), and one
 * standing alone goes after "--" as an argument. The schema then says what
 * is wrong with it, instead of "takes no value" or "unknown option".
 */
function withNegativeNumbers(argv: readonly string[], command: Command): string[] {
  const takesValue = new Set<string>();
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (spec.short) takesValue.add(`-${spec.short}`);
  }
  const options: string[] = [];
  const numbers: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      numbers.push(...argv.slice(i + 1));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(arg) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      options.push(`${arg}=${next}`);
      i++;
    } else if (NEGATIVE_NUMBER.test(arg)) {
      numbers.push(arg);
    } else {
      options.push(arg);
    }
  }
  return numbers.length > 0 ? [...options, '--', ...numbers] : options;
}

function findCommand(name: string, commands: readonly Command[]): Command {
  const command = commands.find((c) => c.name === name);
  if (command) return command;
  if (name.startsWith('-')) {
    throw new UsageError(`the command comes first: ${PROGRAM} <command> ${name} ...; see ${PROGRAM} --help`);
  }
  throw new UsageError(
    `unknown command "${name}"; the commands are ${commands.map((c) => c.name).join(', ')}`,
  );
}

function describeParseError(error: unknown, command: Command): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-[^']*)'/.exec(message)?.[1];
  const see = `see ${PROGRAM} ${command.name} --help`;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''} for "${command.name}"; ${see}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `"${command.name}" takes no arguments, got ${/'([^']*)'/.exec(message)?.[1] ?? 'one'}; ${see}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${option ?? 'an option'} ${message.includes('argument missing') ? 'needs a value' : 'takes no value'}; ${see}`;
    default:
      return `${message.split('\n')[0]}; ${see}`;
  }
}

function describeIssue(issue: z.core.$ZodIssue | undefined, command: Command): string {
  if (!issue) return `invalid arguments; see ${PROGRAM} ${command.name} --help`;
  const [head, index] = issue.path;
  if (head === '_') {
    const which = typeof index === 'number' ? `argument ${index + 1}` : 'arguments';
    return `${which}: ${issue.message}`;
  }
  return head === undefined ? issue.message : `--${String(head)}: ${issue.message}`;
}
