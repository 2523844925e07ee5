// SHA-256's compression function on the CPU's SHA extensions (x86-64 SHA-NI), for the Authentication module.
#ifndef CSHA256_H
#define CSHA256_H
#include <stddef.h>
#include <stdint.h>

// 1 when this CPU has the SHA extensions (and SSE4.1), so kv_sha256_blocks may be called; 0 otherwise.
int kv_sha256_hardware_available(void);

// Compresses `blocks` 64-byte blocks at `data` into `state` (the eight chaining words, a first). Call only
// when kv_sha256_hardware_available() returned 1.
void kv_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
