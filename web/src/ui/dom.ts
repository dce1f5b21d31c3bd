/**
 * A small element builder: enough to write panels as plain functions
 * without a framework, and to keep attributes such as labels and ARIA
 * next to the element they describe.
 */

type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** A labelled field: `<label for=id>` beside its control, so the label is clickable and announced. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  if (!control.id) throw new Error(`field "${label}" needs a control with an id`);
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null,
  );
}

/** A titled card that is always shown; `id` names the heading so the region is announced by it. */
export function card(id: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: `panel panel-${id}`, id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    ...children,
  );
}

const OPEN_KEY = 'dma-bridge.panels-open';

/** Whether each collapsible panel was left open, by id (kept across visits). */
function remembered(): Record<string, boolean> {
  try {
    return JSON.parse(globalThis.localStorage?.getItem(OPEN_KEY) ?? '{}') as Record<string, boolean>;
  } catch {
    return {};
  }
}

/**
 * A titled panel the user opens and collapses (a `<details>`; its summary
 * is the heading, reached and toggled from the keyboard). Open by default
 * on a wide screen and collapsed on a phone, then as the user left it.
 */
export function panel(id: string, title: string, ...children: Child[]): HTMLDetailsElement {
  const narrow = globalThis.matchMedia?.('(max-width: 700px)').matches ?? false;
  const open = remembered()[id] ?? !narrow;
  const element = h(
    'details',
    { class: `panel panel-${id}`, id, open },
    h('summary', { id: `${id}-toggle` }, h('h2', { id: `${id}-title` }, title)),
    ...children,
  );
  element.addEventListener('toggle', () => {
    try {
      const state = remembered();
      state[id] = element.open;
      globalThis.localStorage?.setItem(OPEN_KEY, JSON.stringify(state));
    } catch {
      // Storage refused (private mode): the panel just does not remember.
    }
  });
  return element;
}

export function button(label: string, attributes: Attributes = {}): HTMLButtonElement {
  return h('button', { type: 'button', ...attributes }, label);
}

/**
 * Replaces a scrolling box's text, keeping the newest (last) lines in view
 * if the reader was already at the end; someone who scrolled up to read
 * is left where they are.
 */
export function setTextFollowingTail(box: HTMLElement, text: string): void {
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  box.textContent = text;
  if (atEnd) box.scrollTop = box.scrollHeight;
}
