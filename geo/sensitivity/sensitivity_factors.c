/* sensitivity_factors.c: the factors of `cityrisk sensitivity`, from --factor SPECs and
 * from a --factors JSON file, and their names. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cityrisk/number.h"
#include "cityrisk/sensitivity.h"

const char *cr_factor_name(const cr_factor *f, char *buf, size_t size)
{
    switch (f->kind) {
    case CR_FACTOR_WEIGHT:
        snprintf(buf, size, "weight.%s", cr_indicator_name((cr_indicator)f->indicator));
        break;
    case CR_FACTOR_METHOD:
        snprintf(buf, size, "method");
        break;
    case CR_FACTOR_ARRIVALS_REF:
        snprintf(buf, size, "arrivals_ref");
        break;
    case CR_FACTOR_SEA_LEVEL:
        snprintf(buf, size, "sea_level");
        break;
    default:
        snprintf(buf, size, "demand_share");
        break;
    }
    return buf;
}

/* The factor named name (without its value) into *f; 0 for an unknown name. */
static int factor_of_name(const char *name, size_t n, cr_factor *f)
{
    memset(f, 0, sizeof *f);
    static const char *const simple[] = {"method", "arrivals_ref", "sea_level", "demand_share"};
    static const cr_factor_kind kinds[] = {CR_FACTOR_METHOD, CR_FACTOR_ARRIVALS_REF,
                                           CR_FACTOR_SEA_LEVEL, CR_FACTOR_DEMAND_SHARE};
    for (int i = 0; i < 4; i++)
        if (strlen(simple[i]) == n && strncmp(name, simple[i], n) == 0) {
            f->kind = kinds[i];
            return 1;
        }
    for (int k = 0; k < CR_INDICATORS; k++) {
        char full[32];
        snprintf(full, sizeof full, "weight.%s", cr_indicator_name((cr_indicator)k));
        if (strlen(full) == n && strncmp(name, full, n) == 0) {
            f->kind = CR_FACTOR_WEIGHT;
            f->indicator = k;
            return 1;
        }
    }
    return 0;
}

/* Checks a range given for f; where names the spec or item for messages. */
static cr_status check_range(cr_ctx *ctx, const char *where, cr_factor *f)
{
    char name[32];
    cr_factor_name(f, name, sizeof name);
    if (f->kind == CR_FACTOR_METHOD || f->kind == CR_FACTOR_SEA_LEVEL)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: %s takes values (%s=A,B,...), not a range", where,
                           name, name);
    if (!(isfinite(f->min) && isfinite(f->max) && f->min < f->max))
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: the range of %s must be MIN:MAX with MIN < MAX",
                           where, name);
    if (f->kind == CR_FACTOR_DEMAND_SHARE && (f->min < 0 || f->max > 1))
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: demand_share must lie within 0..1", where);
    if ((f->kind == CR_FACTOR_WEIGHT && f->min < 0) ||
        (f->kind == CR_FACTOR_ARRIVALS_REF && !(f->min > 0)))
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: the range of %s must be %s", where, name,
                           f->kind == CR_FACTOR_WEIGHT ? "0 or more" : "above 0");
    f->has_range = 1;
    return CR_OK;
}

/* Adds value v (n bytes) to categorical factor f. */
static cr_status add_value(cr_ctx *ctx, const char *where, cr_factor *f, const char *v, size_t n)
{
    char name[32];
    cr_factor_name(f, name, sizeof name);
    if (f->kind != CR_FACTOR_METHOD && f->kind != CR_FACTOR_SEA_LEVEL)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: %s takes a range MIN:MAX, not values", where,
                           name);
    if (n == 0 || n >= sizeof f->values[0])
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: an empty or too long value of %s", where, name);
    if (f->nvalues == CR_FACTOR_MAX_VALUES)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: %s takes at most %d values", where, name,
                           CR_FACTOR_MAX_VALUES);
    char *dst = f->values[f->nvalues];
    memcpy(dst, v, n);
    dst[n] = '\0';
    if (f->kind == CR_FACTOR_METHOD) {
        cr_score_method m;
        if (cr_score_method_parse(ctx, dst, &m) != CR_OK)
            return cr_ctx_fail(ctx, CR_E_USAGE,
                               "%s: unknown method '%s' (geometric, arithmetic, inform)", where,
                               dst);
    }
    for (int i = 0; i < f->nvalues; i++)
        if (strcmp(f->values[i], dst) == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: %s value '%s' is given twice", where, name,
                               dst);
    f->nvalues++;
    return CR_OK;
}

