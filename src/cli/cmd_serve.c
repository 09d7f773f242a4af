/* src/cli/cmd_serve.c - stub, being written. */
#include <stdio.h>

#include "cli.h"

int xt_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "xtrading: serve: not built yet\n");
    return 2;
}
