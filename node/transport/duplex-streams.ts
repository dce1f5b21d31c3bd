/**
 * Web Streams over a Node Duplex (a serial port or a socket), written by hand
 * rather than with `Duplex.toWeb()` because a serialport stream neither ends
 * nor errors when its device vanishes: it emits `close` with an error and
 * queues later writes until a reopen that never comes. Here every way the
 * connection can end settles both streams, and no write is left hanging.
 */
import type { Duplex } from 'node:stream';
import { ConnectionLostError, closedError } from './errors.ts';
import type { Transport, TransportEnd } from './transport-shape.ts';

export interface DuplexStreamsOptions {
  /** Names the connection in errors, e.g. "serial port /dev/ttyACM0". */
  readonly label: string;
  /** Releases the underlying resource. May reject; close() ignores that. */
  shutdown(): Promise<void>;
  /** Bytes the readable queues before the Duplex is paused. */
  readonly readHighWaterMark?: number;
  /** Bytes the writable queues before `writer.ready` waits. */
  readonly writeHighWaterMark?: number;
  /** How long close() waits for shutdown() before giving up on it. */
  readonly shutdownTimeoutMs?: number;
}

export interface DuplexStreams extends Transport {
  /** Settles once, when the streams end; never rejects. */
  readonly ended: Promise<TransportEnd>;
}

const DEFAULT_READ_HWM = 64 * 1024;
const DEFAULT_WRITE_HWM = 16 * 1024;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 2000;

export function streamsFromDuplex(stream: Duplex, options: DuplexStreamsOptions): DuplexStreams {
  const { label } = options;
  let state: 'open' | 'closing' | 'ended' = 'open';
  let readCancelled = false;
  let lastError: Error | undefined;
  let closing: Promise<void> | undefined;
  let readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  let writeController: WritableStreamDefaultController | undefined;
  const pendingWrites = new Set<(error: Error) => void>();
  let resolveEnded!: (end: TransportEnd) => void;
  const ended = new Promise<TransportEnd>((resolve) => {
    resolveEnded = resolve;
  });

  const onData = (chunk: Buffer): void => {
    if (readCancelled || state === 'ended' || !readController) return;
    // A copy: serialport hands out views of a pool it reuses.
    readController.enqueue(new Uint8Array(chunk));
    if ((readController.desiredSize ?? 0) <= 0) stream.pause();
  };
  const onEnd = (): void => lose(new Error('the other end closed the connection'));
  const onClose = (error?: unknown): void => lose(error instanceof Error ? error : lastError);
  const onError = (error: Error): void => {
    lastError = error;
    lose(error);
  };

  function detach(): void {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onClose);
    stream.off('error', onError);
    // Late errors from a stream we have let go of must not crash the process.
    stream.on('error', () => {});
  }

  function lose(cause: Error | undefined): void {
    // While closing, the events are our own shutdown's echo.
    if (state !== 'open') return;
    const error = new ConnectionLostError(label, cause ? { cause } : undefined);
    finish({ kind: 'lost', error });
    void Promise.resolve(options.shutdown()).catch(() => {});
  }

  function finish(end: TransportEnd): void {
    if (state === 'ended') return;
    state = 'ended';
    detach();
    const error = end.kind === 'lost' ? end.error : closedError(label);
    try {
      if (end.kind === 'lost') readController?.error(error);
      else readController?.close();
    } catch {
      // Already closed or cancelled by its reader: nothing left to end.
    }
    try {
      writeController?.error(error);
    } catch {
      // Already errored.
    }
    for (const reject of pendingWrites) reject(error);
    pendingWrites.clear();
    resolveEnded(end);
  }

  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        readController = controller;
      },
      pull() {
        if (state !== 'ended') stream.resume();
      },
      cancel() {
        // The reader is done; the connection stays usable for writing.
        readCancelled = true;
        stream.pause();
      },
    },
    { highWaterMark: options.readHighWaterMark ?? DEFAULT_READ_HWM, size: (chunk) => chunk.byteLength },
  );

  const writable = new WritableStream<Uint8Array>(
    {
      start(controller) {
        writeController = controller;
      },
      write(chunk) {
        if (state !== 'open') return Promise.reject(closedError(label));
        // One chunk at a time, resolved when the OS has taken it: this is the
        // back-pressure the WritableStream's queue and writer.ready build on.
        return new Promise<void>((resolve, reject) => {
          const fail = (error: Error): void => reject(error);
          pendingWrites.add(fail);
          stream.write(chunk, (error) => {
            if (!pendingWrites.delete(fail)) return;
            if (error) {
              const lost = new ConnectionLostError(label, { cause: error });
              reject(lost);
              lose(error);
            } else resolve();
          });
        });
      },
    },
    { highWaterMark: options.writeHighWaterMark ?? DEFAULT_WRITE_HWM, size: (chunk) => chunk.byteLength },
  );

  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onClose);
  stream.on('error', onError);

  function close(): Promise<void> {
    if (closing) return closing;
    if (state === 'ended') {
      closing = Promise.resolve();
      return closing;
    }
    state = 'closing';
    const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    closing = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      // A device that is already gone may fail or never answer: either way it is closed for us.
      await Promise.race([Promise.resolve(options.shutdown()).catch(() => {}), giveUp]);
      clearTimeout(timer);
      finish({ kind: 'closed' });
    })();
    return closing;
  }

  return { readable, writable, close, ended };
}
