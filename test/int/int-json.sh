#!/bin/bash
# Integration: the automation contract of --output json. Every line is one JSON object with
# "event" and "schema": 1; an error event carries, besides its message, the fields that say
# where the error is (file, line, section, key, url, host), per kind of error.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
ks_setup
C=$WORK/bad.conf

# json_check PYTHON-EXPR: every line of $OUT parses, has an event name and schema 1, and some
# error event e satisfies PYTHON-EXPR; prints "ok" or what failed.
cat > "$WORK/check.py" <<'PY'
import json, sys
events = []
for n, line in enumerate(sys.stdin, 1):
    try:
        e = json.loads(line)
    except ValueError as x:
        print("line %d is not JSON: %s" % (n, x)); sys.exit(0)
    if not isinstance(e.get("event"), str) or e.get("schema") != 1:
        print("line %d lacks event or schema 1: %s" % (n, line.strip())); sys.exit(0)
    events.append(e)
errors = [e for e in events if e["event"] == "error"]
if not any(eval(sys.argv[1], {"e": e}) for e in errors):
    print("no error event matches; errors: %s" % json.dumps(errors))
else:
    print("ok")
PY
json_check() { printf '%s\n' "$OUT" | python3 "$WORK/check.py" "$1"; }
line_of() { grep -n -m1 -- "$1" "$2" | cut -d: -f1; }

# a misspelt key: file, line, section and key
sed -e 's/^version = /verison = /' "$CONF" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" --output json plan
tap_is "$RC" 2 "bad key: exit 2"
tap_is "$(json_check "e['file'] == '$C' and e['line'] == $(line_of '^verison' "$C") and e['section'] == 'cluster' and e['key'] == 'verison' and 'unknown key' in e['message']")" ok \
        "bad key: an error event with file, line, section, key"

# a syntax error: file and line
sed -e 's/^\[node\]/[node/' "$CONF" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" --output json plan
tap_is "$(json_check "e['file'] == '$C' and e['line'] == $(line_of '^\[node' "$C") and 'section' not in e and 'syntax error' in e['message']")" ok \
        "syntax error: an error event with file and line"

# a file that cannot be read: file only
ks -c "$WORK/none.conf" --root "$ROOT" --output json plan
tap_is "$(json_check "e['file'] == '$WORK/none.conf' and 'line' not in e")" ok "missing config: file"

# a flag edit of a flag the defaults do not have (found while rendering): file, line, section, key
printf '%s\n\n[kube-apiserver]\nnonsense-flag = 1\n' "$(cat "$CONF")" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" --output json validate
tap_is "$(json_check "e['file'] == '$C' and e['line'] == $(line_of '^nonsense-flag' "$C") and e['section'] == 'kube-apiserver' and e['key'] == 'nonsense-flag'")" ok \
        "bad flag edit: file, line, section, key"

# a template with an unknown placeholder: the template and its line
mkdir -m 0755 "$WORK/tpl"
cp "$KUBESTRAP_TEMPLATES"/* "$WORK/tpl/"
printf 'apiVersion: v1\nkind: {{ nosuch.key }}\n' > "$WORK/tpl/kube-scheduler.yaml"
chmod 0644 "$WORK/tpl"/*
KUBESTRAP_TEMPLATES=$WORK/tpl ks -c "$CONF" --root "$ROOT" --output json validate
tap_is "$(json_check "e['file'] == '$WORK/tpl/kube-scheduler.yaml' and e['line'] == 2 and 'undefined' in e['message']")" ok \
        "bad template: file and line"

# a release the mirror does not have: the digest sidecar answers 404, the event names its URL
sed -e 's/^version = .*/version = v1.21.9/' "$CONF" > "$C"; chmod 0644 "$C"
ks -c "$C" --root "$ROOT" --output json plan
tap_is "$RC" 1 "404: exit 1"
tap_is "$(json_check "e.get('url', '').startswith('$MIRROR_URL/v1.21.9/') and e['url'].endswith('.sha256') and 'HTTP 404' in e['message'] and 'file' not in e")" ok \
        "404: an error event with the URL that failed"

# a host the inventory does not have: file and host
ks -c "$CONF" --output json fanout no-such-host -- plan
tap_is "$(json_check "e['host'] == 'no-such-host' and e['file'] == '$CONF'")" ok "unknown host: host and file"

# an unreachable host (nothing listens on port 1): the host
{ cat "$CONF"; printf '\n[fanout]\nssh-options = -p 1 -o BatchMode=yes -o ConnectTimeout=5\n\n[host h1]\naddress = 127.0.0.1\n'; } > "$C"
chmod 0644 "$C"
ks -c "$C" --output json fanout -- plan
tap_is "$RC" 1 "unreachable host: exit 1"
tap_is "$(json_check "e.get('host') == 'h1' and 'unreachable' in e['message']")" ok \
        "unreachable host: an error event with the host"
tap_like "$OUT" '"event":"host","host":"h1","result":"unreachable"' "and the host's result"

# a good run: every event still has its schema
ks -c "$CONF" --root "$ROOT" --output json plan
tap_is "$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(all(json.loads(l)["schema"] == 1 for l in sys.stdin))')" True \
        "plan: every event carries schema 1"

tap_done
