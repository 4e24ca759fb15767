/* informal_settlements.shp: informal settlements as a city survey or OpenStreetMap publishes
 * them, polygons rather than a fraction raster. A Shapefile in EPSG:32736 whose names are
 * written in ISO-8859-1 (with a .cpg saying so), as many municipal GIS exports are.
 *
 * The survey outlines trace where the settlement function reaches 0.4 on a 60 m grid
 * (GDALPolygonize, then simplified to 30 m); the largest few also have an OpenStreetMap
 * outline, the survey's grown by 40 m, so the layer overlaps itself as merged sources do.
 * A reader must count overlapping areas once. */
#include "synthcity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdal_alg.h>

#define CELL_M 60.0
#define THRESHOLD 0.4
#define SIMPLIFY_M 30.0
#define MIN_AREA_M2 (6 * CELL_M * CELL_M) /* smaller specks are not mapped */
#define OSM_OUTLINES 3
#define OSM_GROWTH_M 40.0

/* The settlement mask on the 60 m grid: 1 where the fraction at the cell centre is >= 0.4. */
static GDALDatasetH mask_raster(const Job *job)
{
    const Georef *geo = job->georef;
    int size = (int)ceil(geo->extent / CELL_M);
    GDALDriverH mem = GDALGetDriverByName("MEM");
    GDALDatasetH ds = mem ? GDALCreate(mem, "", size, size, 1, GDT_Byte, NULL) : NULL;
    if (!ds)
        return NULL;
    double gt[6] = {geo->x_west, CELL_M, 0, geo->y_north, 0, -CELL_M};
    GDALSetGeoTransform(ds, gt);
    GDALSetSpatialRef(ds, geo->utm);
    unsigned char *row = malloc((size_t)size);
    int rc = row ? 0 : -1;
    for (int r = 0; r < size && rc == 0; r++) {
        for (int c = 0; c < size; c++) {
            TerrainSample s;
            terrain_sample(job->terrain, gt[0] + (c + 0.5) * CELL_M, gt[3] - (r + 0.5) * CELL_M, &s);
            row[c] = s.surface == SURFACE_LAND && landuse_settlement(job->terrain, &s) >= THRESHOLD;
        }
        if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, r, size, 1, row, size, 1, GDT_Byte,
                         0, 0) != CE_None)
            rc = -1;
    }
    free(row);
    if (rc != 0) {
        GDALClose(ds);
        return NULL;
    }
    return ds;
}

/* The mask's outlines, as polygons in a memory layer. */
static GDALDatasetH outlines(const Job *job, GDALDatasetH mask, OGRLayerH *layer)
{
    GDALDriverH mem = GDALGetDriverByName("Memory");
    GDALDatasetH ds = mem ? GDALCreate(mem, "", 0, 0, 0, GDT_Unknown, NULL) : NULL;
    *layer = ds ? GDALDatasetCreateLayer(ds, "outlines", job->georef->utm, wkbPolygon, NULL) : NULL;
    OGRFieldDefnH field = OGR_Fld_Create("value", OFTInteger);
    int ok = *layer && OGR_L_CreateField(*layer, field, TRUE) == OGRERR_NONE;
    OGR_Fld_Destroy(field);
    GDALRasterBandH band = GDALGetRasterBand(mask, 1);
    /* The band is its own mask: cells of 0 make no polygon. */
    if (!ok || GDALPolygonize(band, band, *layer, 0, NULL, NULL, NULL) != CE_None) {
        if (ds)
            GDALClose(ds);
        return NULL;
    }
    return ds;
}

static int add_field(OGRLayerH layer, const char *name, OGRFieldType type, int width)
{
    OGRFieldDefnH field = OGR_Fld_Create(name, type);
    OGR_Fld_SetWidth(field, width);
    OGRErr e = OGR_L_CreateField(layer, field, TRUE);
    OGR_Fld_Destroy(field);
    return e == OGRERR_NONE ? 0 : -1;
}

