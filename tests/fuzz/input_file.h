/*
 * A fuzz input as a file, for harnesses whose parser reads a path (the configuration files):
 * one private temporary file (mode 0600, under $TMPDIR or /tmp), rewritten for every input
 * and removed at exit.
 */
#ifndef WARD_TESTS_FUZZ_INPUT_FILE_H_
#define WARD_TESTS_FUZZ_INPUT_FILE_H_

#include <stddef.h>
#include <stdint.h>

/** The file's path, holding exactly data[0, size). Aborts when it cannot be written. */
const char *fuzz_input_file(const char *name, const uint8_t *data, size_t size);

#endif /* WARD_TESTS_FUZZ_INPUT_FILE_H_ */
