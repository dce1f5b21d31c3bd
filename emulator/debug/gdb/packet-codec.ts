/**
 * GDB Remote Serial Protocol framing ("Overview" and "Binary Data" in GDB's
 * manual, appendix E): `$payload#cs` with a two-hex-digit modulo-256 sum,
 * `}` escaping (the next byte XOR 0x20), `+`/`-` acknowledgements and the
 * out-of-band interrupt byte 0x03. Pure: bytes in, events out.
 */

/** What the byte stream from GDB holds, in order. */
export type InboundEvent =
  | { readonly kind: 'packet'; readonly payload: string }
  /** A packet whose checksum does not match: answered with `-` in ack mode. */
  | { readonly kind: 'bad-checksum'; readonly payload: string }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nak' }
  /** Ctrl-C: stop the target. */
  | { readonly kind: 'interrupt' };

/** The longest payload accepted (and advertised as PacketSize); longer ones are dropped as damaged. */
export const MAX_PACKET = 0x4000;

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;

export function checksum(bytes: string): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum + bytes.charCodeAt(i)) & 0xff;
  return sum;
}

/** Frames a reply, escaping the characters the protocol reserves. Payloads are latin1 strings (one char per byte). */
export function encodePacket(payload: string): string {
  let body = '';
  for (let i = 0; i < payload.length; i++) {
    const c = payload.charCodeAt(i);
    if (c === DOLLAR || c === HASH || c === ESCAPE || c === 0x2a) body += `}${String.fromCharCode(c ^ 0x20)}`;
    else body += payload[i];
  }
  return `$${body}#${checksum(body).toString(16).padStart(2, '0')}`;
}

type State = 'idle' | 'payload' | 'escape' | 'sum1' | 'sum2';

/** Splits GDB's byte stream into events; keeps partial packets across `push` calls. */
export class PacketDecoder {
  private state: State = 'idle';
  /** Raw bytes between `$` and `#` (for the checksum) and their unescaped payload. */
  private raw = '';
  private payload = '';
  private sum = '';
  private overlong = false;

  push(bytes: Uint8Array): InboundEvent[] {
    const events: InboundEvent[] = [];
    for (const b of bytes) {
      const ch = String.fromCharCode(b);
      switch (this.state) {
        case 'idle':
          if (b === DOLLAR) this.begin();
          else if (b === 0x2b) events.push({ kind: 'ack' });
          else if (b === 0x2d) events.push({ kind: 'nak' });
          else if (b === 0x03) events.push({ kind: 'interrupt' });
          // anything else between packets is line noise: ignored
          break;
        case 'payload':
        case 'escape':
          if (b === DOLLAR) {
            // A new packet starts inside one: the first was cut short.
            this.begin();
          } else if (b === HASH && this.state === 'payload') {
            this.state = 'sum1';
          } else {
            this.raw += ch;
            if (this.state === 'escape') {
              this.payload += String.fromCharCode(b ^ 0x20);
              this.state = 'payload';
            } else if (b === ESCAPE) {
              this.state = 'escape';
            } else {
              this.payload += ch;
            }
            if (this.raw.length > MAX_PACKET) this.overlong = true;
          }
          break;
        case 'sum1':
          this.sum = ch;
          this.state = 'sum2';
          break;
        case 'sum2': {
          this.sum += ch;
          this.state = 'idle';
          const good =
            /^[0-9a-fA-F]{2}$/.test(this.sum) && Number.parseInt(this.sum, 16) === checksum(this.raw);
          events.push({ kind: good && !this.overlong ? 'packet' : 'bad-checksum', payload: this.payload });
          this.raw = this.payload = this.sum = '';
          break;
        }
      }
    }
    return events;
  }

  private begin(): void {
    this.state = 'payload';
    this.raw = this.payload = this.sum = '';
    this.overlong = false;
  }
}
