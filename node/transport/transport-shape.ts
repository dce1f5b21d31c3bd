/**
 * The driver's Transport, and how this room's transports report their end.
 */
export type { Transport, TransportInfo } from '../../driver/transport/transport.ts';

/** Why a transport's streams ended: our own close(), or the connection went away under us. */
export type TransportEnd = { readonly kind: 'closed' } | { readonly kind: 'lost'; readonly error: Error };
