/* Reading a unit's recent log lines from the systemd journal, locally or from a container. */
#pragma once

#include <stddef.h>

/* The last n journal lines of a unit, oldest first, as a NULL-terminated list: entries with
 * _SYSTEMD_UNIT=unit, plus systemd's own messages about it (_PID=1 and UNIT=unit), each as
 * "ident[pid]: message" like journalctl's short output, control characters blanked out.
 * journal_dir NULL reads the local system journal; otherwise the journal files in that
 * directory and its machine-id subdirectories, e.g. a container's journal seen from the
 * machine: /proc/LEADER/root/run/log/journal (volatile) or .../var/log/journal. */
int journal_last_lines(const char *journal_dir, const char *unit, size_t n, char ***ret_lines);
