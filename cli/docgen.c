/* docgen.c: cityrisk-docgen FOLDER, run by the build (cli/docs.cmake), not installed:
 * writes the man pages cityrisk.1 and cityrisk-COMMAND.1 of every command, and the bash
 * completion script cityrisk.bash, all generated from the library's command table, into
 * FOLDER (which must exist). Exit 0, 1 when a file cannot be written, 2 on usage. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityrisk/command.h"
#include "cityrisk/context.h"

/* Writes text (NULL: it could not be made) to FOLDER/name; 0 or 1 with a message. */
static int write_file(const char *folder, const char *name, char *text)
{
    char path[4096];
    if (!text) {
        fprintf(stderr, "cityrisk-docgen: cannot make '%s': out of memory\n", name);
        return 1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", folder, name) >= sizeof path) {
        fprintf(stderr, "cityrisk-docgen: path too long: '%s/%s'\n", folder, name);
        free(text);
        return 1;
    }
    FILE *f = fopen(path, "w");
    int failed = !f;
    if (f) {
        failed = fputs(text, f) == EOF;
        failed |= fclose(f) != 0;
    }
    if (failed)
        fprintf(stderr, "cityrisk-docgen: cannot write '%s': %s\n", path, strerror(errno));
    free(text);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cityrisk-docgen FOLDER\n");
        return 2;
    }
    int failed = write_file(argv[1], "cityrisk.1", cr_command_man(NULL, cr_version()));
    for (int i = 0; i < cr_command_count(); i++) {
        const cr_command *cmd = cr_command_get(i);
        char name[256];
        snprintf(name, sizeof name, "cityrisk-%s.1", cmd->name);
        failed |= write_file(argv[1], name, cr_command_man(cmd, cr_version()));
    }
    failed |= write_file(argv[1], "cityrisk.bash", cr_command_completion_bash());
    return failed;
}
