/**
 * Debugging the virtual board (Node): a GDB stub and signal traces. The
 * browser-safe parts (traceBoard, parseVcd, the target) import nothing of
 * Node; serveGdb and the file traces do.
 */
export { boardDebugHost } from './board-host.ts';
export { CoreDebugTarget } from './core-target.ts';
export type { DebugHost } from './debug-host.ts';
export type { GdbServer, GdbServerOptions } from './gdb/server.ts';
export { MachineRunner } from './machine-runner.ts';
export { serveDebugHost, serveGdb } from './serve-gdb.ts';
export type { DebugTarget, StopReason, WatchKind } from './target.ts';
export { type Trace, type TraceOptions, traceBoard, traceCore } from './trace/trace-board.ts';
export { traceBoardToFile, traceCoreToFile } from './trace/trace-file.ts';
export { parseVcd, type VcdTrace } from './trace/vcd-parser.ts';
