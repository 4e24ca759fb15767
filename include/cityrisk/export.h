/* export.h: CR_API marks the functions of the public API, visible from the shared library. */
#ifndef CITYRISK_EXPORT_H
#define CITYRISK_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CR_API __attribute__((visibility("default")))
#else
#define CR_API
#endif

#endif
