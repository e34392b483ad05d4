#!/bin/bash
# System test: 'kubestrap fanout' from this machine (the operator's workstation) to three
# booted controllers over real sshd: the nodes have only the kubestrap binary; configuration,
# PKI and templates travel on the SSH session's stdin. Parallel, rolling (--serial) with
# gating, --max-fail, an unreachable host, and JSON events carrying the host.
set -eu
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/system.sh"
sys_begin 3 ks-fan
# the workstation's config: the inventory and how to reach the hosts; and a host that is down
conf=$wd/cluster.conf
prov_fanout_up "$wd" "$conf" || tap_bail "could not set up the mirror, the PKI and the hosts"
printf '\n[host controller-9]\naddress = root@10.240.0.19\ninternal-ip = 10.240.0.19\n' >> "$conf"
# etcd's members are the three controllers: the host that is down is in the inventory only
sed -i "s|^\[etcd\]\$|&\ninitial-cluster = controller-0=https://$HOST_IP_0:2380,controller-1=https://$HOST_IP_1:2380,controller-2=https://$HOST_IP_2:2380|" "$conf"
# without_etcd: the config's settings but no [etcd] and no hosts, for inventories of hosts that
# are no etcd members (the 20 tmux panes, the 200 plans): etcd-servers named as without [etcd]
without_etcd() { sed -e '/^\[host /,$d' -e '/^\[etcd\]$/,/^$/d' -e "s|^\[cluster\]\$|&\netcd-servers = https://$HOST_IP_0:2379|" "$conf"; }
ks() { set +e; OUT=$("$KUBESTRAP" -c "$conf" "$@" 2>"$wd/err"); RC=$?; set -e; ERR=$(cat "$wd/err"); }
row() { printf '%s\n' "$OUT" | grep "^$1 "; }
proxy() { curl -s -o /dev/null -w '%{http_code}' -H 'Host: kubernetes.default.svc.cluster.local' "http://$1/healthz"; }

# --- parallel -----------------------------------------------------------------------------
t0=$EPOCHREALTIME
ks fanout controller-0 controller-1 controller-2 -- apply
tap_is "$RC" 0 "parallel fan-out provisions three hosts"
[ "$RC" = 0 ] || tap_diag "$ERR $OUT"
tap_diag "three hosts in parallel: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
for i in 0 1 2; do
        ip=HOST_IP_$i
        tap_like "$(row controller-$i)" "^controller-$i +ok +[0-9]+ " "table: controller-$i ok"
        tap_is "$(proxy "${!ip}")" 200 "controller-$i serves the health check"
        tap_is "$(host_exec "$i" sh -c 'grep -o -- "--advertise-address=[0-9.]*" /etc/systemd/system/kube-apiserver.service')" \
                "--advertise-address=${!ip}" "controller-$i got its own internal-ip"
done
tap_like "$OUT" '^controller-1: created /usr/local/bin/kube-apiserver$' "output lines carry the host"
tap_like "$(row controller-2)" 'ok +[0-9]+ +[0-9]+ms +[0-9]+ms +[0-9]+ms +[0-9]+ms +[0-9]+ms' "per-phase times in the table"
tap_ok "nothing was copied to the hosts but the binary" host_exec 0 test ! -e /etc/kubestrap/kubestrap.conf

ks --output json fanout controller-0 controller-1 controller-2 -- verify
tap_is "$RC" 0 "fan-out verify passes everywhere"
tap_is "$(printf '%s\n' "$OUT" | grep -c '^{"host":"controller-[012]","event":"status"')" 48 \
        "JSON events carry the host (sixteen checks per host: seven; etcd's /health, its three members and the API server's view of it; the inventory's four backends)"
tap_is "$(printf '%s\n' "$OUT" | grep '"component":"backend controller-9"' | grep -cE '"ok": *false, *"counted": *false')" 3 \
        "the backend that is down is shown on each host, and not counted against its verify"
tap_is "$(printf '%s\n' "$OUT" | grep -c '"event":"host",.*"result":"ok"')" 3 "one result event per host"

