/* SPDX-License-Identifier: Apache-2.0 */
/* Replay store internals only tests may touch. */
#ifndef VMSEAL_REPLAY_PRIV_H
#define VMSEAL_REPLAY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"

/* replay_memory_new with another monotonic clock (milliseconds), to step time in tests. */
struct replay_store *replay_memory_new_clock(size_t capacity, int64_t (*mono_ms)(void *ctx),
					     void *ctx);

#endif