/* Appends f, refusing a factor given twice and too many. */
static cr_status append(cr_ctx *ctx, const char *where, const cr_factor *f, cr_factor *factors,
                        int *count)
{
    char name[32], other[32];
    cr_factor_name(f, name, sizeof name);
    for (int i = 0; i < *count; i++)
        if (strcmp(cr_factor_name(&factors[i], other, sizeof other), name) == 0)
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: factor %s is given twice", where, name);
    if (*count >= CR_SOBOL_MAX_FACTORS)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: at most %d factors", where, CR_SOBOL_MAX_FACTORS);
    factors[(*count)++] = *f;
    return CR_OK;
}

cr_status cr_factor_parse(cr_ctx *ctx, const char *spec, cr_factor *factors, int *count)
{
    char where[160];
    snprintf(where, sizeof where, "--factor '%s'", spec ? spec : "");
    const char *text = spec ? spec : "";
    if (strcmp(text, "weights") == 0) {
        for (int k = 0; k < CR_INDICATORS; k++) {
            cr_factor f = {.kind = CR_FACTOR_WEIGHT, .indicator = k, .of_set = 1};
            cr_status st = append(ctx, where, &f, factors, count);
            if (st != CR_OK)
                return st;
        }
        return CR_OK;
    }
    const char *eq = strchr(text, '=');
    size_t n = eq ? (size_t)(eq - text) : strlen(text);
    cr_factor f;
    if (!factor_of_name(text, n, &f))
        return cr_ctx_fail(
            ctx, CR_E_USAGE,
            "%s: unknown factor '%.*s' (weight.sea, weight.water, weight.informal, "
            "weight.arrivals, weights, method, arrivals_ref, sea_level, demand_share)",
            where, (int)n, text);
    if (eq) {
        const char *v = eq + 1, *colon = strchr(v, ':');
        if (f.kind != CR_FACTOR_METHOD && f.kind != CR_FACTOR_SEA_LEVEL) {
            char lo[64], hi[64];
            if (!colon || (size_t)(colon - v) >= sizeof lo || strlen(colon + 1) >= sizeof hi)
                return cr_ctx_fail(ctx, CR_E_USAGE, "%s: the range must be MIN:MAX", where);
            snprintf(lo, sizeof lo, "%.*s", (int)(colon - v), v);
            snprintf(hi, sizeof hi, "%s", colon + 1);
            if (!cr_number_finite(lo, &f.min) || !cr_number_finite(hi, &f.max))
                return cr_ctx_fail(ctx, CR_E_USAGE, "%s: the range must be MIN:MAX, two numbers",
                                   where);
            cr_status st = check_range(ctx, where, &f);
            if (st != CR_OK)
                return st;
        } else {
            do {
                const char *comma = strchr(v, ',');
                size_t len = comma ? (size_t)(comma - v) : strlen(v);
                cr_status st = add_value(ctx, where, &f, v, len);
                if (st != CR_OK)
                    return st;
                v = comma ? comma + 1 : NULL;
            } while (v);
        }
    }
    return append(ctx, where, &f, factors, count);
}

