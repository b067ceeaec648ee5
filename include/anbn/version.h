/* anbn — version of the headers this program was compiled against.
 * Compare with anbn_version() / anbn_version_number() for the library that is
 * actually loaded at run time. */
#ifndef ANBN_VERSION_H
#define ANBN_VERSION_H

#define ANBN_VERSION_MAJOR 0
#define ANBN_VERSION_MINOR 2
#define ANBN_VERSION_PATCH 0
#define ANBN_VERSION_STRING "0.2.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define ANBN_VERSION_NUMBER \
  (ANBN_VERSION_MAJOR * 10000 + ANBN_VERSION_MINOR * 100 + ANBN_VERSION_PATCH)

#endif /* ANBN_VERSION_H */
