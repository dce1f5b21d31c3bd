/**
 * Checks the models' register offsets and reset values against ST's SVD for
 * the STM32G071 (svd/STM32G071.svd.gz, see svd/README.md). A small regex reader is enough: it
 * pulls each modelled peripheral's <register> blocks and compares offset and
 * reset value with what the model reads back after reset. Where the SVD is
 * known to be wrong the exception is listed with the manual's value.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { MemoryMappedDevice } from '../core/bus.ts';
import { DBGMCU, Dbgmcu } from './dbgmcu.ts';
import { DMA, Dma } from './dma.ts';
import { DMAMUX, Dmamux } from './dmamux.ts';
import { FLASH, FlashInterface } from './flash-interface.ts';
import { GPIO, Gpio } from './gpio.ts';
import { HSICAL_FACTORY, RCC, RCC_BASE, Rcc } from './rcc.ts';
import { SYSCFG, Syscfg } from './syscfg.ts';
import { TestBus, TestClock } from './test-support.ts';
import { USART, Usart } from './usart.ts';

const SVD_PATH = new URL('./svd/STM32G071.svd.gz', import.meta.url);

interface SvdRegister {
  name: string;
  offset: number;
  reset: number;
  access: string;
}

interface SvdPeripheral {
  base: number;
  registers: SvdRegister[];
}

function loadSvd(): Map<string, SvdPeripheral> {
  const text = gunzipSync(readFileSync(SVD_PATH)).toString('utf8');
  const peripherals = new Map<string, SvdPeripheral>();
  for (const m of text.matchAll(/<peripheral( derivedFrom="(\w+)")?>([\s\S]*?)<\/peripheral>/g)) {
    const body = m[3]!;
    const name = /<name>(\w+)<\/name>/.exec(body)![1]!;
    const base = Number(/<baseAddress>(\w+)<\/baseAddress>/.exec(body)![1]);
    const from = m[2];
    const registers: SvdRegister[] = [];
    for (const r of body.matchAll(/<register>([\s\S]*?)<\/register>/g)) {
      const rb = r[1]!.replace(/<fields>[\s\S]*<\/fields>/, '');
      registers.push({
        name: /<name>(\w+)<\/name>/.exec(rb)![1]!,
        offset: Number(/<addressOffset>(\w+)<\/addressOffset>/.exec(rb)![1]),
        reset: Number(/<resetValue>(\w+)<\/resetValue>/i.exec(rb)?.[1]?.toLowerCase() ?? 0) >>> 0,
        access: /<access>([\w-]+)<\/access>/.exec(rb)?.[1] ?? 'read-write',
      });
    }
    peripherals.set(name, { base, registers: from ? peripherals.get(from)!.registers : registers });
  }
  return peripherals;
}

const svd = loadSvd();

describe('register-masks.ts', () => {
  it('is what scripts/gen-register-masks.ts makes of the SVD', () => {
    const script = fileURLToPath(new URL('../../scripts/gen-register-masks.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', script, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

/** Compares every readable register the model decodes; returns the names checked. */
function compare(
  peripheral: string,
  device: MemoryMappedDevice,
  expectedOffsets: Record<string, number>,
  exceptions: Record<string, number> = {},
): void {
  const p = svd.get(peripheral);
  expect(p, peripheral).toBeDefined();
  for (const [name, offset] of Object.entries(expectedOffsets)) {
    const reg = p!.registers.find((r) => r.name === name);
    expect(reg, `${peripheral}.${name} in the SVD`).toBeDefined();
    expect(offset, `${peripheral}.${name} offset`).toBe(reg!.offset);
    if (reg!.access === 'write-only') continue;
    const want = name in exceptions ? exceptions[name]! : reg!.reset;
    expect(device.read(offset, 4) >>> 0, `${peripheral}.${name} reset value`).toBe(want);
  }
}

