/**
 * The connection status (announced politely as it changes) and the last
 * error (announced at once, as an alert), both in the page header.
 */
import { h } from './dom.ts';
import { errorMessage, errorName } from './format.ts';

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
  private readonly error: HTMLElement;
  private readonly errorText: HTMLElement;

  constructor() {
    this.state = h('span', { class: 'status-pill', 'data-state': 'disconnected' }, STATE_TEXT.disconnected);
    this.detail = h('span', { class: 'status-detail' });
    this.error = h('div', { class: 'error-banner', role: 'alert', hidden: true });
    this.errorText = h('p', {});
    const dismiss = h('button', { type: 'button', class: 'dismiss', id: 'dismiss-error' }, 'Dismiss');
    dismiss.addEventListener('click', () => this.clearError());
    this.error.append(this.errorText, dismiss);
    this.element = h(
      'div',
      { class: 'status-bar' },
      h(
        'p',
        { class: 'status', role: 'status', 'aria-live': 'polite', id: 'status' },
        this.state,
        this.detail,
      ),
      this.error,
    );
  }

  set(state: ConnectionState, detail = ''): void {
    this.state.dataset.state = state;
    this.state.textContent = STATE_TEXT[state];
    this.detail.textContent = detail;
  }

  /** Shows an error by its typed class and message, as the driver wrote it. */
  showError(error: unknown, context?: string): void {
    const name = errorName(error);
    this.errorText.replaceChildren(
      h('strong', {}, context ? `${context}: ` : ''),
      h('span', { class: 'error-name' }, name),
      ' ',
      errorMessage(error),
    );
    this.error.hidden = false;
  }

  clearError(): void {
    // Focus on the banner's button would be lost when it hides: hand it back to the page.
    if (this.error.contains(document.activeElement)) document.getElementById('main')?.focus();
    this.error.hidden = true;
    this.errorText.replaceChildren();
  }
}
