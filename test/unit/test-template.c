/* Unit tests for template.h's placeholder renderer and render.h's render_flags() edits. */
#include <errno.h>
#include <stdlib.h>

#include "model.h"
#include "render.h"
#include "tap.h"
#include "template.h"
#include "util.h"

struct tvar {
        const char *name, *value;
        bool raw;
};

static const struct tvar vars[] = {
    {"bin", "/usr/local/bin", false},
    {"x", "X", false},
    {"node.internal-ip", "10.240.0.10", false},
    {"pct", "50%$HOME", false},
    {"nl", "a\nb", false},
    {"tab", "a\tb", false},
    {"raw", " \\\n  --v=2%%", true},
    {"empty", "", false},
    {"braces", "{{ x }}", false},
};

static const char *lookup(const char *name, bool *ret_raw, void *userdata)
{
        int *calls = userdata;
        if (calls)
                (*calls)++;
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                if (streq(vars[i].name, name)) {
                        *ret_raw = vars[i].raw;
                        return vars[i].value;
                }
        return NULL;
}

/* Renders text; on success *out is the result, on failure *out is the error message. */
static int render(const char *text, enum template_escape esc, char **out)
{
        char *ret = NULL, *err = NULL;
        int r = template_render("t.tmpl", text, lookup, NULL, esc, &ret, &err);
        if (r < 0) {
                free(ret);
                *out = err;
        } else {
                free(err);
                *out = ret;
        }
        return r;
}

#define renders_to(text, esc, want, what)                                                          \
        do {                                                                                       \
                char *o_ = NULL;                                                                   \
                is_int(render(text, esc, &o_), 0, "%s: renders", what);                            \
                is_str(o_, want, "%s: output", what);                                              \
                free(o_);                                                                          \
        } while (0)

#define fails_with(text, esc, want, what)                                                          \
        do {                                                                                       \
                char *o_ = NULL;                                                                   \
                is_int(render(text, esc, &o_), -EINVAL, "%s: fails", what);                        \
                is_str(o_, want, "%s: message", what);                                             \
                free(o_);                                                                          \
        } while (0)

static void test_substitution(void)
{
        renders_to("", TEMPLATE_ESCAPE_NONE, "", "empty template");
        renders_to("no placeholders\n", TEMPLATE_ESCAPE_NONE, "no placeholders\n", "plain text");
        renders_to("ExecStart={{bin}}/kube-apiserver\n", TEMPLATE_ESCAPE_NONE,
                   "ExecStart=/usr/local/bin/kube-apiserver\n", "one placeholder");
        renders_to("{{ x }}{{x}}{{   x   }}", TEMPLATE_ESCAPE_NONE, "XXX", "spaces inside braces");
        renders_to("ip={{ node.internal-ip }};", TEMPLATE_ESCAPE_NONE, "ip=10.240.0.10;",
                   "dotted and dashed names");
        renders_to("[{{ empty }}]", TEMPLATE_ESCAPE_NONE, "[]", "empty value");
        renders_to("a } b }} c { d", TEMPLATE_ESCAPE_NONE, "a } b }} c { d",
                   "lone braces are text");
        renders_to("<{{ braces }}>", TEMPLATE_ESCAPE_NONE, "<{{ x }}>",
                   "a value is not expanded again");

        int calls = 0;
        char *out = NULL, *err = NULL;
        is_int(
            template_render("t", "{{x}}-{{ x }}", lookup, &calls, TEMPLATE_ESCAPE_NONE, &out, &err),
            0, "userdata: renders");
        is_int(calls, 2, "userdata: lookup called once per placeholder with the caller's pointer");
        free(out);
}

static void test_escaping(void)
{
        renders_to("Environment=P={{ pct }}\n", TEMPLATE_ESCAPE_SYSTEMD,
                   "Environment=P=50%%$$HOME\n", "systemd escape doubles % and $");
        renders_to("P={{ pct }}", TEMPLATE_ESCAPE_NONE, "P=50%$HOME", "no escape leaves % and $");
        renders_to("100% $x {{ x }}", TEMPLATE_ESCAPE_SYSTEMD, "100% $x X",
                   "template text itself is not escaped");
        renders_to("ExecStart=k{{ raw }}\n", TEMPLATE_ESCAPE_SYSTEMD, "ExecStart=k \\\n  --v=2%%\n",
                   "raw value inserted as is: no doubling, newline allowed");

        struct buf b = {0};
        is_int(template_escape_append(&b, "%i$%", TEMPLATE_ESCAPE_SYSTEMD), 0,
               "escape_append systemd");
        is_str(b.data, "%%i$$%%", "escape_append systemd output");
        is_int(template_escape_append(&b, "|%|", TEMPLATE_ESCAPE_NONE), 0, "escape_append none");
        is_str(b.data, "%%i$$%%|%|", "escape_append none appends verbatim");
        buf_done(&b);
}

