/* Unit tests for jsonread.h: how fanout reads the event lines the hosts print, and how it
 * passes them on with the host's name. */
#include <errno.h>
#include <stdlib.h>

#include "jsonread.h"
#include "tap.h"
#include "util.h"

static void test_members(void)
{
        struct jevent *e = NULL;
        is_int(jevent_parse("{\"event\":\"summary\",\"verb\":\"apply\",\"changed\":3,"
                            "\"ok\":true,\"msg\":\"a\\\"b\\n\\u00e9\",\"n\":-7}",
                            &e),
               0, "a summary line parses");
        is_str(jevent_str(e, "event"), "summary", "string member");
        is_str(jevent_str(e, "msg"), "a\"b\n\xc3\xa9", "escapes are decoded (quote, newline, \\u)");
        is_int(jevent_int(e, "changed", -1), 3, "integer member");
        is_int(jevent_int(e, "n", 0), -7, "negative integer member");
        is_int(jevent_int(e, "verb", -1), -1, "a string asked as an integer gives the default");
        is_int(jevent_int(e, "missing", 42), 42, "a missing integer gives the default");
        ok(jevent_str(e, "changed") == NULL, "an integer asked as a string is NULL");
        ok(jevent_str(e, "missing") == NULL, "a missing string is NULL");
        ok(jevent_bool(e, "ok", false), "boolean member");
        ok(!jevent_bool(e, "changed", false), "an integer asked as a boolean gives the default");
        jevent_free(e);

        /* a key that only appears inside a string value is not a member (strstr found it) */
        e = NULL;
        is_int(jevent_parse("{\"message\":\"\\\"changed\\\":9\",\"event\":\"error\"}", &e), 0,
               "a message quoting a key parses");
        is_int(jevent_int(e, "changed", -1), -1, "a key inside a string value is not a member");
        jevent_free(e);
}

static void test_refused(void)
{
        static const struct {
                const char *line, *why;
        } bad[] = {
            {"", "an empty line"},
            {"plain text from the remote shell", "plain text"},
            {"[1,2]", "an array"},
            {"\"event\"", "a bare string"},
            {"{\"event\":\"x\"} trailing", "trailing text"},
            {"{\"event\":\"x\"", "a cut line"},
            {"{\"event\":\"\xff\"}", "a byte that is not UTF-8"},
            {"{\"event\":\"\xc0\xaf\"}", "an overlong UTF-8 form"},
            {"{'event':'x'}", "single quotes"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct jevent *e = NULL;
                is_int(jevent_parse(bad[i].line, &e), -EBADMSG, "refused: %s", bad[i].why);
                ok(e == NULL, "refused: %s: nothing returned", bad[i].why);
        }
}

static void test_with_host(void)
{
        struct jevent *e = NULL;
        char *out = NULL;
        is_int(jevent_parse("{\"event\":\"change\",\"host\":\"evil\",\"path\":\"/a\\u001b[31m\","
                            "\"n\":5,\"sub\":{\"x\":[1,true,null]}}",
                            &e),
               0, "a change line parses");
        is_int(jevent_with_host(e, "controller-0", &out), 0, "re-written with the host");
        is_str(out,
               "{\"host\":\"controller-0\",\"event\":\"change\",\"path\":\"/a\\u001b[31m\",\"n\":5,"
               "\"sub\":{\"x\":[1,true,null]}}",
               "host first, the host's own 'host' dropped, controls stay escaped, order kept");
        free(out);
        jevent_free(e);
}

static void test_to_text(void)
{
        struct jevent *e = NULL;
        char *text = NULL;
        is_int(jevent_parse("{\"event\":\"summary\",\"host\":\"h\",\"verb\":\"status\","
                            "\"ok\":true,\"n\":3,\"x\":null,\"sub\":{\"a\":1}}",
                            &e),
               0, "a status summary parses");
        is_int(jevent_to_text(e, &text), 0, "shown as text");
        is_str(text, "verb=status ok=true n=3 x=null sub=…",
               "its fields in order, without event and host, nested values elided");
        free(text);
        jevent_free(e);
}

int main(void)
{
        test_members();
        test_refused();
        test_with_host();
        test_to_text();
        return done_testing();
}
