/* src/cli/cmd_loadgen.c - stub, being written. */
#include <stdio.h>

#include "cli.h"

int xt_cmd_loadgen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "xtrading: loadgen: not built yet\n");
    return 2;
}
