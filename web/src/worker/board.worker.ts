/**
 * The virtual Nucleo-G071RB in a Web Worker, so emulating the core never
 * blocks the page. The worker owns the board and its host port; the page
 * sees bytes through messages (see messages.ts).
 */
import { type HostPort, VirtualBoard } from '../../../emulator/index.ts';
import { chooseLinkRate, measureCoreMips } from './link-rate.ts';
import type { FromWorker, ToWorker } from './messages.ts';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
}

// The DOM lib types `self` as a Window; in a dedicated worker it is the worker scope.
const scope = self as unknown as WorkerScope;

let board: VirtualBoard | undefined;
let port: HostPort | undefined;
let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
let peerBatch: number[] = [];
let peerBatchTimeNs = 0;
let peerFlushQueued = false;

function post(message: FromWorker): void {
  const transfer = 'bytes' in message ? [message.bytes.buffer as ArrayBuffer] : [];
  scope.postMessage(message, transfer);
}

function start(firmware: ArrayBuffer, usart1: 'peer' | 'loopback', maxLinkBaud?: number): void {
  // Paced to the wall clock, as a real board behind a serial port: the
  // console's timeouts, progress and Stop then mean what they would on
  // hardware, and the worker sleeps instead of racing ahead on a core the
  // page needs for its frames.
  // The console's peer stands for a device set to whatever line settings the user picks.
  board = new VirtualBoard({
    firmware: new Uint8Array(firmware),
    usart1,
    pace: 'realtime',
    peerBaudRate: 'follow-board',
  });
  board.onHalt((halt) => post({ type: 'halted', reason: describeHalt(halt) }));
  board.peer.onByte((byte, timeNs) => {
    peerBatch.push(byte);
    peerBatchTimeNs = timeNs;
    // One message per burst instead of one per byte keeps the page calm.
    if (!peerFlushQueued) {
      peerFlushQueued = true;
      setTimeout(flushPeer, 0);
    }
  });
  // The fastest link this worker keeps up with; the driver negotiates up to it.
  const chosen = chooseLinkRate(measureCoreMips()).baud;
  const rate = { baud: maxLinkBaud === undefined ? chosen : Math.min(chosen, maxLinkBaud) };
  port = board.hostPort({ maxBaudRate: rate.baud });
  writer = port.writable.getWriter();
  void pumpToPage(port.readable.getReader());
  board.start();
  post({
    type: 'ready',
    description: `virtual Nucleo-G071RB, link up to ${rate.baud} Bd`,
    maxBaudRate: rate.baud,
  });
}

async function setBaud(id: number, baud: number): Promise<void> {
  try {
    if (!port) throw new Error('the virtual board is not running');
    await port.setBaudRate(baud);
    post({ type: 'baud-done', id });
  } catch (e) {
    post({ type: 'baud-done', id, error: e instanceof Error ? e.message : String(e) });
  }
}

function flushPeer(): void {
  peerFlushQueued = false;
  if (peerBatch.length === 0) return;
  post({ type: 'peer-bytes', bytes: Uint8Array.from(peerBatch), timeNs: peerBatchTimeNs });
  peerBatch = [];
}

async function pumpToPage(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      post({ type: 'data', bytes: value.slice() });
    }
  } catch {
    // The port closed under the reader; the page is told below.
  }
  post({ type: 'port-closed' });
}

async function write(id: number, bytes: Uint8Array): Promise<void> {
  if (!writer) {
    post({ type: 'write-done', id, error: 'the virtual board is not running' });
    return;
  }
  try {
    await writer.write(bytes);
    post({ type: 'write-done', id });
  } catch (e) {
    post({ type: 'write-done', id, error: e instanceof Error ? e.message : String(e) });
  }
}

async function closePort(): Promise<void> {
  writer?.releaseLock();
  writer = undefined;
  await board?.dispose();
}

function describeHalt(halt: NonNullable<VirtualBoard['halted']>): string {
  return halt.reason === 'lockup'
    ? 'the core locked up (a fault inside a fault handler)'
    : `the core stopped: ${halt.reason}`;
}

scope.addEventListener('message', (event) => {
  const message = event.data;
  try {
    switch (message.type) {
      case 'start':
        start(message.firmware, message.usart1, message.maxLinkBaud);
        break;
      case 'write':
        void write(message.id, message.bytes);
        break;
      case 'close-port':
        void closePort();
        break;
      case 'peer-inject':
        board?.peer.inject(message.bytes);
        break;
      case 'peer-error':
        board?.peer.injectError(message.kind, message.byte);
        break;
      case 'peer-clear':
        board?.peer.clear();
        break;
      case 'wiring':
        board?.setUsart1Wiring(message.usart1);
        break;
      case 'set-baud':
        void setBaud(message.id, message.baud);
        break;
      case 'reset':
        board?.reset();
        post({ type: 'reset-done', bootCount: board?.bootCount ?? 0 });
        break;
    }
  } catch (e) {
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  }
});
