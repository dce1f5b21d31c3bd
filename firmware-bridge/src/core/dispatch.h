/* Command execution (PROTOCOL.md 2): one request in, one reply payload out. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stddef.h>
#include <stdint.h>

/* Executes a sequenced request; writes the reply payload (status first,
 * at most MAX_REPLY_PAYLOAD bytes) and returns its length. */
size_t dispatch_request(uint8_t type, const uint8_t *req, size_t n, uint8_t *rep);

/* A new session opened: stop and reset what the bridge exposes, as
 * RESET_PERIPHERALS does. */
void dispatch_new_session(void);

/* The HELLO reply payload (status OK and the body). */
size_t dispatch_hello(uint8_t *rep);

#endif
