#ifndef C_FUZZ_DRIVER_H
#define C_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for a program with a main of its own: SwiftPM links every executable with
// main aliased to `<Module>_main`, which a `-parse-as-library` target must define, so each
// fuzz target's `<Module>_main` hands over to libFuzzer here.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
