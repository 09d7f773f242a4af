/* fuzz.h - what every fuzz target shares: libFuzzer's entry point and
 * CHECK, which aborts (a finding for libFuzzer, a failure for the corpus
 * replay of standalone.c) when a property does not hold. */
#ifndef XT_FUZZ_H
#define XT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c))                                                                                                      \
            abort();                                                                                                   \
    } while (0)

#endif
