/**
 * Entry point: checks what the browser can do, builds the console and
 * lays its panels out in reading (and focus) order.
 */
import { ConsoleApp } from './app/console-app.ts';
import { webSerialSupported } from './transports/webserial.ts';
import { webUsbSupported } from './transports/webusb.ts';
import type { TransportSupport } from './ui/connect-panel.ts';
import { h, panel } from './ui/dom.ts';
import { themeChooser } from './ui/theme.ts';
import './style.css';

function detectSupport(): TransportSupport[] {
  const serial = webSerialSupported();
  const usb = webUsbSupported();
  return [
    {
      kind: 'virtual',
      supported: typeof Worker !== 'undefined',
      note: 'the real firmware on an emulated Nucleo-G071RB',
    },
    {
      kind: 'webserial',
      supported: serial,
      note: serial ? 'a Nucleo on its ST-LINK serial port' : 'not available in this browser',
    },
    {
      kind: 'webusb',
      supported: usb,
      note: usb ? 'for browsers without WebSerial (Android)' : 'not available in this browser',
    },
  ];
}

const app = new ConsoleApp(detectSupport());
document.getElementById('status-slot')!.replaceWith(
  h(
    'div',
    { class: 'header-tools' },
    app.status.element,
    themeChooser((theme) => app.restyle(theme)),
  ),
);
// The terminal and the connection first; the rest are panels to open when wanted.
document
  .getElementById('main')!
  .append(
    h(
      'div',
      { class: 'layout' },
      h(
        'div',
        { class: 'column side' },
        app.connect.element,
        app.hello.element,
        app.peer.element,
        app.onboarding.element,
      ),
      h(
        'div',
        { class: 'column wide' },
        app.terminal.element,
        panel('plotter', 'Plotter', app.plotter.element),
        app.transfer.element,
        app.registers.element,
        panel('timeline', 'Timeline', app.timeline.element),
        panel('log', 'Event log', app.log.element),
      ),
    ),
  );
window.addEventListener('pagehide', () => void app.close('page closed'));

// Exposed for automation and debugging from the devtools console.
declare global {
  interface Window {
    dmaConsole?: ConsoleApp;
  }
}
window.dmaConsole = app;
