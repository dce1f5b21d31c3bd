/**
 * `dma-bridge flash`: puts the bridge firmware shipped with this package on a
 * Nucleo-G071RB (the ST-LINK's drive, st-flash or OpenOCD), then waits for
 * the board and checks that its HELLO names the firmware just flashed.
 */
import { z } from 'zod';
import { Board } from '../../../driver/board/board.ts';
import {
  AFTER_FLASH_ADVICE,
  copyToDrive,
  DRIVE_LABELS,
  driveRoots,
  type FirmwareImages,
  FlashError,
  type FlashTool,
  findNucleoDrives,
  haveTool,
  loadImages,
  runTool,
  toolCommand,
} from '../../flash/flash.ts';
import { FIRMWARE_DIR } from '../../package/package-root.ts';
import { listPorts } from '../../transport/discovery.ts';
import { openTransport } from '../../transport/open-transport.ts';
import { displayPath } from '../../virtual/load-board.ts';
import { defineCommand } from '../command.ts';
import { InterruptedError, UsageError } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { duration } from '../options.ts';

const schema = z.object({
  with: z
    .enum(['drive', 'st-flash', 'openocd'], { message: 'expected drive, st-flash or openocd' })
    .optional(),
  drive: z.string().min(1, 'expected the mount point of the ST-LINK drive').optional(),
  images: z.string().min(1).optional(),
  port: z.string().min(1, 'expected a serial port path or tcp://host:port').optional(),
  wait: duration(600_000).default(20_000),
  'no-check': z.boolean().default(false),
  json: z.boolean().default(false),
});

type Method = { kind: 'drive'; drive: string } | { kind: 'tool'; tool: FlashTool };

