/**
 * Board events and link notifications as log lines: which flags rose,
 * what CNDTR said, and what the link noticed (lost events, a reset).
 */
import type { LinkNotification } from '../../../driver/link/index.ts';
import { type BoardEvent, DmaEventFlag, UsartEventFlag } from '../../../driver/protocol/index.ts';
import type { LogKind } from '../ui/event-log.ts';
import { hex32 } from '../ui/format.ts';

export interface LogLine {
  kind: LogKind;
  message: string;
  detail?: string;
}

function flagNames(flags: number, table: Readonly<Record<string, number>>): string[] {
  return Object.entries(table)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
}

export function describeEvent(event: BoardEvent): LogLine {
  switch (event.event) {
    case 'boot': {
      const v = event.firmwareVersion;
      return {
        kind: 'boot',
        message: `board booted, firmware v${v.major}.${v.minor}.${v.patch}`,
        detail: `epoch ${hex32(event.bootEpoch)}`,
      };
    }
    case 'dma': {
      const names = flagNames(event.flags, DmaEventFlag);
      return {
        kind: names.includes('TE') ? 'error' : 'dma',
        message: `DMA1 ch${event.channel} ${names.join(' + ') || 'event'}`,
        detail: `CNDTR=${event.cndtr} CCR=${hex32(event.ccr)} #${event.counter}`,
      };
    }
    case 'usart': {
      const names = flagNames(event.flags, UsartEventFlag);
      const error = names.some((n) => n === 'PE' || n === 'FE' || n === 'NE' || n === 'ORE');
      return {
        kind: error ? 'error' : 'usart',
        message: `USART1 ${names.join(' + ') || 'event'}`,
        detail: `ISR=${hex32(event.isr)} CNDTR1=${event.cndtr1} CNDTR2=${event.cndtr2} #${event.counter}`,
      };
    }
  }
}

export function describeNotification(n: LinkNotification): LogLine {
  switch (n.kind) {
    case 'event':
      return describeEvent(n.event);
    case 'events-lost':
      return {
        kind: 'link',
        message: `${n.lost} event${n.lost === 1 ? '' : 's'} lost (the board's queue was full)`,
        detail: `expected #${n.expected}, got #${n.received}`,
      };
    case 'reset':
      return { kind: 'error', message: n.error.message };
    case 'closed':
      return { kind: 'link', message: n.error.message };
  }
}