describe('register maps against the SVD', () => {
  it('has the base addresses of stm32g071.md', () => {
    const bases = Object.fromEntries([...svd].map(([n, p]) => [n, p.base]));
    expect(bases).toMatchObject({
      RCC: RCC_BASE,
      FLASH: 0x4002_2000,
      GPIOA: 0x5000_0000,
      GPIOB: 0x5000_0400,
      GPIOC: 0x5000_0800,
      USART1: 0x4001_3800,
      USART2: 0x4000_4400,
      DMA1: 0x4002_0000,
      DMAMUX: 0x4002_0800,
      SYSCFG: 0x4001_0000,
      DBG: 0x4001_5800,
    });
  });

  it('RCC', () => {
    const rcc = new Rcc(new TestClock());
    compare(
      'RCC',
      rcc,
      {
        CR: RCC.CR,
        ICSCR: RCC.ICSCR,
        CFGR: RCC.CFGR,
        PLLSYSCFGR: RCC.PLLCFGR,
        CIER: RCC.CIER,
        CIFR: RCC.CIFR,
        CICR: RCC.CICR,
        IOPRSTR: RCC.IOPRSTR,
        AHBRSTR: RCC.AHBRSTR,
        APBRSTR1: RCC.APBRSTR1,
        APBRSTR2: RCC.APBRSTR2,
        IOPENR: RCC.IOPENR,
        AHBENR: RCC.AHBENR,
        APBENR1: RCC.APBENR1,
        APBENR2: RCC.APBENR2,
        IOPSMENR: RCC.IOPSMENR,
        AHBSMENR: RCC.AHBSMENR,
        APBSMENR1: RCC.APBSMENR1,
        APBSMENR2: RCC.APBSMENR2,
        CCIPR: RCC.CCIPR,
        BDCR: RCC.BDCR,
        CSR: RCC.CSR,
      },
      // SVD: CR 0x63 is not a G0 value (RM0444 §5.4.1: 0x0000_0500, HSI16 on and
      // ready); ICSCR 0x1000_0000 sets a bit outside its fields (RM0444 §5.4.2:
      // 0x0000_40XX, HSITRIM 64 and the factory HSICAL); CSR shows the
      // power-on reset flags the SVD leaves out.
      { CR: 0x500, ICSCR: 0x4000 | HSICAL_FACTORY, CSR: 0x0c00_0000 },
    );
  });

  it('FLASH', () => {
    compare(
      'FLASH',
      new FlashInterface(),
      {
        ACR: FLASH.ACR,
        KEYR: FLASH.KEYR,
        OPTKEYR: FLASH.OPTKEYR,
        SR: FLASH.SR,
        CR: FLASH.CR,
        ECCR: FLASH.ECCR,
        OPTR: FLASH.OPTR,
      },
      // SVD: ACR 0x600 leaves out DBG_SWEN, which is 1 out of reset (RM0444 §3.7.1).
      { ACR: 0x0004_0600 },
    );
  });

  for (const port of ['A', 'B', 'C'] as const) {
    it(`GPIO${port}`, () => {
      compare(
        `GPIO${port}`,
        new Gpio(port),
        {
          MODER: GPIO.MODER,
          OTYPER: GPIO.OTYPER,
          OSPEEDR: GPIO.OSPEEDR,
          PUPDR: GPIO.PUPDR,
          IDR: GPIO.IDR,
          ODR: GPIO.ODR,
          BSRR: GPIO.BSRR,
          LCKR: GPIO.LCKR,
          AFRL: GPIO.AFRL,
          AFRH: GPIO.AFRH,
          BRR: GPIO.BRR,
        },
        // IDR follows the pins: PA13 (SWDIO) has its pull-up out of reset.
        port === 'A' ? { IDR: 1 << 13 } : {},
      );
    });
  }

  for (const name of ['USART1', 'USART2']) {
    it(name, () => {
      compare(name, new Usart({ name, clock: new TestClock() }), {
        CR1: USART.CR1,
        CR2: USART.CR2,
        CR3: USART.CR3,
        BRR: USART.BRR,
        GTPR: USART.GTPR,
        RTOR: USART.RTOR,
        RQR: USART.RQR,
        ISR: USART.ISR,
        ICR: USART.ICR,
        RDR: USART.RDR,
        TDR: USART.TDR,
        PRESC: USART.PRESC,
      });
    });
  }

  it('DMA1', () => {
    const dma = new Dma({ clock: new TestClock(), bus: new TestBus() });
    const offsets: Record<string, number> = { DMA_ISR: DMA.ISR, DMA_IFCR: DMA.IFCR };
    for (let n = 1; n <= 7; n++) {
      offsets[`DMA_CCR${n}`] = DMA.CCR(n);
      offsets[`DMA_CNDTR${n}`] = DMA.CNDTR(n);
      offsets[`DMA_CPAR${n}`] = DMA.CPAR(n);
      offsets[`DMA_CMAR${n}`] = DMA.CMAR(n);
    }
    compare('DMA1', dma, offsets);
  });

  it('DMAMUX', () => {
    const offsets: Record<string, number> = {
      DMAMUX_CSR: DMAMUX.CSR,
      DMAMUX_CFR: DMAMUX.CFR,
      DMAMUX_RGSR: DMAMUX.RGSR,
      DMAMUX_RGCFR: DMAMUX.RGCFR,
      DMAMUX_SIDR: DMAMUX.SIDR,
      DMAMUX_IPIDR: DMAMUX.IPIDR,
      DMAMUX_VERR: DMAMUX.VERR,
      DMAMUX_HWCFGR1: DMAMUX.HWCFGR1,
      DMAMUX_HWCFGR2: DMAMUX.HWCFGR2,
    };
    for (let x = 0; x < 7; x++) offsets[`DMAMUX_C${x}CR`] = DMAMUX.CCR(x);
    for (let x = 0; x < 4; x++) offsets[`DMAMUX_RG${x}CR`] = DMAMUX.RGCR(x);
    compare('DMAMUX', new Dmamux(() => {}), offsets);
  });

  it('SYSCFG', () => {
    const offsets: Record<string, number> = { CFGR1: SYSCFG.CFGR1, CFGR2: SYSCFG.CFGR2 };
    for (const r of svd.get('SYSCFG')!.registers) if (r.name.startsWith('ITLINE')) offsets[r.name] = r.offset;
    compare('SYSCFG', new Syscfg(), offsets);
  });

  it('DBG', () => {
    // The SVD leaves IDCODE at 0; the device answers DEV_ID 0x460 with its revision.
    compare(
      'DBG',
      new Dbgmcu(),
      { IDCODE: DBGMCU.IDCODE, CR: DBGMCU.CR, APB_FZ1: DBGMCU.APB_FZ1, APB_FZ2: DBGMCU.APB_FZ2 },
      { IDCODE: 0x2000_0460 },
    );
  });
});
