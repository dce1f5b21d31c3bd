/** What the board said about itself in its HELLO reply. */
import { Capability, type HelloInfo } from '../../../driver/protocol/index.ts';
import { byteSize, hex, hex32, hexBytes } from '../../../format/bytes.ts';
import { h, panel } from './dom.ts';

const CAPABILITY_NAMES: readonly [number, string][] = [
  [Capability.DMA1_CH1_USART1, 'DMA1 ch1 ↔ USART1'],
  [Capability.DMA1_CH2_FULL_DUPLEX, 'DMA1 ch2 (full duplex)'],
  [Capability.BATCH_POLL, 'batch POLL'],
  [Capability.EVENTS, 'DMA and USART events'],
];

/** Part names by DBGMCU DEV_ID, for the ones this bridge is built for. */
const DEVICE_NAMES: Readonly<Record<number, string>> = { 1120: 'STM32G071/G081' };

export class HelloPanel {
  readonly element: HTMLElement;
  private readonly list: HTMLDListElement;

  constructor() {
    this.list = h('dl', { class: 'facts', id: 'hello' });
    this.element = panel('device', 'Device', this.list);
    this.clear();
  }

  clear(): void {
    this.list.replaceChildren(
      h('div', { class: 'empty' }, h('dt', {}, 'HELLO'), h('dd', {}, 'not connected')),
    );
  }

  show(hello: HelloInfo, transportDescription?: string): void {
    const v = hello.firmwareVersion;
    const capabilities = CAPABILITY_NAMES.filter(([bit]) => (hello.capabilities & bit) !== 0).map(
      ([, n]) => n,
    );
    const rows: [string, string, string?][] = [
      ['Firmware', `v${v.major}.${v.minor}.${v.patch}`, `protocol ${hello.protocolVersion}`],
      ['DEV_ID', `0x${hello.devId.toString(16).toUpperCase()}`, DEVICE_NAMES[hello.devId] ?? 'unknown part'],
      ['REV_ID', hex(hello.revId & 0xffff, 4)],
      ['UID', hexBytes(hello.uid, '')],
      ['Arena', `${hex32(hello.arenaBase)} + ${byteSize(hello.arenaSize)}`],
      [
        'Window',
        `${hello.window} requests`,
        `≤ ${hello.maxRequestPayload} B out, ${hello.maxReplyPayload} B back`,
      ],
      ['Capabilities', capabilities.join(', ') || 'none', hex32(hello.capabilities)],
      ['Boot epoch', hex32(hello.bootEpoch)],
      ['Clocks', `USART1 ${(hello.usart1ClockHz / 1e6).toFixed(0)} MHz`, `link ${hello.linkBaud} Bd`],
    ];
    if (transportDescription) rows.push(['Port', transportDescription]);
    this.list.replaceChildren(
      ...rows.map(([term, value, note]) =>
        h(
          'div',
          { 'data-fact': term },
          h('dt', {}, term),
          h(
            'dd',
            {},
            h('span', { class: 'mono' }, value),
            note ? h('small', { class: 'note' }, ` ${note}`) : null,
          ),
        ),
      ),
    );
  }
}
