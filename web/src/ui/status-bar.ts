/**
 * The connection status in the page header, announced politely as it
 * changes. Errors show beside the controls that caused them (InlineError).
 */
import { h } from './dom.ts';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'lost';

const STATE_TEXT: Readonly<Record<ConnectionState, string>> = {
  disconnected: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  lost: 'Connection lost',
};

export class StatusBar {
  readonly element: HTMLElement;
  private readonly state: HTMLElement;
  private readonly detail: HTMLElement;

  constructor() {
    this.state = h('span', { class: 'status-pill', 'data-state': 'disconnected' }, STATE_TEXT.disconnected);
    this.detail = h('span', { class: 'status-detail' });
    this.element = h(
      'div',
      { class: 'status-bar' },
      h(
        'p',
        { class: 'status', role: 'status', 'aria-live': 'polite', id: 'status' },
        this.state,
        this.detail,
      ),
    );
  }

  set(state: ConnectionState, detail = ''): void {
    this.state.dataset.state = state;
    this.state.textContent = STATE_TEXT[state];
    this.detail.textContent = detail;
  }
}
