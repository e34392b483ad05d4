/* Unified diffs of text files for 'plan', produced by diff(1) from diffutils. */
#pragma once

#include <stddef.h>

/* Diffs old against new; *ret is the unified diff (empty when equal). */
int diff_unified(const char *old, size_t old_len, const char *new_text, size_t new_len,
                 const char *label, char **ret);
