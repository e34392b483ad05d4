/* kubestrap version (and --version): the program's own version and the libraries it was built
 * with. */
#include "cmd.h"
#include "http.h"
#include "report.h"

static int cmd_version(struct cmd_ctx *ctx)
{
        (void)ctx;
        report_version(PACKAGE_VERSION, http_library_version());
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
