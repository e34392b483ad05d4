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

# zsh_line LINE: what zsh's line editor makes of LINE<TAB>, with the zsh completion
# (completion/zsh/_kubestrap, through compinit) and the program on PATH
zsh_line() {
        KS_BIN_DIR=$(dirname "$KUBESTRAP") KS_SRC=$top_srcdir timeout 60 zsh -f "$WORK/zpty.zsh" "$1" |
                tr -d '\r' | sed -n 's/^LINE: //p' | head -n 1
}

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
tap_is "$(complete_words apply --ignore e)" "etcd-data etcd-disk" "--ignore: the checks"
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

# zsh: the same function through bashcompinit, in a real interactive zsh on a pseudo-terminal
if command -v zsh >/dev/null; then
        cat > "$WORK/zpty.zsh" <<'ZSH'
zmodload zsh/zpty
zpty z 'TERM=dumb zsh -f -i'
zpty -w z "PS1='%% '; bindkey -e; unsetopt beep; PATH=$KS_BIN_DIR:\$PATH; KUBESTRAP_BASH_COMPLETION=$KS_SRC/completion/bash/kubestrap; fpath=($KS_SRC/completion/zsh \$fpath); autoload -U compinit; compinit -u -D; print RE''ADY"
zpty -r z out '*READY*'
zpty -w -n z "$1"$'\t'
# Ctrl-A to the line's start, where "print -r -- LI''NE:" turns the line into a command that
# prints what the line held (its words), apart from the screen's redrawing
zpty -w -n z $'\x01print -r -- LI\'\'NE: \n'
zpty -r z out $'*LINE: *\n*'
print -r -- "$out"
zpty -d z
ZSH
        tap_is "$(zsh_line 'kubestrap ap')" "kubestrap apply" "zsh: kubestrap ap<TAB> is apply"
        tap_is "$(zsh_line 'kubestrap plan --det')" "kubestrap plan --detailed-exitcode" "zsh: a verb's own option"
        tap_is "$(zsh_line 'kubestrap apply --ignore etcd-di')" "kubestrap apply --ignore etcd-disk" "zsh: --ignore checks"
        printf '[host edge-7]\naddress = 10.240.0.17\n' > "$WORK/edge.conf"
        tap_is "$(zsh_line "kubestrap -c $WORK/edge.conf tmux ed")" "kubestrap -c $WORK/edge.conf tmux edge-7" "zsh: a host of the inventory"
        tap_is "$(zsh_line "kubestrap -c $WORK/edge.conf --host e")" "kubestrap -c $WORK/edge.conf --host edge-7" "zsh: --host"
        tap_is "$(zsh_line "kubestrap -c $CONF fanout controller-0 -- pla")" "kubestrap -c $CONF fanout controller-0 -- plan" "zsh: after fanout's --"
        tap_is "$(zsh_line "kubestrap --bundle $WORK/fi")" "kubestrap --bundle $WORK/file.ks" "zsh: files"
else
        tap_skip "zsh: completion" "zsh is not installed (scripts/deps)"
fi
tap_is "$(complete_words cloud-init --deb "$WORK/fi")" "$WORK/file.ks" "a verb's own FILE argument: files"
tap_is "$(complete_words cloud-init --apt-source '')" "" "a verb's own other argument: nothing to offer"
tap_done