# A host that prints terminal controls and bytes that are not UTF-8 (issue 10, finding 12):
# the operator's terminal sees them escaped, and --output json stays valid UTF-8 JSON, since
# fanout reads the host's lines with a JSON parser and writes every event anew. (The key goes
# into the first [fanout] section only: the config may have more than one.)
hconf=$wd/hostile-output.conf
sed -e '/^remote-command/d' -e '0,/^\[fanout\]$/s//&\nremote-command = printf "\\033[31mred\\377\\n{\\"event\\":\\"error\\",\\"message\\":\\"\\033]0;title\\007\\"}\\n"; kubestrap/' \
        "$conf" > "$hconf"
chmod 0644 "$hconf"
set +e
"$KUBESTRAP" -c "$hconf" fanout controller-0 -- plan > "$wd/hostile.out" 2> "$wd/hostile.err"
hrc=$?
"$KUBESTRAP" -c "$hconf" --output json fanout controller-0 -- plan > "$wd/hostile.json" 2>/dev/null
set -e
tap_is "$hrc" 0 "a host printing controls: the fan-out itself still succeeds"
[ "$hrc" = 0 ] || tap_diag "$(cat "$wd/hostile.err" "$wd/hostile.out")"
tap_ok "a host printing controls: no raw ESC or BEL reaches the terminal" \
        sh -c "! grep -q -P '[\x1b\x07]' '$wd/hostile.out' '$wd/hostile.err'"
tap_like "$(cat "$wd/hostile.out")" '^controller-0: \\x1b\[31mred\\xff$' "the controls are shown escaped"
tap_ok "a host printing controls: --output json is valid UTF-8" iconv -f utf-8 -t utf-8 -o /dev/null "$wd/hostile.json"
tap_ok "a host printing controls: every --output json line is one JSON object" python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    assert isinstance(json.loads(line), dict), line
' "$wd/hostile.json"

# --- tmux: one synchronized pane per host, the seed's way ---------------------------------------
if command -v tmux >/dev/null; then
        # A tmux server outlives its client: it must not inherit the test hosts' lock, or a run
        # that dies before kill-server leaves every later run waiting for the lock.
        export KUBESTRAP_TMUX_SOCKET=ks-test-$$
        hosts_unlocked ks tmux --type 'hostname; echo done-$((6*7))' controller-0 controller-1 controller-2
        tap_is "$RC" 0 "kubestrap tmux opens the window"
        panes=$(tmux -L "$KUBESTRAP_TMUX_SOCKET" list-panes -t kubestrap:controllers -F '#{pane_id}')
        tap_is "$(printf '%s\n' "$panes" | wc -l)" 3 "one pane per host"
        tap_is "$(tmux -L "$KUBESTRAP_TMUX_SOCKET" show-window-options -t kubestrap:controllers -v synchronize-panes)" on \
                "input is synchronized"
        seen=""
        for _ in $(seq 100); do
                seen=$(for p in $panes; do tmux -L "$KUBESTRAP_TMUX_SOCKET" capture-pane -p -t "$p"; done)
                [ "$(printf '%s\n' "$seen" | grep -c '^done-42$')" = 3 ] && break
                sleep 0.1
        done
        for i in 0 1 2; do
                tap_like "$seen" "^controller-$i\$" "the typed command ran on controller-$i (capture-pane)"
        done
        tmux -L "$KUBESTRAP_TMUX_SOCKET" kill-server 2>/dev/null || true

        # 20 hosts, 20 panes (there was a cap of 16); the ssh command goes to tmux as separate
        # words, run without a shell: a '$(...)' in the configuration stays text. The server
        # keeps dead panes, so a pane whose ssh ends still counts.
        {
                without_etcd
                printf '\n[fanout]\nssh-options = -o SetEnv=KS_PROBE=$(touch${IFS}%s/tmux-shell-ran)\n' "$wd"
                for n in $(seq 0 19); do
                        printf '\n[host h-%02d]\naddress = root@%s\n' "$n" "$(eval echo "\$HOST_IP_$((n % 3))")"
                done
        } > "$wd/tmux20.conf"
        chmod 0644 "$wd/tmux20.conf"
        export KUBESTRAP_TMUX_SOCKET=ks-test20-$$
        hosts_unlocked tmux -L "$KUBESTRAP_TMUX_SOCKET" -f /dev/null new-session -d -s keep
        tmux -L "$KUBESTRAP_TMUX_SOCKET" set-option -g remain-on-exit on
        set +e; "$KUBESTRAP" -c "$wd/tmux20.conf" tmux > "$wd/out" 2>&1; RC=$?; set -e
        tap_is "$RC" 0 "kubestrap tmux with 20 hosts"
        [ "$RC" = 0 ] || tap_diag "$(cat "$wd/out")"
        started=$(tmux -L "$KUBESTRAP_TMUX_SOCKET" list-panes -t kubestrap:controllers -F '#{pane_start_command}')
        tap_is "$(printf '%s\n' "$started" | grep -c .)" 20 "20 hosts, 20 panes"
        tap_like "$(printf '%s\n' "$started" | head -n 1)" "-o \"?SetEnv=KS_PROBE=\\\$\\(touch.* -- root@$HOST_IP_0\"?\$" \
                "the pane runs ssh with the option as one word and '--' before the address"
        sleep 1
        tap_ok "no shell ran what the configuration holds" test ! -e "$wd/tmux-shell-ran"
        tmux -L "$KUBESTRAP_TMUX_SOCKET" kill-server 2>/dev/null || true
