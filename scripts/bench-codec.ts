/**
 * Codec throughput: encode and decode of 1 KiB frames (MEM_WRITE requests
 * with a 1024-byte payload), in MB/s of wire bytes, wall time, ~1 s each.
 *   npx tsx scripts/bench-codec.ts
 */

import { type Decoded, encodeMessage, FrameDecoder, type Request } from '../driver/protocol/index.ts';

const data = new Uint8Array(1020);
for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) & 0xff;
const message: Extract<Request, { command: 'mem-write' }> = {
  kind: 'request',
  command: 'mem-write',
  seq: 1,
  address: 0x2000_4000,
  data,
};

function encodeRate(): number {
  let bytes = 0;
  let seq = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    for (let i = 0; i < 200; i++) {
      message.seq = seq++ & 0xffff;
      bytes += encodeMessage(message).length;
    }
    elapsed = performance.now() - start;
  }
  return bytes / 1e6 / (elapsed / 1000);
}

function decodeRate(): number {
  const frames = 256;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < frames; i++) parts.push(encodeMessage({ ...message, seq: i }));
  const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    stream.set(p, o);
    o += p.length;
  }
  const decoder = new FrameDecoder();
  let decoded = 0;
  const onDecoded = (d: Decoded) => {
    if (d.kind === 'request') decoded++;
  };
  const chunk = 4096; // a typical serial read size
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    for (let i = 0; i < stream.length; i += chunk) decoder.push(stream.subarray(i, i + chunk), onDecoded);
    bytes += stream.length;
    elapsed = performance.now() - start;
  }
  if (decoded * stream.length !== bytes * frames) throw new Error('decoder lost frames during the benchmark');
  return bytes / 1e6 / (elapsed / 1000);
}

const enc = encodeRate();
const dec = decodeRate();
console.log(`codec: encode 1 KiB frames ${enc.toFixed(1)} MB/s, decode ${dec.toFixed(1)} MB/s (wall time)`);
