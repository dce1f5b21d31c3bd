/** A trace written to a file as it is made (Node). */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Cpu } from '../../core/cpu.ts';
import type { VirtualBoard } from '../../host/virtual-board.ts';
import { type Trace, type TraceOptions, traceBoard, traceCore } from './trace-board.ts';

/** Buffers the text and writes it in large pieces; `close` flushes and closes. */
function fileSink(path: string): { sink: (text: string) => void; close: () => void } {
  const fd = openSync(path, 'w');
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length > 0) writeSync(fd, pending.join(''));
    pending = [];
    size = 0;
  };
  return {
    sink(text) {
      pending.push(text);
      size += text.length;
      if (size >= 1 << 16) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

export type FileTraceOptions = Omit<TraceOptions, 'sink'>;

function toFile(path: string, start: (sink: (text: string) => void) => Trace): Trace {
  const file = fileSink(path);
  let trace: Trace;
  try {
    trace = start(file.sink);
  } catch (error) {
    file.close();
    throw error;
  }
  return {
    stop() {
      trace.stop();
      file.close();
    },
  };
}

/** Records the board's signals to the VCD file at `path` until `stop()`. */
export function traceBoardToFile(board: VirtualBoard, path: string, options: FileTraceOptions = {}): Trace {
  return toFile(path, (sink) => traceBoard(board, { ...options, sink }));
}

/** Records the bare core's interrupt lines to the VCD file at `path` until `stop()`. */
export function traceCoreToFile(cpu: Cpu, path: string, options: FileTraceOptions = {}): Trace {
  return toFile(path, (sink) => traceCore(cpu, { ...options, sink }));
}
