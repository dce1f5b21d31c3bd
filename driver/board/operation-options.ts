/** Per-operation options of the board's requests. */

import type { Reply } from '../protocol/index.ts';
import type { Handle } from './handles.ts';

export interface OperationOptions {
  signal?: AbortSignal;
  /** Fail with RevokedError instead of running if this handle was revoked by a reset. */
  handle?: Handle;
  /**
   * Called synchronously when the reply that completes the operation
   * arrives (the last piece of a split one, or the piece a batch failed
   * in), before any event behind it is delivered, with the reply's event
   * mark (PROTOCOL.md §3). Lets a caller order its own state against
   * events; not called when the operation fails on the link.
   */
  onReply?: (reply: Reply) => void;
  /**
   * Called once, when the operation's first request goes on the wire. An
   * operation that fails before this never reached the board.
   */
  onSent?: () => void;
}
