/**
 * Putting the bridge firmware on a Nucleo-G071RB: through the ST-LINK's USB
 * drive (copy the .bin onto it: no tool needed), or with st-flash or
 * OpenOCD when they are installed. Then the board's port is found and its
 * HELLO checked against the firmware that was flashed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What the ST-LINK/V2-1 of a Nucleo-G071RB calls its drive (firmware versions differ). */
export const DRIVE_LABELS = ['NOD_G071RB', 'NODE_G071RB'] as const;

export interface FirmwareImages {
  readonly dir: string;
  readonly bin: string;
  readonly elf: string;
  readonly manifest: FirmwareManifest;
}

export interface FirmwareManifest {
  readonly firmwareVersion: string;
  readonly protocolVersion: number;
  readonly linkBaud: number;
  readonly images: Record<string, { bytes: number; sha256: string }>;
}

export class FlashError extends Error {
  override name = 'FlashError';
}

/** The images in `dir` (bridge.bin, bridge.elf, manifest.json), checked to be there. */
export async function loadImages(dir: string): Promise<FirmwareImages> {
  const manifestPath = join(dir, 'manifest.json');
  const text = await readFile(manifestPath, 'utf8').catch(() => {
    throw new FlashError(
      `no firmware manifest at ${manifestPath}: build the firmware (make -C firmware-bridge) or give --images DIR`,
    );
  });
  const manifest = JSON.parse(text) as FirmwareManifest;
  const images = { dir, bin: join(dir, 'bridge.bin'), elf: join(dir, 'bridge.elf'), manifest };
  for (const f of [images.bin, images.elf]) {
    if (!existsSync(f)) throw new FlashError(`${f} is missing beside its manifest`);
  }
  return images;
}

/**
 * Where operating systems mount a USB drive: the search roots, or those
 * DMA_BRIDGE_DRIVE_ROOTS lists (paths joined as in PATH).
 */
export function driveRoots(platform: NodeJS.Platform = process.platform): string[] {
  const fromEnv = process.env.DMA_BRIDGE_DRIVE_ROOTS;
  if (fromEnv) return fromEnv.split(delimiter).filter(Boolean);
  const user = safeUser();
  switch (platform) {
    case 'darwin':
      return ['/Volumes'];
    case 'win32':
      return [];
    default:
      return [`/media/${user}`, `/run/media/${user}`, '/media', '/mnt'];
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? '';
  }
}

/** Where Linux says what is mounted and which block device has which label (tests give others). */
export interface LinuxMountTables {
  readonly mounts: string;
  readonly byLabel: string;
}

const LINUX_TABLES: LinuxMountTables = { mounts: '/proc/self/mounts', byLabel: '/dev/disk/by-label' };

/** Where to look; each left out is this machine's (tests give their own). */
export interface DriveSearch {
  readonly platform?: NodeJS.Platform;
  /** Directories whose subdirectories are mounted drives, named by label. */
  readonly roots?: readonly string[];
  /** Linux: the mount table and the labels' links; null to skip them. */
  readonly tables?: LinuxMountTables | null;
}

/**
 * Mounted Nucleo drives: directories named by the drive's label in the search
 * roots (how desktops mount a USB drive), and on Linux wherever a device
 * labelled so is mounted (/mnt, usbmount's /media/usb0, ...); on Windows,
 * the drive letters whose volume has that label. DMA_BRIDGE_DRIVE_ROOTS,
 * when set, is the only place looked in.
 */
export async function findNucleoDrives(search: DriveSearch = {}): Promise<string[]> {
  const platform = search.platform ?? process.platform;
  const overridden = Boolean(process.env.DMA_BRIDGE_DRIVE_ROOTS);
  const labels = new Set<string>(DRIVE_LABELS);
  if (platform === 'win32' && search.roots === undefined && !overridden) return findWindowsDrives(labels);
  const found: string[] = [];
  for (const root of search.roots ?? driveRoots(platform)) {
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names) {
      if (!labels.has(name.toUpperCase())) continue;
      const path = join(root, name);
      if ((await stat(path).catch(() => undefined))?.isDirectory()) found.push(path);
    }
  }
  const tables =
    search.tables !== undefined ? search.tables : platform === 'linux' && !overridden ? LINUX_TABLES : null;
  if (tables) found.push(...(await labelledMounts(labels, tables)));
  return [...new Set(found)];
}

