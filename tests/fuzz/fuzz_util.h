/* Shared by the fuzz targets: inputs as files (memfd: no disk), the oracle
 * "a status in the enum, with a message on failure", and a model's image. */
#ifndef ANBN_FUZZ_UTIL_H
#define ANBN_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "anbn/anbn.h"

/* A path naming `data` as a regular file; close(fd) when done. */
static inline int fuzz_file(const uint8_t *data, size_t size, char path[64]) {
  const int fd = memfd_create("anbn-fuzz", MFD_CLOEXEC);
  if (fd < 0) abort();
  for (size_t off = 0; off < size;) {
    const ssize_t w = write(fd, data + off, size - off);
    if (w <= 0) abort();
    off += (size_t)w;
  }
  snprintf(path, 64, "/proc/self/fd/%d", fd);
  return fd;
}

/* The oracle every call answers to. */
static inline anbn_status fuzz_check(anbn_status rc, const char *what) {
  if ((int)rc < ANBN_OK || (int)rc > ANBN_ERR_CANCELLED) {
    fprintf(stderr, "%s returned %d, not a status\n", what, (int)rc);
    abort();
  }
  if (rc != ANBN_OK && anbn_last_error()[0] == '\0') {
    fprintf(stderr, "%s failed with %s and no message\n", what, anbn_status_string(rc));
    abort();
  }
  return rc;
}

/* The model's saved image (parameters, Adam state, config, epoch, generator). */
static inline char *fuzz_image(anbn_model *m, size_t *n) {
  static char path[128];
  if (!path[0]) /* in memory where there is a tmpfs: saves fsync */
    snprintf(path, sizeof path, "%s/anbn-fuzz-image-%d.safetensors", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
             (int)getpid());
  if (anbn_save(m, path) != ANBN_OK) {
    fprintf(stderr, "saving the image failed: %s\n", anbn_last_error());
    abort();
  }
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc(*n ? *n : 1);
  if (fread(b, 1, *n, f) != *n) abort();
  fclose(f);
  return b;
}

#endif