static void test_errors(void)
{
        fails_with("line one\nline two\n  {{ nope }}\n", TEMPLATE_ESCAPE_NONE,
                   "t.tmpl:3: undefined variable 'nope'", "undefined variable on line 3");
        fails_with("{{ x }}\n{{ bin }} {{ x }}\n\n{{ x }}{{ missing }}\n", TEMPLATE_ESCAPE_NONE,
                   "t.tmpl:4: undefined variable 'missing'", "line counted across placeholders");
        fails_with("a\n{{ x\n}}\n", TEMPLATE_ESCAPE_NONE, "t.tmpl:2: unterminated '{{'",
                   "'{{' closed only on the next line");
        fails_with("a {{ x", TEMPLATE_ESCAPE_NONE, "t.tmpl:1: unterminated '{{'",
                   "'{{' never closed");
        fails_with("a\n\nb {{ x y }} c\n", TEMPLATE_ESCAPE_NONE,
                   "t.tmpl:3: malformed placeholder '{{ x y }}'", "two words in braces");
        fails_with("{{}}", TEMPLATE_ESCAPE_NONE, "t.tmpl:1: malformed placeholder '{{}}'",
                   "empty braces");
        fails_with("{{ x! }}", TEMPLATE_ESCAPE_NONE, "t.tmpl:1: malformed placeholder '{{ x! }}'",
                   "bad character in a name");
        fails_with("{{ x }", TEMPLATE_ESCAPE_NONE, "t.tmpl:1: unterminated '{{'",
                   "single closing brace");
        fails_with("a\nExecStart={{ nl }}\n", TEMPLATE_ESCAPE_SYSTEMD,
                   "t.tmpl:2: value of 'nl' contains a newline or control character",
                   "value with a newline refused");
        fails_with("{{ tab }}", TEMPLATE_ESCAPE_NONE,
                   "t.tmpl:1: value of 'tab' contains a newline or control character",
                   "value with a tab refused even unescaped");

        char *out = (char *)"untouched", *err = NULL;
        template_render("t", "{{ nope }}", lookup, NULL, TEMPLATE_ESCAPE_NONE, &out, &err);
        is_str(out, "untouched", "failure leaves *ret alone");
        free(err);
}

/* ---- render_flags ---- */

static const char conf_head[] = "[cluster]\n"                               /* 1 */
                                "version = v1.21.0\n"                       /* 2 */
                                "public-address = 203.0.113.10\n"           /* 3 */
                                "etcd-servers = https://10.240.0.10:2379\n" /* 4 */
                                "[node]\n"                                  /* 5 */
                                "internal-ip = 10.240.0.10\n"               /* 6 */
                                "[pki]\n"                                   /* 7 */
                                "source-dir = /root\n"                      /* 8 */
                                "[kube-apiserver]\n";                       /* 9; edits from 10 */

static const char flags_text[] = "# Default flags, one per line.\n"
                                 "--a=1\n"
                                 "--b=2\n"
                                 "\n"
                                 "  --c   \n"
                                 "--d=x%%y\n";

static struct model *load_edits(const char *edits)
{
        _cleanup_free_ char *text = strjoin3(conf_head, edits, NULL);
        struct model *m = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r = model_load_string("test.conf", text, &m, &errors);
        if (r < 0) {
                printf("# model_load_string failed: %d\n", r);
                for (size_t i = 0; errors && errors[i]; i++)
                        printf("#   %s\n", errors[i]);
        }
        return m;
}

/* Applies edits to flags_text; on success *out is the block, on failure the error. */
static int flags(const char *edits, const char *text, char **out)
{
        struct model *m = load_edits(edits);
        if (!m)
                return -ENOEXEC;
        char *block = NULL, *err = NULL;
        int r = render_flags(m, component_find("kube-apiserver"), "k.flags", text, &block, &err);
        *out = r < 0 ? err : block;
        if (r < 0)
                free(block);
        else
                free(err);
        model_free(m);
        return r;
}

#define flags_to(edits, want, what)                                                                \
        do {                                                                                       \
                char *o_ = NULL;                                                                   \
                is_int(flags(edits, flags_text, &o_), 0, "%s: applies", what);                     \
                is_str(o_, want, "%s: block", what);                                               \
                free(o_);                                                                          \
        } while (0)

#define flags_fail(edits, want, what)                                                              \
        do {                                                                                       \
                char *o_ = NULL;                                                                   \
                is_int(flags(edits, flags_text, &o_), -EINVAL, "%s: fails", what);                 \
                is_str(o_, want, "%s: message", what);                                             \
                free(o_);                                                                          \
        } while (0)

