/* provenance.h: reading back the provenance cityrisk writes into its outputs (the
 * CITYRISK_VERSION, _COMMAND, _INPUTS, _PARAMETERS, _FORMULA items): metadata items of a
 * raster, a GPKG or FlatGeobuf layer, or the "cityrisk" foreign member of a GeoJSON
 * FeatureCollection, which OGR shows only when the file is opened with NATIVE_DATA=YES.
 * For the stages that read other stages' outputs (map, report); internal to the library. */
#ifndef CITYRISK_PROVENANCE_H
#define CITYRISK_PROVENANCE_H

#include <gdal.h>
#include <json-c/json.h>

/* The CITYRISK_* items of the default metadata domain of object (a dataset, layer or band)
 * as a JSON object: a value that is JSON text (an object or an array) parsed, any other
 * value a string. NULL when there is none. json_object_put() it. */
json_object *cr_metadata_provenance(GDALMajorObjectH object);

/* The provenance of a vector output: the CITYRISK_* items of layer, then of ds (for the
 * keys the layer lacks); when there are none and ds is a GeoJSON file, its "cityrisk"
 * member (read from layer's NATIVE_DATA when ds was opened with NATIVE_DATA=YES, else by
 * opening path again so), string values that are JSON text parsed as above. NULL when
 * there is none. json_object_put() it. */
json_object *cr_vector_provenance(GDALDatasetH ds, OGRLayerH layer, const char *path);

/* The object item key of a provenance (as the functions above return), NULL when it is
 * missing or not a JSON object. Borrowed from prov. */
json_object *cr_provenance_object(json_object *prov, const char *key);

#endif
