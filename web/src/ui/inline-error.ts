/**
 * An error shown beside the controls that caused it (announced at once as
 * an alert), with its technical class in small print for bug reports and,
 * where it helps, a link to the steps that fix it.
 */
import { h } from './dom.ts';

export interface ShownError {
  /** What happened and what to do, for a console user. */
  readonly text: string;
  /** The operation that failed, e.g. "Send". */
  readonly context: string;
  /** The error's class, e.g. "SerialError". */
  readonly technical?: string;
  /** A link to the steps that fix it. */
  readonly help?: { readonly href: string; readonly label: string };
}

export class InlineError {
  readonly element: HTMLElement;
  private readonly body = h('p', {});

  constructor(id: string) {
    const dismiss = h('button', { type: 'button', class: 'dismiss' }, 'Dismiss');
    dismiss.addEventListener('click', () => this.clear());
    this.element = h('div', { class: 'error-banner', id, role: 'alert', hidden: true }, this.body, dismiss);
  }

  get shown(): boolean {
    return !this.element.hidden;
  }

  show(error: ShownError): void {
    this.body.replaceChildren(h('strong', {}, `${error.context} failed: `), error.text);
    if (error.help) {
      this.body.append(' ', h('a', { href: error.help.href, class: 'help-link' }, error.help.label));
    }
    if (error.technical) this.body.append(h('small', { class: 'error-name' }, ` (${error.technical})`));
    this.element.hidden = false;
  }

  clear(): void {
    // Focus on the banner's button would be lost when it hides: hand it back to the page.
    if (this.element.contains(document.activeElement)) document.getElementById('main')?.focus();
    this.element.hidden = true;
    this.body.replaceChildren();
  }
}