static void test_render_flags(void)
{
        flags_to("", " \\\n  --a=1 \\\n  --b=2 \\\n  --c \\\n  --d=x%%y",
                 "no edits: defaults, comments and blank lines dropped, one flag per line");
        flags_to("b = 20\n", " \\\n  --a=1 \\\n  --b=20 \\\n  --c \\\n  --d=x%%y",
                 "replace keeps position");
        flags_to("+x = y\n", " \\\n  --a=1 \\\n  --b=2 \\\n  --c \\\n  --d=x%%y \\\n  --x=y",
                 "'+x = y' appends at the end");
        flags_to("-a =\n", " \\\n  --b=2 \\\n  --c \\\n  --d=x%%y",
                 "'-a =' removes the first flag");
        flags_to("-d =\n", " \\\n  --a=1 \\\n  --b=2 \\\n  --c", "'-d =' removes the last flag");
        flags_to("+bare =\n", " \\\n  --a=1 \\\n  --b=2 \\\n  --c \\\n  --d=x%%y \\\n  --bare",
                 "'+bare =' appends a bare flag");
        flags_to("c = on\n", " \\\n  --a=1 \\\n  --b=2 \\\n  --c=on \\\n  --d=x%%y",
                 "replace gives a bare default flag a value");
        flags_to("+p = 50%$x\n",
                 " \\\n  --a=1 \\\n  --b=2 \\\n  --c \\\n  --d=x%%y \\\n  --p=50%%$$x",
                 "'%' and '$' in an added value are doubled");
        flags_to("a = 9%\n", " \\\n  --a=9%% \\\n  --b=2 \\\n  --c \\\n  --d=x%%y",
                 "'%' in a replaced value is doubled");
        flags_to("+runtime-config = 'api/all=true'\n",
                 " \\\n  --a=1 \\\n  --b=2 \\\n  --c \\\n  --d=x%%y \\\n  "
                 "--runtime-config='api/all=true'",
                 "whole-quoted value kept");
        flags_to("b = 20\n+x = y\n-a =\n+bare =\n",
                 " \\\n  --b=20 \\\n  --c \\\n  --d=x%%y \\\n  --x=y \\\n  --bare",
                 "several edits in order");

        flags_fail(
            "bb = 3\n",
            "test.conf:10: [kube-apiserver] bb: no such flag in the defaults (did you mean 'b'?); "
            "write '+bb = ...' to add a new flag",
            "replace of an unknown flag with a suggestion");
        flags_fail(
            "x = y\n\nzzzzzz = 3\n",
            "test.conf:10: [kube-apiserver] x: no such flag in the defaults (did you mean 'a'?); "
            "write '+x = ...' to add a new flag",
            "first failing edit is reported");
        flags_fail("+x = 1\nsomething-else = 3\n",
                   "test.conf:11: [kube-apiserver] something-else: no such flag in the defaults; "
                   "write '+something-else = ...' to add a new flag",
                   "replace of an unknown flag without a suggestion, its own line");
        flags_fail(
            "+a = 1\n",
            "test.conf:10: [kube-apiserver] +a: flag is already set; write 'a = ...' to replace "
            "its value",
            "'+' of an existing flag");
        flags_fail(
            "+x = 1\n+bare =\n+c =\n",
            "test.conf:12: [kube-apiserver] +c: flag is already set; write 'c = ...' to replace "
            "its value",
            "'+' of an existing bare flag");
        flags_fail("-zzz =\n", "test.conf:10: [kube-apiserver] -zzz: no such flag to remove",
                   "'-' of a missing flag");

        char *o = NULL;
        is_int(flags("", "--a=1\nb=2\n", &o), -EINVAL, "flags file line without '--' fails");
        is_str(o, "k.flags:2: expected '--flag=value'", "flags file error names its line");
        free(o);
        is_int(flags("", "--a=1\n--\n", &o), -EINVAL, "flags file line of only '--' fails");
        is_str(o, "k.flags:2: expected '--flag=value'", "bare '--' error names its line");
        free(o);
        is_int(flags("", "", &o), 0, "empty flags file");
        is_str(o, "", "empty flags file gives an empty block");
        free(o);

        /* Edits of another component do not touch this one. */
        struct model *m = load_edits("[kube-scheduler]\n-a =\n+z = 1\n");
        ok(m != NULL, "other component's edits load");
        if (m) {
                char *block = NULL, *err = NULL;
                is_int(render_flags(m, component_find("kube-apiserver"), "k.flags", flags_text,
                                    &block, &err),
                       0, "other component's edits: kube-apiserver renders");
                is_str(block, " \\\n  --a=1 \\\n  --b=2 \\\n  --c \\\n  --d=x%%y",
                       "other component's edits: kube-apiserver untouched");
                free(block);
                block = NULL;
                is_int(render_flags(m, component_find("kube-scheduler"), "s.flags",
                                    "--a=1\n--b=2\n", &block, &err),
                       0, "other component's edits: kube-scheduler renders");
                is_str(block, " \\\n  --b=2 \\\n  --z=1",
                       "other component's edits: kube-scheduler edited");
                free(block);
                model_free(m);
        }
}

int main(void)
{
        test_substitution();
        test_escaping();
        test_errors();
        test_render_flags();
        return done_testing();
}
