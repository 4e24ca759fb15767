/*
 * export.h: CR_API marks the functions another program may call.
 *
 * With GCC and Clang it gives them default visibility, so that a library built with
 * hidden visibility (-fvisibility=hidden) still exports them and nothing else;
 * elsewhere it is empty.
 */
#ifndef CITYRISK_EXPORT_H
#define CITYRISK_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CR_API __attribute__((visibility("default")))
#else
#define CR_API
#endif

#endif
