/* command.c: what every command does around its own work, whoever calls it: options made
 * and freed, the QGIS style checked before and written after, the summary, and a whole
 * call from argv through the program's hooks. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>

#include "cityrisk/command.h"

void *cr_command_opts_new(const cr_command *cmd)
{
    void *opts = calloc(1, cmd->opts_size);
    if (opts && cmd->init)
        cmd->init(opts);
    return opts;
}

void cr_command_opts_free(const cr_command *cmd, void *opts)
{
    if (!opts)
        return;
    if (cmd->clear)
        cmd->clear(opts);
    for (const cr_arg *a = cmd->args; a->type != CR_ARG_END; a++)
        if (a->type == CR_ARG_LIST)
            CSLDestroy(*(char ***)((char *)opts + a->offset));
    free(opts);
}

void cr_command_result_clear(cr_command_result *result)
{
    json_object_put(result->json);
    free(result->text);
    memset(result, 0, sizeof *result);
}

int cr_command_has_style(const cr_command *cmd)
{
    return cmd->style != NULL;
}

/* A failure to write the style, after the output was written: a processing failure
 * (CR_E_IO) whatever its cause, with its message. */
static cr_status style_failed(cr_ctx *ctx)
{
    char *msg = strdup(cr_ctx_error(ctx));
    cr_status st = cr_ctx_fail(ctx, CR_E_IO, "%s", msg ? msg : "out of memory");
    free(msg);
    return st;
}

/* The command's summary, its text gathered in memory; the style written (kind, style),
 * when one was, in the --json document or the text. */
static cr_status summarise(cr_ctx *ctx, const cr_command *cmd, const void *opts, cr_qml_style kind,
                           const cr_qml_info *style, cr_command_result *result)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    cmd->summarise(opts, out, result);
    cr_status st = CR_OK;
    if (style && result->json) {
        json_object_object_add(result->json, "qml", json_object_new_string(style->path));
    } else if (style) {
        fprintf(out, "QGIS style written to %s", style->path);
        if (kind == CR_QML_ZONES) /* a vector's: graduated on a field, or outlines */
            fprintf(out, " (graduated on %s)", style->field[0] ? style->field : "nothing: outlines");
        fputc('\n', out);
    }
    if (fclose(out) != 0 && st == CR_OK)
        st = cr_ctx_fail(ctx, CR_E_IO, "out of memory");
    if (st == CR_OK && size > 0)
        result->text = text;
    else
        free(text);
    return st;
}

cr_status cr_command_run(cr_ctx *ctx, const cr_command *cmd, void *opts, const cr_command_call *call,
                         cr_command_result *result)
{
    cr_command_base *base = opts;
    memset(result, 0, sizeof *result);
    char *style_path = NULL;
    /* The style is checked with the output, against the inputs, before any work. */
    int styled = cmd->style && base->qml;
    cr_status st = styled ? cr_qml_path(ctx, base->output, &style_path) : CR_OK;
    const char *styles[] = {style_path, NULL};
    base->styles = styles;
    if (st == CR_OK)
        st = cmd->run(ctx, opts, call, result);
    cr_qml_info style;
    memset(&style, 0, sizeof style);
    cr_qml_style kind = CR_QML_SCORE;
    if (st == CR_OK && styled) {
        cr_qml_opts qo;
        cr_qml_opts_init(&qo);
        qo.overwrite = base->overwrite;
        kind = cmd->style(opts, &qo);
        if (cr_qml_write(ctx, base->output, kind, &qo, &style) != CR_OK)
            st = style_failed(ctx);
    }
    if (st == CR_OK && cmd->summarise)
        st = summarise(ctx, cmd, opts, kind, styled ? &style : NULL, result);
    base->styles = NULL;
    free(style_path);
    return st;
}

cr_status cr_command_invoke(cr_ctx *ctx, const cr_command *cmd, int argc, char **argv,
                            const cr_command_call *how, cr_command_result *result)
{
    memset(result, 0, sizeof *result);
    cr_command_call call = *how;
    call.command = cmd;
    call.argc = argc;
    call.argv = argv;
    call.opts = cr_command_opts_new(cmd);
    const cr_command_hooks *h = call.hooks;
    if (!call.opts)
        return h->end(h->arg, &call, ctx, cr_ctx_fail(ctx, CR_E_IO, "out of memory"), result);
    cr_status st = cr_command_parse(ctx, cmd, argc, argv, call.opts);
    const cr_command_base *base = call.opts;
    if (st == CR_E_USAGE) {
        h->usage(h->arg, &call, cr_ctx_error(ctx));
        result->failure_said = 1;
    } else if (st == CR_OK && base->help) {
        h->help(h->arg, &call);
    } else {
        if (st == CR_OK)
            st = call.provenance ? cr_ctx_set_command_line(ctx, call.provenance)
                                 : cr_command_provenance(ctx, cmd, argc, argv);
        if (st == CR_OK)
            st = h->begin(h->arg, &call, ctx);
        if (st == CR_OK)
            st = cr_command_run(ctx, cmd, call.opts, &call, result);
        st = h->end(h->arg, &call, ctx, st, result);
    }
    cr_command_opts_free(cmd, call.opts);
    return st;
}
