#!/bin/bash
# Integration: bash completion (completion/bash/kubestrap) offers what the program has: its
# verbs, each verb's options (read from the program's own --help), the inventory's hosts for
# --host, fanout and tmux, the preflight checks for --ignore; option arguments are not taken
# for the verb, and after fanout's "--" a verb is completed again.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/common.sh"
. "$top_srcdir/completion/bash/kubestrap"

WORK=$(mktemp -d /tmp/kubestrap-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CONF=$WORK/inventory.conf
printf '[cluster]\nversion = v1.21.0\n\n[host controller-0]\naddress = root@10.240.0.10\n\n  [host  controller-1 ]\naddress = 10.240.0.11\n;[host commented-out]\n' > "$CONF"

# complete WORD... : the candidates for the last word (the one being typed), sorted, one line
complete_words() {
        COMP_WORDS=("$KUBESTRAP" "$@")
        COMP_CWORD=$#
        COMP_LINE="kubestrap $*"
        COMP_POINT=${#COMP_LINE}
        _kubestrap
        printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

tap_is "$(complete -p kubestrap)" "complete -F _kubestrap kubestrap" "registered for kubestrap"
tap_is "$(complete_words ap)" "apply" "kubestrap ap<TAB>: apply"
verbs=$("$KUBESTRAP" --help | sed -n '/^Verbs/,/^$/p' | awk 'NF && !/^Verbs/ { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
tap_is "$(complete_words '')" "$verbs" "kubestrap <TAB>: every verb the program lists"
tap_is "$(complete_words -c "$CONF" -o json v)" "validate verify version" "after global options and their arguments"
tap_is "$(complete_words -c status a)" "apply" "an option's argument is not the verb"
tap_is "$(complete_words plan --d)" "--detailed-exitcode" "a verb's own option"
got=$(complete_words reset --)
tap_like "$got" "--dry-run" "reset --<TAB>: its --dry-run"
tap_like "$got" "--config" "and the global options"
tap_unlike "$got" "--detailed-exitcode" "but not another verb's"
tap_is "$(complete_words reset -)" "$(complete_words reset --) -c -h -o -r -v -y" "short options too"
tap_like "$(complete_words fanout --)" "^-- .*--jobs --max-fail .*--serial " "fanout's options, and its --"
tap_is "$(complete_words -c "$CONF" apply --host '')" "controller-0 controller-1" "--host: the inventory's hosts"
tap_is "$(complete_words apply --config "$CONF" --host c)" "controller-0 controller-1" "--config after the verb"
tap_is "$(complete_words -c "$WORK/none.conf" --host '')" "" "--host without a readable configuration: nothing"
tap_is "$(complete_words -c "$CONF" fanout -j 2 '')" "controller-0 controller-1" "fanout HOST: the hosts, after -j N"
tap_is "$(complete_words -c "$CONF" fanout controller-0 -- ap)" "apply" "after fanout's --: a verb again"
tap_is "$(complete_words -c "$CONF" fanout -- plan --de)" "--detailed-exitcode" "and its options"
tap_is "$(complete_words -c "$CONF" tmux --session s '')" "controller-0 controller-1" "tmux HOST"
checks=$("$KUBESTRAP" preflight --list-checks)
tap_is "$?" 0 "preflight --list-checks: exit 0 without a configuration"
tap_like "$checks" $'^root\n.*\netcd-disk\n' "it lists the checks"
tap_is "$(complete_words apply --ignore e)" "etcd-disk" "--ignore: the checks"
tap_is "$(complete_words apply --ignore '' | wc -w)" "$(($(printf '%s\n' "$checks" | wc -l) + 1))" "every check, and all"
for c in $checks; do
        "$KUBESTRAP" -c /nonexistent --ignore "$c" --help >/dev/null 2>&1 ||
                tap_fail "--ignore $c is refused"
done
tap_pass "every listed check is accepted by --ignore"
tap_is "$(complete_words -o '')" "human json" "--output: its two modes"
tap_is "$(complete_words cache '')" "prune" "cache: prune"
mkdir "$WORK/dir.d"
touch "$WORK/file.ks"
tap_is "$(complete_words --bundle "$WORK/fi")" "$WORK/file.ks" "--bundle: files"
tap_is "$(complete_words apply --root "$WORK/")" "$WORK/dir.d" "--root: directories"
tap_is "$(complete_words cloud-init --deb "$WORK/fi")" "$WORK/file.ks" "a verb's own FILE argument: files"
tap_is "$(complete_words cloud-init --apt-source '')" "" "a verb's own other argument: nothing to offer"
tap_done