static OGRLayerH create_shapefile(const Job *job, const char *path, GDALDatasetH *out)
{
    GDALDriverH driver = GDALGetDriverByName("ESRI Shapefile");
    VSIUnlink(path);
    *out = driver ? GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!*out)
        return NULL;
    char **opts = CSLSetNameValue(NULL, "ENCODING", "ISO-8859-1");
    opts = CSLSetNameValue(opts, "DBF_DATE_LAST_UPDATE", "2025-01-01"); /* reproducible bytes */
    OGRLayerH layer = GDALDatasetCreateLayer(*out, "informal_settlements", job->georef->utm,
                                             wkbPolygon, opts);
    CSLDestroy(opts);
    if (!layer || add_field(layer, "id", OFTInteger, 6) != 0 ||
        add_field(layer, "nome", OFTString, 80) != 0 || add_field(layer, "fonte", OFTString, 24) != 0 ||
        add_field(layer, "area_ha", OFTReal, 12) != 0)
        return NULL;
    return layer;
}

static int write_outline(OGRLayerH layer, int id, const char *name, const char *source,
                         OGRGeometryH geometry)
{
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(layer));
    OGR_F_SetFieldInteger(f, 0, id);
    OGR_F_SetFieldString(f, 1, name);
    OGR_F_SetFieldString(f, 2, source);
    OGR_F_SetFieldDouble(f, 3, floor(OGR_G_Area(geometry) / 1e4 * 100 + 0.5) / 100);
    int rc = OGR_F_SetGeometry(f, geometry) == OGRERR_NONE && OGR_L_CreateFeature(layer, f) == OGRERR_NONE
                 ? 0
                 : -1;
    OGR_F_Destroy(f);
    return rc;
}

/* Survey outlines in polygonize order, then the OpenStreetMap outlines of the largest few. */
static int copy_outlines(OGRLayerH from, OGRLayerH to)
{
    OGRGeometryH largest[OSM_OUTLINES] = {0};
    double largest_area[OSM_OUTLINES] = {0};
    char largest_name[OSM_OUTLINES][160];
    int id = 0, rc = 0;
    OGR_L_ResetReading(from);
    OGRFeatureH f;
    while (rc == 0 && (f = OGR_L_GetNextFeature(from)) != NULL) {
        OGRGeometryH g = OGR_G_SimplifyPreserveTopology(OGR_F_GetGeometryRef(f), SIMPLIFY_M);
        OGR_F_Destroy(f);
        double area = g ? OGR_G_Area(g) : 0;
        if (!g || area < MIN_AREA_M2 || !OGR_G_IsValid(g)) {
            OGR_G_DestroyGeometry(g);
            continue;
        }
        char name[160];
        site_name((size_t)id, name, sizeof name);
        rc = write_outline(to, ++id, name, "levantamento 2023", g);
        /* Keep the largest few, smallest first out. */
        int slot = -1;
        for (int k = 0; k < OSM_OUTLINES; k++)
            if (area > largest_area[k] && (slot < 0 || largest_area[k] < largest_area[slot]))
                slot = k;
        if (slot >= 0) {
            OGR_G_DestroyGeometry(largest[slot]);
            largest[slot] = g;
            largest_area[slot] = area;
            snprintf(largest_name[slot], sizeof largest_name[slot], "%s", name);
        } else {
            OGR_G_DestroyGeometry(g);
        }
    }
    for (int k = 0; k < OSM_OUTLINES; k++) {
        if (!largest[k])
            continue;
        OGRGeometryH grown = OGR_G_Buffer(largest[k], OSM_GROWTH_M, 8);
        if (rc == 0)
            rc = grown ? write_outline(to, ++id, largest_name[k], "OpenStreetMap", grown) : -1;
        OGR_G_DestroyGeometry(grown);
        OGR_G_DestroyGeometry(largest[k]);
    }
    return rc;
}

int write_informal_settlements(const Job *job, const char *path, SynthError *err)
{
    CPLErrorReset();
    GDALDatasetH mask = mask_raster(job), memory = NULL, shp = NULL;
    OGRLayerH from = NULL, to = NULL;
    if (mask)
        memory = outlines(job, mask, &from);
    if (memory)
        to = create_shapefile(job, path, &shp);
    int rc = to ? copy_outlines(from, to) : -1;
    if (shp)
        GDALClose(shp);
    if (memory)
        GDALClose(memory);
    if (mask)
        GDALClose(mask);
    if (rc == 0 && CPLGetLastErrorType() >= CE_Failure)
        rc = -1;
    return rc == 0 ? 0 : synth_fail_gdal(err, path, "cannot write Shapefile");
}
