/**
 * ELF32 little-endian ARM executables: load PT_LOAD segments at their
 * physical (load) addresses, as a flash programmer would, and read the
 * symbol table.
 */

export interface ProgramLoader {
  /** Copy bytes into memory, read-only memory included. */
  load(address: number, bytes: Uint8Array): void;
}

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STT_* type: 0 none, 1 object, 2 function, 3 section, 4 file. */
  readonly type: number;
}

export interface ElfSegment {
  readonly paddr: number;
  readonly vaddr: number;
  readonly fileSize: number;
  readonly memSize: number;
}

export interface LoadedElf {
  readonly entry: number;
  readonly segments: readonly ElfSegment[];
  readonly symbols: ReadonlyMap<string, ElfSymbol>;
  /** Address of a symbol (functions keep their Thumb bit); throws if absent. */
  symbol(name: string): number;
}

export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const EM_ARM = 40;
const ET_EXEC = 2;

/** Parse without loading (header checks, segments, symbols). */
export function parseElf(bytes: Uint8Array): LoadedElf & { readonly data: (s: ElfSegment) => Uint8Array } {
  if (bytes.length < 52) throw new ElfError('not an ELF file: too short');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file: bad magic');
  }
  if (bytes[4] !== 1) throw new ElfError(`not a 32-bit ELF file (EI_CLASS ${bytes[4]})`);
  if (bytes[5] !== 1) throw new ElfError(`not a little-endian ELF file (EI_DATA ${bytes[5]})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => view.getUint16(o, true);
  const u32 = (o: number): number => view.getUint32(o, true);
  const machine = u16(18);
  if (machine !== EM_ARM) throw new ElfError(`not an ARM ELF file (e_machine ${machine})`);
  const type = u16(16);
  if (type !== ET_EXEC) throw new ElfError(`not an executable ELF file (e_type ${type})`);
  const entry = u32(24);
  const phoff = u32(28);
  const shoff = u32(32);
  const phentsize = u16(42);
  const phnum = u16(44);
  const shentsize = u16(46);
  const shnum = u16(48);
  const inFile = (off: number, len: number, what: string): void => {
    if (off + len > bytes.length) throw new ElfError(`truncated ELF file: ${what} lies past its end`);
  };

  const segments: ElfSegment[] = [];
  const offsets = new Map<ElfSegment, number>();
  inFile(phoff, phnum * phentsize, 'program headers');
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (u32(h) !== PT_LOAD) continue;
    const seg: ElfSegment = {
      vaddr: u32(h + 8),
      paddr: u32(h + 12),
      fileSize: u32(h + 16),
      memSize: u32(h + 20),
    };
    inFile(u32(h + 4), seg.fileSize, `segment ${i}`);
    offsets.set(seg, u32(h + 4));
    segments.push(seg);
  }

  const symbols = new Map<string, ElfSymbol>();
  if (shoff !== 0 && shnum !== 0) {
    inFile(shoff, shnum * shentsize, 'section headers');
    const sh = (i: number, field: number): number => u32(shoff + i * shentsize + field);
    for (let i = 0; i < shnum; i++) {
      if (sh(i, 4) !== SHT_SYMTAB) continue;
      const off = sh(i, 16);
      const size = sh(i, 20);
      const link = sh(i, 24);
      const entsize = sh(i, 36) || 16;
      if (link >= shnum) throw new ElfError('symbol table links to a missing string table');
      const strOff = sh(link, 16);
      const strSize = sh(link, 20);
      inFile(off, size, 'symbol table');
      inFile(strOff, strSize, 'string table');
      for (let s = off; s + 16 <= off + size; s += entsize) {
        const nameOff = u32(s);
        if (nameOff === 0 || nameOff >= strSize) continue;
        let end = strOff + nameOff;
        while (end < strOff + strSize && bytes[end] !== 0) end++;
        const name = new TextDecoder().decode(bytes.subarray(strOff + nameOff, end));
        const sym: ElfSymbol = { name, value: u32(s + 4), size: u32(s + 8), type: bytes[s + 12]! & 15 };
        // Prefer the first definition; local labels like $t/$d are not useful for lookups.
        if (!symbols.has(name) && !name.startsWith('$')) symbols.set(name, sym);
      }
    }
  }

  return {
    entry,
    segments,
    symbols,
    symbol(name: string): number {
      const s = symbols.get(name);
      if (s === undefined) throw new ElfError(`no symbol ${name}`);
      return s.value;
    },
    data(s: ElfSegment): Uint8Array {
      const off = offsets.get(s)!;
      return bytes.subarray(off, off + s.fileSize);
    },
  };
}

/**
 * Load an executable: each PT_LOAD segment's file image goes to its physical
 * address (so initialised data lands in flash, where startup code copies it
 * from). The zero-filled tail (memsz > filesz) is cleared at the physical
 * address too, unless the segment is loaded elsewhere than it runs: that tail
 * is .bss, which lives only at the run address and startup code clears.
 */
export function loadElf(bytes: Uint8Array, loader: ProgramLoader): LoadedElf {
  const elf = parseElf(bytes);
  for (const seg of elf.segments) {
    if (seg.fileSize > 0) loader.load(seg.paddr, elf.data(seg));
    if (seg.memSize > seg.fileSize && seg.paddr === seg.vaddr) {
      loader.load(seg.paddr + seg.fileSize, new Uint8Array(seg.memSize - seg.fileSize));
    }
  }
  return { entry: elf.entry, segments: elf.segments, symbols: elf.symbols, symbol: elf.symbol };
}