/* One item of the file's "factors" array. */
static cr_status read_item(cr_ctx *ctx, const char *path, size_t i, json_object *item,
                           cr_factor *factors, int *count)
{
    char where[1100];
    snprintf(where, sizeof where, "--factors '%s' item %zu", path, i + 1);
    json_object *name = NULL, *min = NULL, *max = NULL, *values = NULL;
    if (!json_object_is_type(item, json_type_object) ||
        !json_object_object_get_ex(item, "name", &name) ||
        !json_object_is_type(name, json_type_string))
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: not an object with a \"name\"", where);
    const char *text = json_object_get_string(name);
    snprintf(where, sizeof where, "--factors '%s' item %zu (%s)", path, i + 1, text);
    json_object_object_foreach(item, key, val)
    {
        (void)val;
        if (strcmp(key, "name") && strcmp(key, "min") && strcmp(key, "max") &&
            strcmp(key, "values"))
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: unknown key \"%s\" (name, min, max, values)",
                               where, key);
    }
    if (strcmp(text, "weights") == 0) {
        if (json_object_object_length(item) != 1)
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: weights takes no range", where);
        return cr_factor_parse(ctx, "weights", factors, count) == CR_OK
                   ? CR_OK
                   : cr_ctx_fail(ctx, CR_E_USAGE, "%s: %s", where, "a weight is given twice");
    }
    cr_factor f;
    if (!factor_of_name(text, strlen(text), &f))
        return cr_ctx_fail(
            ctx, CR_E_USAGE,
            "%s: unknown factor (weight.sea, weight.water, weight.informal, "
            "weight.arrivals, weights, method, arrivals_ref, sea_level, demand_share)",
            where);
    int has_min = json_object_object_get_ex(item, "min", &min);
    int has_max = json_object_object_get_ex(item, "max", &max);
    if (has_min != has_max)
        return cr_ctx_fail(ctx, CR_E_USAGE, "%s: give both \"min\" and \"max\"", where);
    if (has_min) {
        if (!json_object_is_type(min, json_type_double) && !json_object_is_type(min, json_type_int))
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: \"min\" is not a number", where);
        if (!json_object_is_type(max, json_type_double) && !json_object_is_type(max, json_type_int))
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: \"max\" is not a number", where);
        f.min = json_object_get_double(min);
        f.max = json_object_get_double(max);
        cr_status st = check_range(ctx, where, &f);
        if (st != CR_OK)
            return st;
    }
    if (json_object_object_get_ex(item, "values", &values)) {
        if (has_min || !json_object_is_type(values, json_type_array))
            return cr_ctx_fail(ctx, CR_E_USAGE, "%s: \"values\" must be an array (and no range)",
                               where);
        for (size_t k = 0; k < json_object_array_length(values); k++) {
            json_object *v = json_object_array_get_idx(values, k);
            if (!json_object_is_type(v, json_type_string))
                return cr_ctx_fail(ctx, CR_E_USAGE, "%s: value %zu is not a string", where, k + 1);
            cr_status st = add_value(ctx, where, &f, json_object_get_string(v),
                                     strlen(json_object_get_string(v)));
            if (st != CR_OK)
                return st;
        }
    }
    return append(ctx, where, &f, factors, count);
}

cr_status cr_factors_read(cr_ctx *ctx, const char *path, cr_factor *factors, int *count)
{
    json_object *doc = json_object_from_file(path);
    if (!doc)
        return cr_ctx_fail(ctx, CR_E_USAGE, "--factors '%s': cannot read it as JSON (%s)", path,
                           json_util_get_last_err() ? json_util_get_last_err() : "bad JSON");
    json_object *list = NULL;
    cr_status st = CR_OK;
    if (!json_object_is_type(doc, json_type_object) ||
        !json_object_object_get_ex(doc, "factors", &list) ||
        !json_object_is_type(list, json_type_array))
        st = cr_ctx_fail(ctx, CR_E_USAGE, "--factors '%s': not an object with a \"factors\" array",
                         path);
    for (size_t i = 0; st == CR_OK && i < json_object_array_length(list); i++)
        st = read_item(ctx, path, i, json_object_array_get_idx(list, i), factors, count);
    json_object_put(doc);
    return st;
}
