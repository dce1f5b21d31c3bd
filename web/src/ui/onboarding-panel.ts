/**
 * First steps with a real board: what the bridge firmware is, the bundled
 * flash image to download, and how to put it on a Nucleo-G071RB (the
 * ST-LINK drive, the STM32G0's empty-check power cycle, or st-flash).
 * Open on a first visit; errors that mean "no bridge answered" link here.
 */
import { FIRMWARE_BIN_URL } from '../transports/firmware.ts';
import { h } from './dom.ts';

export const FLASH_STEPS_ID = 'flash-steps';
const SEEN_KEY = 'dma-bridge.onboarding-seen';

export class OnboardingPanel {
  readonly element: HTMLDetailsElement;
  private readonly summary: HTMLElement;

  constructor(storage: Pick<Storage, 'getItem' | 'setItem'> | undefined = safeStorage()) {
    this.summary = h(
      'summary',
      { id: 'onboarding-summary' },
      h('h2', { id: 'onboarding-title' }, 'Real board: first steps'),
    );
    const firstVisit = storage?.getItem(SEEN_KEY) !== '1';
    this.element = h(
      'details',
      {
        class: 'panel panel-onboarding',
        id: FLASH_STEPS_ID,
        // On a phone the terminal comes first: the steps wait, collapsed, below it.
        open: firstVisit && !(globalThis.matchMedia?.('(max-width: 700px)').matches ?? false),
      },
      this.summary,
      h(
        'p',
        {},
        'On a real board the console talks to the ',
        h('strong', {}, 'bridge firmware'),
        ': a small program for the Nucleo-G071RB that lets the console program DMA1 and USART1 over the ST-LINK USB serial port, checking every request, so a wrong address or a runaway transfer is refused by the board.',
      ),
      h(
        'p',
        {},
        h(
          'a',
          { href: FIRMWARE_BIN_URL, download: 'bridge.bin', id: 'firmware-download', class: 'button-link' },
          'Download bridge.bin',
        ),
        ' (the flash image, written at 0x08000000)',
      ),
      h(
        'ol',
        { class: 'steps' },
        h(
          'li',
          {},
          'Plug the Nucleo into USB by its ST-LINK connector. A drive named ',
          h('code', {}, 'NOD_G071RB'),
          ' (',
          h('code', {}, 'NODE_G071RB'),
          ' on some systems) appears.',
        ),
        h(
          'li',
          {},
          'Drag ',
          h('code', {}, 'bridge.bin'),
          ' onto that drive. The ST-LINK LED flickers while it programs; the drive then comes back.',
        ),
        h(
          'li',
          {},
          h('strong', {}, 'Unplug the USB cable and plug it back in'),
          ' the first time (after the flash was erased or programmed for the first time): the STM32G0 checks at power-up whether its flash is empty and only runs the new firmware after a power cycle.',
        ),
        h('li', {}, 'Choose WebSerial above and Connect; pick the port named STM32 STLink or ST-Link VCP.'),
      ),
      h(
        'p',
        {},
        'From a command line instead: ',
        h('code', {}, 'st-flash --reset write bridge.bin 0x08000000'),
        '.',
      ),
      h(
        'p',
        { class: 'hint' },
        'USART1 is on the Arduino header: PC4 = TX (D1), PC5 = RX (D0). Jumper D1 to D0 for loopback, or wire a 3.3 V USB-serial adapter (and GND).',
      ),
    );
    this.element.addEventListener('toggle', () => storage?.setItem(SEEN_KEY, '1'));
  }

  /** Opens the steps and takes the reader there (a help link was followed). */
  reveal(): void {
    this.element.open = true;
    this.element.scrollIntoView({ block: 'start' });
    this.summary.focus();
  }
}

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // storage blocked: show the steps every time
  }
}
