/**
 * Choosing a board and connecting to it. Radio buttons for the transport
 * (unsupported ones disabled, with the reason), then real buttons, so the
 * whole panel works from the keyboard in reading order.
 */
import { TRANSPORT_LABELS, type TransportKind } from '../app/open-transport.ts';
import { button, card, h } from './dom.ts';
import { InlineError } from './inline-error.ts';

export interface ConnectPanelHandlers {
  /** `choosePort`: show the WebSerial chooser even if a port was granted before. */
  connect(kind: TransportKind, choosePort?: boolean): void;
  disconnect(): void;
  resetBoard(): void;
}

export interface TransportSupport {
  readonly kind: TransportKind;
  readonly supported: boolean;
  readonly note: string;
}

export class ConnectPanel {
  readonly element: HTMLElement;
  private readonly radios = new Map<TransportKind, HTMLInputElement>();
  private readonly connectButton = button('Connect', { id: 'connect', class: 'primary' });
  private readonly disconnectButton = button('Disconnect', { id: 'disconnect', disabled: true });
  private readonly resetButton = button('Reset board', {
    id: 'reset-board',
    disabled: true,
    class: 'secondary',
  });
  private readonly chooseButton = button('Choose another port', {
    id: 'choose-port',
    class: 'secondary',
    hidden: true,
  });
  private readonly granted = h('p', { id: 'granted-port', class: 'hint', hidden: true });
  readonly error = new InlineError('connect-error');

  constructor(support: readonly TransportSupport[], handlers: ConnectPanelHandlers) {
    const options = support.map((s, i) => {
      const id = `transport-${s.kind}`;
      const radio = h('input', {
        type: 'radio',
        name: 'transport',
        id,
        value: s.kind,
        checked: i === 0,
        disabled: !s.supported,
        'aria-describedby': `${id}-note`,
      });
      this.radios.set(s.kind, radio);
      return h(
        'div',
        { class: 'choice' },
        radio,
        h('label', { for: id }, TRANSPORT_LABELS[s.kind]),
        h('small', { id: `${id}-note`, class: 'hint' }, s.note),
      );
    });
    const chooser = h('fieldset', { class: 'choices' }, h('legend', {}, 'Board'), ...options);
    this.connectButton.addEventListener('click', () => handlers.connect(this.selected()));
    this.chooseButton.addEventListener('click', () => handlers.connect('webserial', true));
    this.disconnectButton.addEventListener('click', () => handlers.disconnect());
    this.resetButton.addEventListener('click', () => handlers.resetBoard());
    this.element = card(
      'connection',
      'Connection',
      chooser,
      this.granted,
      h(
        'div',
        { class: 'actions' },
        this.connectButton,
        this.chooseButton,
        this.disconnectButton,
        this.resetButton,
      ),
      this.error.element,
    );
  }

  /** A WebSerial port granted before: Connect with WebSerial opens it without the chooser. */
  setGrantedPort(description: string | undefined): void {
    this.granted.hidden = !description;
    this.chooseButton.hidden = !description;
    this.granted.textContent = description ? `WebSerial remembers ${description}: Connect opens it.` : '';
    const radio = this.radios.get('webserial');
    if (description && radio && !radio.disabled && this.connectButton.disabled === false)
      radio.checked = true;
  }

  selected(): TransportKind {
    for (const [kind, radio] of this.radios) if (radio.checked) return kind;
    return 'virtual';
  }

  /** Enables what makes sense in each state; focus moves to the button that now matters. */
  setState(state: 'idle' | 'busy' | 'connected', kind?: TransportKind): void {
    // Disabling the focused button drops focus to <body>; the panel then takes it back.
    const active = document.activeElement;
    const focusHere = this.element.contains(active) || active === document.body || active === null;
    this.connectButton.disabled = state !== 'idle';
    this.chooseButton.disabled = state !== 'idle';
    this.disconnectButton.disabled = state !== 'connected';
    this.resetButton.disabled = !(state === 'connected' && kind === 'virtual');
    for (const radio of this.radios.values()) {
      radio.closest('fieldset')!.disabled = state !== 'idle';
    }
    if (!focusHere) return;
    if (state === 'connected') this.disconnectButton.focus();
    else if (state === 'idle') this.connectButton.focus();
  }
}
