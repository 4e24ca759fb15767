/* vsiwatch.h: GDAL writes whose failures are not lost (internal to the library).
 *
 * GDAL 3.6's GeoJSON and CSV writers ignore the result of their writes and of closing
 * the file, and its GTiff writer reports a full disk as libtiff's "Write error at
 * scanline 0": a full disk would leave a truncated GeoJSON that looks complete, or a
 * message that does not say why. A file opened through the prefix "/vsicrwatch/" is
 * the same file, written through GDAL's own I/O, but the first write, flush or close
 * that fails is recorded with its errno, for the writer to check after GDALClose(). */
#ifndef CITYRISK_VSIWATCH_H
#define CITYRISK_VSIWATCH_H

/* path ("/tmp/a.json", "/vsistdout/") seen through the watch: "/vsicrwatch/" + path;
 * free() it. Installs the handler on first use. NULL when out of memory. */
char *cr_watch_path(const char *path);

/* Removes every "/vsicrwatch/" from text, in place: what GDAL says of a watched file names
 * it by its watch path, which means nothing to the user ("/vsicrwatch/out/.d.tif.part.Ab12Cd"
 * becomes "out/.d.tif.part.Ab12Cd"). */
void cr_watch_unwrap(char *text);

/* The errno of the first failed write, flush or close of a watched file whose path
 * begins with prefix, 0 when none failed; forgets the failures of those files. */
int cr_watch_failure(const char *prefix);

#endif
