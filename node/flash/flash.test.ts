/** Finding the ST-LINK's drive: by directory name, by label in Linux's mount table, by Windows' `vol`. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findNucleoDrives, volumeLabelOf } from './flash.ts';

let work: string | undefined;
afterEach(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  work = undefined;
});

describe('findNucleoDrives', () => {
  it('finds drives named by their label in the roots, whatever the case, and only directories', async () => {
    work = await mkdtemp(join(tmpdir(), 'drives-'));
    await mkdir(join(work, 'NODE_G071RB'));
    await mkdir(join(work, 'nod_g071rb'));
    await mkdir(join(work, 'NOD_F401RE'));
    await mkdir(join(work, 'other'));
    await writeFile(join(work, 'other', 'NOD_G071RB'), 'a file, not a drive');
    const found = await findNucleoDrives({
      platform: 'linux',
      roots: [work, join(work, 'other')],
      tables: null,
    });
    expect(found.sort()).toEqual([join(work, 'NODE_G071RB'), join(work, 'nod_g071rb')].sort());
  });

  it('on Linux, finds where the device labelled NOD_G071RB is mounted, wherever that is', async () => {
    work = await mkdtemp(join(tmpdir(), 'drives-'));
    const dev = join(work, 'dev');
    const byLabel = join(dev, 'disk', 'by-label');
    await mkdir(byLabel, { recursive: true });
    await writeFile(join(dev, 'sdb'), '');
    await writeFile(join(dev, 'sdc'), '');
    await symlink('../../sdb', join(byLabel, 'NOD_G071RB'));
    await symlink('../../sdc', join(byLabel, 'BACKUP'));
    const mounts = join(work, 'mounts');
    await writeFile(
      mounts,
      [
        'proc /proc proc rw,relatime 0 0',
        `${join(dev, 'sdc')} /mnt/backup vfat rw 0 0`,
        `${join(dev, 'sdb')} /mnt/st\\040link vfat rw,nosuid 0 0`,
        '',
      ].join('\n'),
    );
    const found = await findNucleoDrives({ platform: 'linux', roots: [], tables: { mounts, byLabel } });
    expect(found).toEqual(['/mnt/st link']);
  });

  it('on Linux without /dev/disk/by-label (no udev), finds nothing there and does not fail', async () => {
    work = await mkdtemp(join(tmpdir(), 'drives-'));
    const tables = { mounts: join(work, 'none'), byLabel: join(work, 'none') };
    expect(await findNucleoDrives({ platform: 'linux', roots: [], tables })).toEqual([]);
  });
});

describe("the label in Windows' vol output", () => {
  it('is the last word of its first line, in any language', () => {
    expect(
      volumeLabelOf('\r\n Volume in drive E is NOD_G071RB\r\n Volume Serial Number is 0A1B-2C3D\r\n'),
    ).toBe('NOD_G071RB');
    expect(volumeLabelOf(" Le volume dans le lecteur E s'appelle NODE_G071RB\r\n")).toBe('NODE_G071RB');
    expect(volumeLabelOf(' Datenträger in Laufwerk E: ist NOD_G071RB\r\n')).toBe('NOD_G071RB');
    expect(volumeLabelOf(' Volume in drive D has no label.\r\n')).toBe('label.');
    expect(volumeLabelOf('')).toBeUndefined();
  });
});
