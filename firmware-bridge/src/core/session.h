/* Sessions and sequence numbers (PROTOCOL.md 4): exactly-once execution
 * with a reply cache of SESSION_WINDOW replies. */
#ifndef SESSION_H
#define SESSION_H

#include <stddef.h>
#include <stdint.h>

/* After a reset: no session; NO_SESSION refusals carry boot_epoch. */
void session_init(uint32_t boot_epoch);

/* A valid frame from the host (version and CRC already checked). */
void session_on_request(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len);

#endif
