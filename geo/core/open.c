/* open.c: opening inputs with clear, one-line failures naming the file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>

#include "internal.h"

cr_status cr_check_input_path(cr_ctx *ctx, const char *path, const char *kind)
{
    if (!path || !*path)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no %s file given", kind);
    if (strncmp(path, "/vsi", 4) == 0)
        return CR_OK; /* GDAL virtual file systems are checked by GDAL itself */
    struct stat st;
    if (stat(path, &st) != 0)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot open %s '%s': %s", kind, path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        /* Some vector formats (Shapefile folders, FileGDB) are directories. */
        if (strcmp(kind, "vector") == 0)
            return CR_OK;
        return cr_ctx_fail(ctx, CR_E_DATA, "cannot open %s '%s': it is a directory", kind, path);
    }
    /* A named pipe would block the open until something writes into it, a device such as
     * /dev/zero would be read for ever: inputs are files. */
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return cr_ctx_fail(ctx, CR_E_DATA, "cannot open %s '%s': not a regular file (%s)", kind, path,
                           S_ISFIFO(st.st_mode)  ? "a named pipe"
                           : S_ISCHR(st.st_mode) ? "a character device"
                           : S_ISBLK(st.st_mode) ? "a block device"
                                                 : "a socket");
    if (access(path, R_OK) != 0)
        return cr_ctx_fail(ctx, CR_E_IO, "cannot open %s '%s': %s", kind, path, strerror(errno));
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return cr_ctx_fail(ctx, CR_E_DATA, "cannot open %s '%s': the file is empty", kind, path);
    return CR_OK;
}

cr_status cr_open_dataset(cr_ctx *ctx, const char *path, const char *kind, const char *formats,
                          unsigned flags, GDALDatasetH *out)
{
    *out = NULL;
    cr_status st = cr_check_input_path(ctx, path, kind);
    if (st != CR_OK)
        return st;
    cr_gdal_begin(ctx);
    *out = GDALOpenEx(path, flags | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
    if (!*out) {
        /* GDAL's "not recognized as a supported file format" names the file already. */
        const char *msg = cr_gdal_message(ctx);
        if (strstr(msg, "not recognized") || !*msg)
            st = cr_ctx_fail(ctx, CR_E_DATA, "cannot open %s '%s': not a %s format GDAL can read",
                             kind, path, formats);
        else
            st = cr_ctx_fail_gdal(ctx, CR_E_DATA, "cannot open %s '%s'", kind, path);
    }
    cr_gdal_end(ctx);
    return st;
}

cr_status cr_open_raster(cr_ctx *ctx, const char *path, GDALDatasetH *out)
{
    cr_status st = cr_open_dataset(ctx, path, "raster", "raster", GDAL_OF_RASTER, out);
    if (st == CR_OK && GDALGetRasterCount(*out) == 0) {
        GDALClose(*out);
        *out = NULL;
        st = cr_ctx_fail(ctx, CR_E_DATA, "cannot open raster '%s': it has no raster bands", path);
    }
    return st;
}

cr_status cr_open_vector(cr_ctx *ctx, const char *path, GDALDatasetH *out)
{
    return cr_open_dataset(ctx, path, "vector", "vector", GDAL_OF_VECTOR, out);
}

cr_status cr_crs_to_wkt(cr_ctx *ctx, const char *crs, char **wkt)
{
    *wkt = NULL;
    if (!crs || !*crs)
        return cr_ctx_fail(ctx, CR_E_USAGE, "no CRS given");
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    cr_status st = CR_OK;
    cr_gdal_begin(ctx);
    const char *const wkt2[] = {"FORMAT=WKT2_2019", NULL};
    if (OSRSetFromUserInput(srs, crs) != OGRERR_NONE)
        st = cr_ctx_fail_gdal(ctx, CR_E_USAGE, "unknown CRS '%s'", crs);
    else if (OSRExportToWktEx(srs, wkt, wkt2) != OGRERR_NONE)
        st = cr_ctx_fail_gdal(ctx, CR_E_USAGE, "cannot express CRS '%s' as WKT", crs);
    cr_gdal_end(ctx);
    OSRDestroySpatialReference(srs);
    return st;
}

OGRSpatialReferenceH cr_srs_from_wkt(const char *wkt)
{
    if (!wkt || !*wkt)
        return NULL;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRErr err = OSRSetFromUserInput(srs, wkt);
    CPLPopErrorHandler();
    if (err != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        return NULL;
    }
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}
