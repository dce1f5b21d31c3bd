/**
 * Gathers the bytes a board transmits one at a time into chunks, handed on
 * once the current burst of callbacks is over, so a TCP client or a log gets
 * one write per burst instead of one per byte.
 */
export function batchBytes(deliver: (chunk: Uint8Array) => void): {
  push(byte: number): void;
  flush(): void;
} {
  let pending: number[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = Uint8Array.from(pending);
    pending = [];
    deliver(chunk);
  };
  return {
    push(byte) {
      pending.push(byte);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
