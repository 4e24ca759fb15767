/* provenance.c: the provenance cityrisk writes into its outputs, read back (provenance.h). */
#include <string.h>

#include <cpl_string.h>
#include <json-c/json.h>
#include <ogr_api.h>

#include "core/provenance.h"

#define PREFIX "CITYRISK_"

/* value as JSON: parsed when it is an object's or an array's text (as cityrisk writes
 * CITYRISK_INPUTS and CITYRISK_PARAMETERS), else a string. */
static json_object *item_value(const char *value)
{
    json_object *parsed = value[0] == '{' || value[0] == '[' ? json_tokener_parse(value) : NULL;
    if (parsed && (json_object_is_type(parsed, json_type_object) || json_object_is_type(parsed, json_type_array)))
        return parsed;
    json_object_put(parsed);
    return json_object_new_string(value);
}

/* Adds the CITYRISK_* items of object that doc lacks to doc (created when NULL). */
static json_object *add_items(json_object *doc, GDALMajorObjectH object)
{
    char **md = object ? GDALGetMetadata(object, NULL) : NULL;
    for (char **m = md; m && *m; m++) {
        char *key = NULL;
        const char *value = CPLParseNameValue(*m, &key);
        if (key && value && strncmp(key, PREFIX, strlen(PREFIX)) == 0) {
            if (!doc)
                doc = json_object_new_object();
            if (doc && !json_object_object_get_ex(doc, key, NULL))
                json_object_object_add(doc, key, item_value(value));
        }
        CPLFree(key);
    }
    return doc;
}

json_object *cr_metadata_provenance(GDALMajorObjectH object)
{
    return add_items(NULL, object);
}

/* The "cityrisk" member of a GeoJSON layer's NATIVE_DATA (the FeatureCollection without
 * its features), its JSON text values parsed; NULL when none. */
static json_object *native_member(OGRLayerH layer)
{
    const char *text = layer ? GDALGetMetadataItem(layer, "NATIVE_DATA", "NATIVE_DATA") : NULL;
    json_object *all = text ? json_tokener_parse(text) : NULL, *member = NULL, *doc = NULL;
    if (all && json_object_object_get_ex(all, "cityrisk", &member) && json_object_is_type(member, json_type_object)) {
        doc = json_object_new_object();
        json_object_object_foreach(member, key, value)
        {
            json_object_object_add(doc, key, json_object_is_type(value, json_type_string)
                                                 ? item_value(json_object_get_string(value))
                                                 : json_object_get(value));
        }
    }
    json_object_put(all);
    return doc;
}

json_object *cr_vector_provenance(GDALDatasetH ds, OGRLayerH layer, const char *path)
{
    json_object *doc = add_items(add_items(NULL, layer), ds);
    GDALDriverH drv = ds ? GDALGetDatasetDriver(ds) : NULL;
    if (doc || !drv || strcmp(GDALGetDriverShortName(drv), "GeoJSON") != 0)
        return doc;
    if (layer && GDALGetMetadataItem(layer, "NATIVE_DATA", "NATIVE_DATA"))
        return native_member(layer);
    const char *const drivers[] = {"GeoJSON", NULL}, *const open[] = {"NATIVE_DATA=YES", NULL};
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH native = path ? GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, open, NULL) : NULL;
    CPLPopErrorHandler();
    if (!native)
        return NULL;
    OGRLayerH same = layer ? GDALDatasetGetLayerByName(native, OGR_L_GetName(layer)) : NULL;
    doc = native_member(same ? same : GDALDatasetGetLayer(native, 0));
    GDALClose(native);
    return doc;
}

json_object *cr_provenance_object(json_object *prov, const char *key)
{
    json_object *v = NULL;
    return prov && json_object_object_get_ex(prov, key, &v) && json_object_is_type(v, json_type_object) ? v : NULL;
}
