/* Reading a unit's recent log lines from the systemd journal, locally or from a container. */
#include "journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "util.h"

/* The value of one field of the current entry; *ret = NULL if the entry lacks it. */
static int journal_field(sd_journal *j, const char *field, char **ret)
{
        const void *data;
        size_t len, flen = strlen(field);
        int r = sd_journal_get_data(j, field, &data, &len);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        if (len <= flen || ((const char *)data)[flen] != '=')
                return -EBADMSG;
        char *v = strndup((const char *)data + flen + 1, len - flen - 1);
        if (!v)
                return -ENOMEM;
        /* Log text is whatever the service wrote: keep terminal escapes and line breaks out of
         * what our callers print. */
        for (char *p = v; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        *ret = v;
        return 0;
}

/* "ident[pid]: message", as journalctl prints it. */
static int journal_format(sd_journal *j, char **ret)
{
        _cleanup_free_ char *message = NULL, *ident = NULL, *pid = NULL;
        int r = journal_field(j, "MESSAGE", &message);
        if (r < 0)
                return r;
        if (!message)
                return -ENOENT;
        r = journal_field(j, "SYSLOG_IDENTIFIER", &ident);
        if (r >= 0 && !ident)
                r = journal_field(j, "_COMM", &ident);
        if (r >= 0)
                r = journal_field(j, "SYSLOG_PID", &pid);
        if (r >= 0 && !pid)
                r = journal_field(j, "_PID", &pid);
        if (r < 0)
                return r;

        if (ident && pid)
                r = asprintf_safe(ret, "%s[%s]: %s", ident, pid, message);
        else if (ident)
                r = asprintf_safe(ret, "%s: %s", ident, message);
        else
                r = asprintf_safe(ret, "%s", message);
        return r;
}

static int journal_add_match(sd_journal *j, const char *field, const char *value)
{
        _cleanup_free_ char *m = strjoin3(field, "=", value);
        if (!m)
                return -ENOMEM;
        return sd_journal_add_match(j, m, 0);
}

int journal_last_lines(const char *journal_dir, const char *unit, size_t n, char ***ret_lines)
{
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        int r;

        if (journal_dir)
                r = sd_journal_open_directory(&j, journal_dir, 0);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;

        /* The same matches as "journalctl -u": the unit's own output, or PID 1 about it. */
        r = journal_add_match(j, "_SYSTEMD_UNIT", unit);
        if (r >= 0)
                r = sd_journal_add_disjunction(j);
        if (r >= 0)
                r = sd_journal_add_match(j, "_PID=1", 0);
        if (r >= 0)
                r = journal_add_match(j, "UNIT", unit);
        if (r < 0)
                return r;

        /* Walk back from the end (newest first), then turn the list around. */
        r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        size_t count = 0;
        while (count < n) {
                r = sd_journal_previous(j);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                char *line;
                r = journal_format(j, &line);
                /* Entries without a message, or damaged ones, are skipped as journalctl does. */
                if (r == -ENOENT || r == -EBADMSG)
                        continue;
                if (r < 0)
                        return r;
                r = strv_push(&lines, line);
                if (r < 0)
                        return r;
                count++;
        }
        if (!lines) {
                lines = calloc(1, sizeof(char *));
                if (!lines)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < count / 2; i++) {
                char *t = lines[i];
                lines[i] = lines[count - 1 - i];
                lines[count - 1 - i] = t;
        }
        *ret_lines = TAKE_PTR(lines);
        return 0;
}
