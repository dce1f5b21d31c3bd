/**
 * Light or dark beside the system's setting: "System" follows the
 * operating system (prefers-color-scheme), "Light" and "Dark" override it
 * and are remembered.
 */
import { field, h } from './dom.ts';

export type Theme = 'system' | 'light' | 'dark';
const KEY = 'dma-bridge.theme';

function stored(): Theme {
  try {
    const value = globalThis.localStorage?.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

/** Applies `theme` to the page: `data-theme` on <html> picks the colours (see style.css). */
export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}

/** The chooser for the page header; `changed` runs after each change (views drawn on canvases follow). */
export function themeChooser(changed: (theme: Theme) => void): HTMLElement {
  const select = h(
    'select',
    { id: 'theme' },
    h('option', { value: 'system' }, 'System'),
    h('option', { value: 'light' }, 'Light'),
    h('option', { value: 'dark' }, 'Dark'),
  );
  const initial = stored();
  select.value = initial;
  applyTheme(initial);
  select.addEventListener('change', () => {
    const theme = select.value as Theme;
    applyTheme(theme);
    try {
      if (theme === 'system') globalThis.localStorage?.removeItem(KEY);
      else globalThis.localStorage?.setItem(KEY, theme);
    } catch {
      // Not remembered; still applied.
    }
    changed(theme);
  });
  globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', () => changed(stored()));
  return h('div', { class: 'theme-chooser' }, field('Theme', select));
}
