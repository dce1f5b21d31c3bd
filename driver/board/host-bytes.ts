/**
 * Bytes a caller hands the driver, copied once on the way in. A caller's
 * Uint8Array is an object it controls (an own `slice`, `length` or
 * `subarray`, a changed prototype, a Proxy): the driver checks and sends
 * only its own copy, made through intrinsics captured when this module
 * loaded, and reads the caller's object no further.
 */

const U8 = Uint8Array;
/** %TypedArray%.prototype[@@toStringTag]: reads the internal slot, 'Uint8Array' only for a genuine one. */
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(U8.prototype),
  Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;

/** True for a genuine Uint8Array (a Buffer too), whatever its own properties or prototype say. */
export function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayTag.call(value) === 'Uint8Array';
}

/**
 * A private copy of `value`'s bytes (its length and contents as its
 * internal slots say), or a TypeError naming `by` for anything but a
 * Uint8Array.
 */
export function copyHostBytes(value: unknown, by: string): Uint8Array {
  if (!isUint8Array(value)) {
    throw new TypeError(
      `${by} takes a Uint8Array, not ${value === null ? 'null' : typeof value === 'object' ? 'another object' : typeof value}: ` +
        'encode text first, e.g. new TextEncoder().encode(text)',
    );
  }
  // The TypedArray constructor copies from the source's internal slots: no method or property of it is called.
  return new U8(value);
}
