/**
 * xterm.js and its fit and search add-ons, in a chunk of their own: the
 * page's first load stays small and the terminal arrives a moment later
 * (its output is kept until then and written once it is there).
 */
import '@xterm/xterm/css/xterm.css';

export { FitAddon } from '@xterm/addon-fit';
export { SearchAddon } from '@xterm/addon-search';
export { Terminal } from '@xterm/xterm';