else
        tap_skip "kubestrap tmux" "tmux not installed"
fi

# --- an unreachable host does not stop the others ---------------------------------------------
ks fanout -- status
tap_is "$RC" 1 "a run with an unreachable host fails"
tap_like "$(row controller-9)" '^controller-9 +unreachable ' "the unreachable host is reported"
for i in 0 1 2; do tap_like "$(row controller-$i)" "^controller-$i +ok " "controller-$i still completed"; done

# --- rolling: a host that cannot get healthy stops the roll ---------------------------------
host_copy_in 1 "$STANDIN" /usr/local/bin/squatter
host_copy_in 1 "$wd/pki/kubernetes.pem" /tmp/c.pem
host_copy_in 1 "$wd/pki/kubernetes-key.pem" /tmp/k.pem
host_exec 1 systemctl stop kube-apiserver.service
# a TLS server on 6443: the stand-in as a controller-manager, which needs no etcd
host_exec 1 systemd-run --unit=squatter --setenv=STANDIN_ROLE=kube-controller-manager /usr/local/bin/squatter \
        --secure-port=6443 --kubeconfig=/tmp/c.pem --tls-cert-file=/tmp/c.pem --tls-private-key-file=/tmp/k.pem >/dev/null 2>&1
for _ in $(seq 50); do host_exec 1 sh -c 'ss -ltn | grep -q ":6443 "' && break; sleep 0.1; done
sed -i 's/^\[kube-scheduler\]$/&\nv = 3/' "$conf"
ks fanout --serial controller-0 controller-1 controller-2 -- apply
tap_is "$RC" 1 "the roll fails"
tap_like "$(row controller-0)" '^controller-0 +ok +1 ' "controller-0 went first and changed one file"
tap_like "$(row controller-1)" '^controller-1 +failed ' "controller-1 failed (its API server port is taken)"
tap_like "$(row controller-2)" '^controller-2 +skipped ' "controller-2 was not touched"
tap_like "$(host_exec 2 cat /etc/systemd/system/kube-scheduler.service)" '--v=2$' "controller-2's unit is unchanged"
tap_like "$OUT" "controller-1: error: .*port 6443 \(for kube-apiserver\) is in use by squatter|preflight" "controller-1's reason is shown"
ks fanout --serial --max-fail 1 controller-0 controller-1 controller-2 -- apply
tap_like "$(row controller-2)" '^controller-2 +ok +1 ' "--max-fail 1: the roll goes on past one failure"
host_exec 1 systemctl stop squatter.service
ks fanout --serial controller-1 -- apply
tap_like "$(row controller-1)" '^controller-1 +ok ' "controller-1 rolls once fixed"