export const flashCommand = defineCommand({
  name: 'flash',
  summary: 'put the bridge firmware on a Nucleo-G071RB and check that it answers',
  synopsis: '[--with drive|st-flash|openocd] [--drive PATH] [--port PATH] [--wait 20s] [--no-check] [--json]',
  details: [
    `--with drive      copy bridge.bin onto the ST-LINK's USB drive (${DRIVE_LABELS.join(' or ')}); no tool needed`,
    '--with st-flash   st-flash --reset write bridge.bin 0x08000000 (stlink-tools)',
    '--with openocd    openocd -f board/st_nucleo_g0.cfg (program, verify, reset)',
    '                  (default: the drive when one is mounted, else st-flash, else OpenOCD)',
    "--drive PATH      the drive's mount point, when it is not found by itself",
    '--images DIR      another build of the firmware (bridge.bin, bridge.elf, manifest.json)',
    "--port PATH       the board's port for the check (default: the first ST-LINK port that appears)",
    '--wait D          how long to wait for the board to answer (default 20s)',
    '--no-check        do not wait for the board and check its HELLO',
  ],
  options: {
    with: { type: 'string' },
    drive: { type: 'string' },
    images: { type: 'string' },
    port: { type: 'string', short: 'p' },
    wait: { type: 'string' },
    'no-check': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  allowPositionals: false,
  schema,
  async run(args, io) {
    const images = await loadImages(args.images ?? FIRMWARE_DIR);
    const version = images.manifest.firmwareVersion;
    const method = await chooseMethod(args.with, args.drive);
    let how: string;
    if (method.kind === 'drive') {
      const target = await copyToDrive(images, method.drive);
      how = `copied ${displayPath(images.bin)} onto ${method.drive}`;
      io.note(
        `flash: ${how} (${images.manifest.images['bridge.bin']?.bytes ?? '?'} bytes, firmware ${version})`,
      );
      io.note(`flash: the ST-LINK programs ${target} and resets the board`);
    } else {
      const { command, args: toolArgs } = toolCommand(method.tool, images);
      io.note(`flash: ${command} ${toolArgs.join(' ')}`);
      await runTool(method.tool, images);
      how = `${command} wrote firmware ${version}`;
    }
    if (args['no-check']) {
      if (args.json) io.out(JSON.stringify({ flashed: version, method: describe(method), checked: false }));
      else io.out(`flashed bridge firmware ${version} (${how}); not checked`);
      return undefined;
    }
    const answer = await checkBoard(images, args.port, args.wait, io);
    if (args.json) {
      io.out(
        JSON.stringify({
          flashed: version,
          method: describe(method),
          checked: true,
          port: answer.port,
          firmwareVersion: answer.firmwareVersion,
          protocolVersion: answer.protocolVersion,
        }),
      );
    } else {
      io.out(
        `flashed bridge firmware ${version}; the board on ${answer.port} answers as firmware ` +
          `${answer.firmwareVersion}, protocol v${answer.protocolVersion}`,
      );
    }
    return undefined;
  },
});

function describe(method: Method): string {
  return method.kind === 'drive' ? `drive ${method.drive}` : method.tool;
}

async function chooseMethod(
  choice: 'drive' | FlashTool | undefined,
  drive: string | undefined,
): Promise<Method> {
  if (drive !== undefined) {
    if (choice !== undefined && choice !== 'drive')
      throw new UsageError(`--drive goes with --with drive, not ${choice}`);
    return { kind: 'drive', drive };
  }
  if (choice === 'st-flash' || choice === 'openocd') {
    if (!(await haveTool(choice))) {
      throw new FlashError(
        `${choice} is not installed (or not on PATH)` +
          (choice === 'st-flash'
            ? ': apt install stlink-tools, or brew install stlink'
            : ': apt install openocd'),
      );
    }
    return { kind: 'tool', tool: choice };
  }
  const drives = await findNucleoDrives();
  if (drives.length > 1) {
    throw new UsageError(`several Nucleo drives are mounted (${drives.join(', ')}): pick one with --drive`);
  }
  if (drives.length === 1) return { kind: 'drive', drive: drives[0]! };
  if (choice === 'drive') throw new FlashError(noDriveMessage());
  if (await haveTool('st-flash')) return { kind: 'tool', tool: 'st-flash' };
  if (await haveTool('openocd')) return { kind: 'tool', tool: 'openocd' };
  throw new FlashError(`${noDriveMessage()}; nor is st-flash or openocd installed`);
}

function noDriveMessage(): string {
  const where =
    process.platform === 'win32'
      ? 'the drive letters'
      : driveRoots().join(', ') +
        (process.platform === 'linux' && !process.env.DMA_BRIDGE_DRIVE_ROOTS ? ', and the mount table' : '');
  return (
    `no Nucleo drive (${DRIVE_LABELS.join(' or ')}) is mounted (looked in ${where}): plug the board in with a ` +
    'data USB cable and wait for its ST-LINK drive to appear, or name it with --drive, or install stlink-tools ' +
    'and use --with st-flash'
  );
}

interface Answer {
  readonly port: string;
  readonly firmwareVersion: string;
  readonly protocolVersion: number;
}

/** Waits for the board's port, opens a session and compares its firmware version with the manifest's. */
async function checkBoard(
  images: FirmwareImages,
  port: string | undefined,
  waitMs: number,
  io: CliIo,
): Promise<Answer> {
  const deadline = performance.now() + waitMs;
  let lastError: unknown;
  io.note(`flash: waiting up to ${Math.round(waitMs / 1000)} s for the board to answer`);
  while (performance.now() < deadline) {
    if (io.interrupted.aborted) {
      throw new InterruptedError(
        `interrupted while waiting for the board: firmware ${images.manifest.firmwareVersion} was flashed ` +
          'but not checked; "dma-bridge info --port PATH" checks it',
      );
    }
    const path = port ?? (await listPorts().catch(() => [])).find((p) => p.stLink)?.path;
    if (path !== undefined) {
      try {
        const transport = await openTransport(path, { baudRate: images.manifest.linkBaud });
        // One HELLO is the check: the link stays at the boot rate. (Board.open
        // closes the transport when no bridge answers, so the next try can open it.)
        const board = await Board.open(transport, {
          linkBaud: 'boot',
          retransmitTimeoutMs: 300,
          maxRetries: 5,
        });
        const h = board.hello;
        await board.close();
        const got = `${h.firmwareVersion.major}.${h.firmwareVersion.minor}.${h.firmwareVersion.patch}`;
        if (got !== images.manifest.firmwareVersion) {
          throw new FlashError(
            `the board on ${path} answers as firmware ${got}, not the ${images.manifest.firmwareVersion} just ` +
              `flashed: the flash did not take, or this port is another board's; ${AFTER_FLASH_ADVICE}`,
          );
        }
        return { port: path, firmwareVersion: got, protocolVersion: h.protocolVersion };
      } catch (error) {
        if (error instanceof FlashError) throw error;
        lastError = error;
      }
    }
    await pause(500, io.interrupted);
  }
  const why = lastError instanceof Error ? ` (last try: ${lastError.message})` : '';
  throw new FlashError(
    `no bridge answered within ${Math.round(waitMs / 1000)} s${why}; ${AFTER_FLASH_ADVICE}`,
  );
}

/** Waits `ms`, or less when the command is interrupted. */
function pause(ms: number, interrupted: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      interrupted.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    interrupted.addEventListener('abort', done, { once: true });
  });
}
