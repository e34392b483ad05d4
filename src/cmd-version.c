/* kubestrap version: the program's own version and the libraries it was built with. */
#include <stdio.h>

#include "cmd.h"
#include "http.h"
#include "log.h"

static int cmd_version(struct cmd_ctx *ctx)
{
        if (arg_output == OUTPUT_JSON) {
                struct json_event e;
                json_begin(&e, "version");
                json_str(&e, "version", PACKAGE_VERSION);
                json_str(&e, "curl", http_library_version());
                json_end(&e);
                return EXIT_OK;
        }
        printf("kubestrap %s\n%s\n", PACKAGE_VERSION, http_library_version());
        return EXIT_OK;
}

const struct command cmd_version_entry = {
    .name = "version",
    .min_args = 0,
    .max_args = 0,
    .usage = "version",
    .summary = "print the version",
    .exec = cmd_version,
};