# --- ssh control sockets: in a private directory, never at a name others can compute ----------
# (this config has no ControlPath of its own). Another user listens first at the old path
# /tmp/kubestrap-ssh-%C: OpenSSH's mux client would hand it its stdin, the bundle.
old=$(ssh -G -F /dev/null -o ControlPath=/tmp/kubestrap-ssh-%C "root@$HOST_IP_0" 2>/dev/null | awk '/^controlpath /{ print $2 }')
mkdir -p "$wd/planted" "$wd/xdg"; chown nobody "$wd/planted"; chmod 0700 "$wd/xdg"
rm -f "$old"
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(16)
open(sys.argv[2] + "/ready", "w").close()
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        data = c.recv(65536)
    except OSError:
        data = b""
    with open(sys.argv[2] + "/got", "ab") as f:
        f.write(b"a connection, %d bytes\n" % len(data))
    c.close()
' "$old" "$wd/planted" &
planted_pid=$!
for _ in $(seq 50); do [ -e "$wd/planted/ready" ] && break; sleep 0.1; done
tap_like "$(stat -c '%U %F' "$old")" '^nobody socket$' "another user listens at the old control path"
# LocalCommand looks at the control directory while the connection is up
printf '#!/bin/sh\nfor d in "$XDG_RUNTIME_DIR"/ks-*; do stat -c "%%a %%U %%F" "$d"; ls -A "$d"; done >> %s/peek\n' "$wd" > "$wd/peek.sh"
chmod 0755 "$wd/peek.sh"
sed -e "s|^ssh-options = -o KexAlgorithms=curve25519-sha256 .*|ssh-options = -o KexAlgorithms=curve25519-sha256 -o PermitLocalCommand=yes -o LocalCommand=$wd/peek.sh|" \
    "$conf" > "$wd/plain.conf"
chmod 0644 "$wd/plain.conf"
set +e; OUT=$(XDG_RUNTIME_DIR=$wd/xdg timeout 120 "$KUBESTRAP" -c "$wd/plain.conf" fanout controller-0 -- plan 2>"$wd/err"); RC=$?; set -e
tap_is "$RC" 0 "fan-out with no ControlPath in the config"
[ "$RC" = 0 ] || tap_diag "$(cat "$wd/err") $OUT"
tap_like "$(row controller-0)" '^controller-0 +ok +[0-9]+ ' "the host was reached (its plan's summary came back)"
tap_is "$(cat "$wd/planted/got" 2>/dev/null)" "" "the socket planted at the old path received nothing"
tap_is "$(head -n 1 "$wd/peek" 2>/dev/null)" "700 root directory" "the control directory is 0700, root's, under \$XDG_RUNTIME_DIR"
tap_like "$(tail -n +2 "$wd/peek" 2>/dev/null | tr '\n' ' ')" '(^| )bundle( |$)' "the bundle is in it"
tap_is "$(ls -A "$wd/xdg")" "" "the control directory is gone afterwards"
kill "$planted_pid" 2>/dev/null || true
wait "$planted_pid" 2>/dev/null || true
rm -f "$old"

# --- 200 hosts in the inventory: every one runs, none is dropped (there was a cap of 64) ------
{
        without_etcd
        for n in $(seq 0 199); do
                ip=HOST_IP_$((n % 3))
                printf '\n[host h-%03d]\naddress = root@%s\ninternal-ip = %s\n' "$n" "${!ip}" "${!ip}"
        done
} > "$wd/c200.conf"
chmod 0644 "$wd/c200.conf"
t0=$EPOCHREALTIME
set +e; OUT=$("$KUBESTRAP" -c "$wd/c200.conf" fanout -j 8 -- plan 2>"$wd/err"); RC=$?; set -e
tap_diag "200 plans, 8 at a time: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
tap_is "$RC" 0 "fan-out to 200 hosts succeeds"
[ "$RC" = 0 ] || tap_diag "$(tail -n 5 "$wd/err")"
tap_is "$(printf '%s\n' "$OUT" | grep -cE '^h-[0-9]{3} +ok +[0-9]+ ')" 200 "200 result rows, each ok with its plan's summary"
tap_is "$(printf '%s\n' "$OUT" | grep -oE '^h-[0-9]{3} ' | sort -u | wc -l)" 200 "every host of the 200 has its row"

tap_done
