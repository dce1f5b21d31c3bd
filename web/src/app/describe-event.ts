/**
 * Board notifications as log lines: which flags rose, what CNDTR said, and
 * what the link noticed (lost events, a reset, closure).
 */
import type { BoardNotification } from '../../../driver/board/index.ts';
import { hex32 } from '../../../format/bytes.ts';
import type { LogKind } from '../ui/event-log.ts';

export interface LogLine {
  kind: LogKind;
  message: string;
  detail?: string;
}

function named(flags: Readonly<Record<string, boolean>>): string[] {
  return Object.entries(flags)
    .filter(([, on]) => on)
    .map(([name]) => name);
}

export function describeNotification(n: BoardNotification): LogLine {
  switch (n.kind) {
    case 'boot': {
      const v = n.firmwareVersion;
      return {
        kind: 'boot',
        message: `board booted, firmware v${v.major}.${v.minor}.${v.patch}`,
        detail: `epoch ${hex32(n.bootEpoch)}`,
      };
    }
    case 'dma': {
      const names = named({ TC: n.tc, HT: n.ht, TE: n.te });
      return {
        kind: n.te ? 'error' : 'dma',
        message: `DMA1 ch${n.channel} ${names.join(' + ') || 'event'}`,
        detail: `CNDTR=${n.cndtr} CCR=${hex32(n.ccr)} #${n.counter}`,
      };
    }
    case 'usart': {
      const errors = named({
        'parity error (PE)': n.pe,
        'framing error (FE)': n.fe,
        'noise (NE)': n.ne,
        'overrun (ORE)': n.ore,
      });
      const names = [...errors, ...named({ IDLE: n.idle, TC: n.tc })];
      return {
        kind: errors.length > 0 ? 'error' : 'usart',
        message: `USART1 ${names.join(' + ') || 'event'}`,
        detail: `ISR=${hex32(n.isr)} CNDTR1=${n.cndtr1} CNDTR2=${n.cndtr2} #${n.counter}`,
      };
    }
    case 'events-lost':
      return {
        kind: 'link',
        message: `${n.lost} event${n.lost === 1 ? '' : 's'} lost (the board's queue was full); registers re-read`,
      };
    case 'reset':
      return { kind: 'error', message: `${n.error.name}: ${n.error.message}` };
    case 'closed':
      return { kind: 'link', message: n.error.message };
  }
}