/** Mount points of the block devices that /dev/disk/by-label names with one of `labels`. */
async function labelledMounts(labels: Set<string>, tables: LinuxMountTables): Promise<string[]> {
  const devices = new Set<string>();
  for (const label of await readdir(tables.byLabel).catch(() => [] as string[])) {
    if (!labels.has(label.toUpperCase())) continue;
    const device = await realpath(join(tables.byLabel, label)).catch(() => undefined);
    if (device !== undefined) devices.add(device);
  }
  if (devices.size === 0) return [];
  const table = await readFile(tables.mounts, 'utf8').catch(() => '');
  const points: string[] = [];
  for (const line of table.split('\n')) {
    const [source, target] = line.split(' ');
    if (source === undefined || target === undefined) continue;
    const device = await realpath(unescapeMountField(source)).catch(() => undefined);
    if (device !== undefined && devices.has(device)) points.push(unescapeMountField(target));
  }
  return points;
}

/** /proc/self/mounts writes a space, tab, newline or backslash in a path as a three-digit octal escape. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Drive letters whose volume label is one of `labels`, as `vol X:` reports it. */
async function findWindowsDrives(labels: Set<string>): Promise<string[]> {
  const found: string[] = [];
  for (const letter of 'DEFGHIJKLMNOPQRSTUVWXYZ') {
    const root = `${letter}:\\`;
    if (!existsSync(root)) continue;
    const out = await run('cmd', ['/c', 'vol', `${letter}:`]).catch(() => undefined);
    const label = out === undefined ? undefined : volumeLabelOf(out.stdout);
    if (label && labels.has(label.toUpperCase())) found.push(root);
  }
  return found;
}

/**
 * The label in `vol`'s first line, in any language Windows speaks: "Volume
 * in drive E is NOD_G071RB", "Le volume dans le lecteur E s'appelle
 * NOD_G071RB", "Datenträger in Laufwerk E: ist NOD_G071RB" all end with it.
 * (The Nucleo's labels have no spaces; a drive without a label ends its line
 * with other words, which match no label.)
 */
export function volumeLabelOf(volOutput: string): string | undefined {
  const first = volOutput.split(/\r?\n/).find((line) => line.trim() !== '');
  return first?.trim().split(/\s+/).at(-1);
}

/**
 * Copies the .bin onto the ST-LINK drive; the ST-LINK programs the flash and
 * resets the board. The file is synced before this returns: the ST-LINK
 * starts programming only once the whole image has reached the drive, not
 * when it sits in the host's cache.
 */
export async function copyToDrive(images: FirmwareImages, drive: string): Promise<string> {
  const target = join(drive, 'bridge.bin');
  try {
    const bytes = await readFile(images.bin);
    const file = await open(target, 'w');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new FlashError(`cannot copy onto ${drive}: ${e.code ?? e.message}; is the drive writable?`);
  }
  return target;
}

export type FlashTool = 'st-flash' | 'openocd';

/**
 * The command line each tool is run with (st-flash resets the board after
 * writing). OpenOCD also clears FLASH_ACR.EMPTY before its reset: an STM32G0
 * whose flash was erased latched "empty" at power-on and would start its
 * ROM bootloader at every reset until a power cycle; with EMPTY cleared the
 * reset starts the bridge (RM0444 §3.7.1, FLASH_ACR.EMPTY, writable by
 * software).
 */
export function toolCommand(tool: FlashTool, images: FirmwareImages): { command: string; args: string[] } {
  return tool === 'st-flash'
    ? { command: 'st-flash', args: ['--reset', 'write', images.bin, '0x08000000'] }
    : {
        command: 'openocd',
        args: [
          '-f',
          'board/st_nucleo_g0.cfg',
          '-c',
          `program ${images.elf.replaceAll('\\', '/')} verify`,
          '-c',
          'mmw 0x40022000 0 0x00010000',
          '-c',
          'reset run',
          '-c',
          'shutdown',
        ],
      };
}

/** Whether `command` is on PATH. */
export async function haveTool(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return true;
    if (process.platform === 'win32' && dir && existsSync(join(dir, `${command}.exe`))) return true;
  }
  return false;
}

/** Runs st-flash or OpenOCD; its output is returned, its failure thrown with that output. */
export async function runTool(tool: FlashTool, images: FirmwareImages): Promise<string> {
  const { command, args } = toolCommand(tool, images);
  try {
    const { stdout, stderr } = await run(command, args, { timeout: 120_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new FlashError(`${command} is not installed (or not on PATH)`);
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw new FlashError(`${command} failed: ${output || String(error)}`);
  }
}

/** What to tell someone whose board stays silent after flashing. */
export const AFTER_FLASH_ADVICE =
  'if the board does not answer: unplug the USB cable and plug it back in (after an erase or a first ' +
  'programming, the STM32G0 keeps starting its built-in bootloader until it is power-cycled: its ' +
  '"empty check" is only redone at power-on), then run "dma-bridge info"';
