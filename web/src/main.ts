/**
 * Entry point: checks what the browser can do, builds the console and
 * lays its panels out in reading (and focus) order.
 */
import { ConsoleApp } from './app/console-app.ts';
import { webSerialSupported } from './transports/webserial.ts';
import { webUsbSupported } from './transports/webusb.ts';
import type { TransportSupport } from './ui/connect-panel.ts';
import { h } from './ui/dom.ts';
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
document.getElementById('status-slot')!.replaceWith(app.status.element);
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
        app.transfer.element,
        app.terminal.element,
        h(
          'section',
          { class: 'panel panel-timeline', id: 'timeline', 'aria-labelledby': 'timeline-title' },
          h('h2', { id: 'timeline-title' }, 'Timeline'),
          app.timeline.element,
        ),
        app.registers.element,
      ),
    ),
    h(
      'section',
      { class: 'panel panel-log', id: 'log', 'aria-labelledby': 'log-title' },
      h('h2', { id: 'log-title' }, 'Event log'),
      app.log.element,
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
