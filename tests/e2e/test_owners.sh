#!/usr/bin/env bash
# Who is behind each connection, against what the peers themselves say:
# - a prefork python server (two workers accepting on one listening socket,
#   forked after listen) in a docker-like cgroup v2 group
#   system.slice/docker-<64 hex>.scope: every session's server_pid is the
#   worker that logged accepting its client port, with server_comm,
#   server_cgroup and server_container;
# - node's ws server in a kubepods-like group (cri-containerd-<hex>.scope);
# - a connection opened before wstrace started, which talks after: it is
#   attributed (server and client) from the sockets open at start;
# - local clients in a group of their own: client_pid/comm/cgroup;
# - the real client behind a proxy: PROXY protocol v1 and v2 headers, and
#   nginx adding X-Forwarded-For for a client bound to 127.0.0.5;
# - --pid (with the tp_btf/sys_exit hook instead of the syscall
#   tracepoints) shows that worker's sessions only, and the other worker's
#   packets are not copied into the ring (the summary's counts; without a
#   filter none are left out); --cgroup (text output)
#   the node server's only, with pid/comm and the short container id;
# - --metrics-label process --metrics-label-top 1: with python3 first and
#   node busier later, node gets the series (python3's goes, and its later
#   sessions count as other); other never goes down; at most 2 series per
#   family; promtool accepts the scrape.
# Processes join their cgroups through a cgroup.procs opened outside the
# namespace (`ip netns exec` mounts a /sys of its own).
. "$(dirname "$0")/lib.sh"
need_root
ws_need node command -v node
WSMOD=$ROOT/tests/e2e/node/node_modules/ws
ws_need "the npm ws package (npm ci --prefix tests/e2e/node)" node -e "require('$WSMOD')"
ws_need "nginx (apt-get install nginx-light)" command -v nginx

CGROOT=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
[ -n "$CGROOT" ] || ws_need "a cgroup v2 mount" false
TOP=$CGROOT/wst-$E2E_ID
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
HEX1=$(hex64) HEX2=$(hex64)
DOCKER=system.slice/docker-$HEX1.scope
KUBE=kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c1d.slice/cri-containerd-$HEX2.scope

trap 'rc=$?; cgroup_cleanup "$TOP"; (exit $rc); e2e_cleanup' EXIT
mkdir -p "$TOP/$DOCKER" "$TOP/$KUBE" "$TOP/clients" || fail "cannot create cgroups under $TOP"

NS=$(new_ns own)
P1=$((20000 + RANDOM % 20000)) P2=$((P1 + 1)) P3=$((P1 + 2))
PEERS="$PY $ROOT/tests/e2e/owner_peers.py"

# in_cg GROUP NS CMD...: CMD in NS, in cgroup GROUP (below the test's), in the background.
in_cg() {
	local g=$1 ns=$2; shift 2
	ip netns exec "$ns" sh -c 'echo $$ >&3 && exec 3>&- && exec "$@"' sh "$@" 3>"$TOP/$g/cgroup.procs" &
	PIDS+=("$!")
}

info "servers: prefork python on $P1 ($DOCKER), node ws on $P2 ($KUBE)"
in_cg "$DOCKER" "$NS" $PEERS prefork "$P1" 2 >"$TMP/srv1.log"
in_cg "$KUBE" "$NS" node "$ROOT/tests/e2e/peers/ws_server.js" 127.0.0.1 "$P2" 100 >"$TMP/srv2.log"
SRV2=${PIDS[-1]}
wait_for 10 "the prefork workers" grep -q '^workers' "$TMP/srv1.log"
wait_port "$NS" "$P2"
read -r _ W1 W2 < <(grep '^workers' "$TMP/srv1.log")
echo "workers $W1 $W2, node $SRV2"

info "a connection opened before wstrace starts"
in_cg clients "$NS" $PEERS client "$P1" --wait "$TMP/go" >"$TMP/hold.log"
wait_for 10 "the early client's upgrade" grep -q '^upgraded' "$TMP/hold.log"

MPORT=$((P1 + 3))
start_wstrace "$NS" "$TMP/all.json" "$TMP/all.err" --json -p "$P1,$P2" \
	--metrics "127.0.0.1:$MPORT" --metrics-label process --metrics-label-top 1
A_PID=$WSTRACE_PID A_ERR=$WSTRACE_ERR
export WSTRACE_OWNER_HOOK=sys_exit
start_wstrace "$NS" "$TMP/pid.json" "$TMP/pid.err" --json -p "$P1,$P2" --pid "$W1"
unset WSTRACE_OWNER_HOOK
B_PID=$WSTRACE_PID B_ERR=$WSTRACE_ERR
start_wstrace "$NS" "$TMP/cg.txt" "$TMP/cg.err" -p "$P1,$P2" --cgroup "/wst-$E2E_ID/kubepods.slice"
C_PID=$WSTRACE_PID C_ERR=$WSTRACE_ERR

touch "$TMP/go"
info "local clients"
# wstrace drains its ring every 50 ms or so: a session that ends sooner is
# over before --pid's decision reaches the kernel, and only its events can
# be filtered. A pause after the upgrade leaves the rest of each session to
# the kernel's filter, which the summary check below needs.
export OWNER_CLIENT_PAUSE=0.3
for i in 1 2 3 4; do
	ip netns exec "$NS" sh -c 'echo $$ >&3 && exec 3>&- && exec "$@"' sh $PEERS client "$P1" \
		3>"$TOP/clients/cgroup.procs" >>"$TMP/clients.log" || fail "client $i failed"
done
for i in 1 2; do
	ip netns exec "$NS" sh -c 'echo $$ >&3 && exec 3>&- && exec "$@"' sh $PEERS client "$P2" \
		3>"$TOP/clients/cgroup.procs" >>"$TMP/clients.log" || fail "node client $i failed"
done
info "behind proxies"
ip netns exec "$NS" $PEERS client "$P1" --proxy v2 203.0.113.7 >>"$TMP/clients.log" || fail "PROXY v2 client failed"
ip netns exec "$NS" $PEERS client "$P1" --proxy v1 198.51.100.44 >>"$TMP/clients.log" || fail "PROXY v1 client failed"
cat >"$TMP/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx-body;
	proxy_temp_path $TMP/nginx-proxy;
	server {
		listen 127.0.0.1:$P3;
		location / {
			proxy_pass http://127.0.0.1:$P1;
			proxy_http_version 1.1;
			proxy_set_header Upgrade \$http_upgrade;
			proxy_set_header Connection "upgrade";
			proxy_set_header X-Forwarded-For \$remote_addr;
		}
	}
}
NGX
bg "$NS" nginx -c "$TMP/nginx.conf" -e "$TMP/nginx.log"
NGINX=${PIDS[-1]}
wait_port "$NS" "$P3"
ip netns exec "$NS" $PEERS client "$P3" --bind 127.0.0.5 >"$TMP/nginx_client.log" || { cat "$TMP/nginx.log"; fail "client through nginx failed"; }
wait_for 10 "the early client's end" gone "${PIDS[2]}"
settle "$NS" "$P1" "$P2" "$P3"

info "--metrics-label process, one value kept: python3 first, node as other"
scrape() {
	ip netns exec "$NS" "$PY" -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://127.0.0.1:$MPORT/metrics"
}
sessions_of() { scrape | awk -v m="wstrace_ws_owner_sessions_total{process=\"$1\"}" '$1 == m { print $2 }'; }
wait_for 30 "the python sessions in /metrics" prints 7 sessions_of python3
expect_eq "$(sessions_of other)" 2 "node's sessions counted as other"
scrape >"$TMP/scrape.txt"
[ "$(grep -c '^wstrace_ws_owner_sessions_total{' "$TMP/scrape.txt")" -eq 2 ] || fail "more than python3 and other"
grep -q '^wstrace_ws_owner_messages_total{dir="c2s",process="python3"} 8$' "$TMP/scrape.txt" ||
	{ grep owner "$TMP/scrape.txt"; fail "python3's c2s messages"; }
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMP/scrape.txt" || fail "promtool rejects the exposition"
	echo "ok: promtool accepts it"
else
	ws_need "promtool (Debian package prometheus)" false
fi
stop_wstrace "$A_PID" "$A_ERR"
stop_wstrace "$B_PID" "$B_ERR"
stop_wstrace "$C_PID" "$C_ERR"

info "--pid leaves the other worker's connections out in the kernel; no filter, nothing left out"
# summary_num ERR TEXT: the number before TEXT in a summary line
summary_num() { sed -n "s/^\([0-9]*\) $2.*/\1/p" "$1" | head -n 1; }
a_cap=$(summary_num "$A_ERR" "packets captured") a_seen=$(summary_num "$A_ERR" "packets seen by the kernel program")
b_cap=$(summary_num "$B_ERR" "packets captured") b_seen=$(summary_num "$B_ERR" "packets seen by the kernel program")
b_out=$(sed -n 's/.* connections left out by --pid\/--comm\/--cgroup: \([0-9]*\) packets not copied by the kernel.*/\1/p' "$B_ERR")
[ -n "$a_cap" ] && [ -n "$b_cap" ] && [ "${a_seen:-0}" -gt 0 ] || fail "no summary: '$a_cap' '$b_cap' '$a_seen'"
expect_eq "$a_cap" "$a_seen" "without a filter every packet the kernel saw is captured"
grep -q "left out by" "$A_ERR" && fail "without a filter, connections were left out"
grep -q '^wstrace_filtered_packets_total 0$' "$TMP/scrape.txt" || fail "without a filter, wstrace_filtered_packets_total is not 0"
[ "${b_out:-0}" -gt 0 ] || { cat "$B_ERR"; fail "--pid: no packets left out in the kernel"; }
expect_eq "$((b_cap + b_out))" "$b_seen" "--pid: packets captured and left out make those the kernel saw"
[ "$b_cap" -lt "$a_cap" ] || fail "--pid: the ring carried $b_cap packets, no fewer than the unfiltered $a_cap"
echo "ok: --pid: $b_out of $b_seen packets not copied into the ring (unfiltered run: $a_cap captured)"

info "--metrics-label-top 1 names the busiest, not the first seen: a quiet python3, then a busy node"
MPORT2=$((P1 + 4))
start_wstrace "$NS" "$TMP/top.json" "$TMP/top.err" --json -p "$P1,$P2" \
	--metrics "127.0.0.1:$MPORT2" --metrics-label process --metrics-label-top 1
D_PID=$WSTRACE_PID D_ERR=$WSTRACE_ERR
MPORT=$MPORT2
# value FAMILY_AND_LABELS: the sample's value in the last scrape ("" when absent)
value() { awk -v m="$1" '$1 == m { print $2 }' "$TMP/top.txt"; }
echo 0 >"$TMP/other"
# top_scrape: a scrape into top.txt; other's sessions (kept in a file: the
# waits run this in subshells) never go down, and no family has more than
# two series (N + 1) per direction
top_scrape() {
	local o n d
	scrape >"$TMP/top.txt" || return 1
	o=$(value 'wstrace_ws_owner_sessions_total{process="other"}')
	[ "${o:-0}" -ge "$(cat "$TMP/other")" ] || { echo "other's sessions went down to $o" >>"$TMP/top.bad"; return 1; }
	echo "${o:-0}" >"$TMP/other"
	n=$(grep -c '^wstrace_ws_owner_sessions_total{' "$TMP/top.txt")
	[ "$n" -le 2 ] || echo "$n series of wstrace_ws_owner_sessions_total" >>"$TMP/top.bad"
	for d in c2s s2c; do
		n=$(grep -c "^wstrace_ws_owner_messages_total{dir=\"$d\"" "$TMP/top.txt")
		[ "$n" -le 2 ] || echo "$n series of wstrace_ws_owner_messages_total{dir=$d}" >>"$TMP/top.bad"
	done
	return 0
}
sessions2() { top_scrape || { echo "no scrape"; return; }; value "wstrace_ws_owner_sessions_total{process=\"$1\"}"; }
# node's sessions, named or as other (python3's are in its own series until it is demoted)
node_total() {
	local v
	top_scrape || return 1
	v=$(value 'wstrace_ws_owner_sessions_total{process="node"}')
	echo $(( ${v:-0} + $(cat "$TMP/other") ))
}
ip netns exec "$NS" $PEERS client "$P1" >>"$TMP/top_clients.log" || fail "quiet client failed"
wait_for 30 "the quiet python3 session named in /metrics" prints 1 sessions2 python3
for i in 1 2 3 4 5 6; do
	ip netns exec "$NS" $PEERS client "$P2" >>"$TMP/top_clients.log" || fail "busy node client $i failed"
done
settle "$NS" "$P1" "$P2"
wait_for 30 "node named in /metrics instead of python3" prints "" sessions2 python3
[ -n "$(value 'wstrace_ws_owner_sessions_total{process="node"}')" ] || { cat "$TMP/top.txt"; fail "node has no series"; }
wait_for 30 "node's six sessions, as node or as other" prints 6 node_total
expect_eq "$(value 'wstrace_ws_owner_label_changes_total{change="demoted"}')" 1 "python3 demoted once"
info "after the promotion: node's series counts on, python3's traffic is other"
before=$(cat "$TMP/other")
ip netns exec "$NS" $PEERS client "$P2" >>"$TMP/top_clients.log" || fail "node client failed"
ip netns exec "$NS" $PEERS client "$P1" >>"$TMP/top_clients.log" || fail "python client failed"
settle "$NS" "$P1" "$P2"
wait_for 30 "the two new sessions counted" prints 8 node_total
expect_eq "$(cat "$TMP/other")" "$((before + 1))" "python3's new session counted as other"
[ ! -s "$TMP/top.bad" ] || { cat "$TMP/top.bad"; fail "the owner label's bounds"; }
expect_eq "$(value 'wstrace_ws_owner_sessions_total{process="python3"}')" "" "python3 has no series"
promtool check metrics <"$TMP/top.txt" || fail "promtool rejects the exposition"
echo "ok: node named, python3 in other, other never down, at most 2 series per family"
stop_wstrace "$D_PID" "$D_ERR"

"$PY" - "$TMP" "$P1" "$P2" "$W1" "$SRV2" "/wst-$E2E_ID" "$DOCKER" "$KUBE" "$HEX1" "$HEX2" "$NGINX" <<'PYEOF' || fail "attribution checks"
import json, re, sys
tmp, p1, p2, w1, node, top, docker, kube, hex1, hex2, nginx = sys.argv[1:]
p1, p2, w1, node = int(p1), int(p2), int(w1), int(node)
bad = []

def check(cond, what):
    if not cond:
        bad.append(what)

accepted = {}  # client port -> worker pid (the server's own log)
for line in open(tmp + "/srv1.log"):
    f = line.split()
    if f[0] == "accepted":
        accepted[int(f[2])] = int(f[1])
clients = {}   # client port -> client pid (the clients' own logs)
for name in ("hold.log", "clients.log"):
    for line in open(tmp + "/" + name):
        f = line.split()
        if f[0] == "client":
            clients[int(f[2])] = int(f[1])
hold_port = [int(l.split()[2]) for l in open(tmp + "/hold.log") if l.startswith("client")][0]
check(len(accepted) >= 8, "the prefork server logged %d accepts, want 8" % len(accepted))
check(len(set(accepted.values())) == 2, "both workers accepted: %s" % sorted(set(accepted.values())))

events = [json.loads(l) for l in open(tmp + "/all.json")]
port = lambda e, k: int(e[k].rsplit(":", 1)[1])
conn = [e for e in events if e["event"] in ("tcp_established", "tcp_closed", "ws_upgrade", "ws_established", "ws_session_end")]
ends = [e for e in conn if e["event"] == "ws_session_end"]
check(len(ends) >= 10, "%d sessions ended, want 10" % len(ends))
seen_ports = set()
for e in conn:
    c2s = e["event"] != "ws_established"
    cport = port(e, "src" if c2s else "dst")
    sport = port(e, "dst" if c2s else "src")
    where = "%s %s" % (e["event"], e["src"])
    if sport == p1:
        seen_ports.add(cport)
        want = accepted.get(cport)
        check(want is not None, where + ": no worker logged this client")
        check(e.get("server_pid") == want, where + ": server_pid %s, want %s" % (e.get("server_pid"), want))
        check(e.get("server_comm") == "python3", where + ": server_comm %s" % e.get("server_comm"))
        check(e.get("server_cgroup") == top + "/" + docker, where + ": server_cgroup %s" % e.get("server_cgroup"))
        check(e.get("server_container") == hex1, where + ": server_container %s" % e.get("server_container"))
    elif sport == p2:
        check(e.get("server_pid") == node, where + ": server_pid %s, want node %d" % (e.get("server_pid"), node))
        check(e.get("server_comm") == "node", where + ": server_comm %s" % e.get("server_comm"))
        check(e.get("server_cgroup") == top + "/" + kube, where + ": server_cgroup %s" % e.get("server_cgroup"))
        check(e.get("server_container") == hex2, where + ": server_container %s" % e.get("server_container"))
    if cport in clients:
        check(e.get("client_pid") == clients[cport], where + ": client_pid %s, want %d" % (e.get("client_pid"), clients[cport]))
        check(e.get("client_comm") == "python3", where + ": client_comm %s" % e.get("client_comm"))
check(hold_port in seen_ports, "the connection opened before the start has attributed events")
for e in conn:
    if port(e, "src") == hold_port:
        check(e.get("midstream") is True, "the early connection is picked up mid-stream")
        check(e.get("client_cgroup") == top + "/clients", "early client cgroup %s" % e.get("client_cgroup"))
fwd = {}
for e in ends:
    if "forwarded_for" in e:
        fwd.setdefault(e["forwarded_for"], []).append(e)
for addr in ("203.0.113.7", "198.51.100.44", "127.0.0.5"):
    check(addr in fwd, "a session with forwarded_for %s (have %s)" % (addr, sorted(fwd)))
for e in fwd.get("127.0.0.5", []):
    check(e.get("client_comm") == "nginx", "the proxied session's local client is nginx: %s" % e.get("client_comm"))
upg = [e for e in events if e["event"] == "ws_upgrade" and e.get("forwarded_for")]
check(len(upg) >= 3, "ws_upgrade carries forwarded_for (%d)" % len(upg))

# --pid W1 (tp_btf/sys_exit hook): W1's sessions, all of them, nothing else
mine = [e for e in ends if e.get("server_pid") == w1]
b = [json.loads(l) for l in open(tmp + "/pid.json")]
check(len(b) > 0 and all(e.get("server_pid") == w1 for e in b if "server_pid" in e), "--pid shows other servers")
check(all("server_pid" in e for e in b if e["event"] in ("ws_upgrade", "ws_session_end")), "--pid: events without server_pid")
bends = [e for e in b if e["event"] == "ws_session_end"]
check(len(bends) == len(mine) and len(mine) > 0, "--pid %d: %d sessions, want %d" % (w1, len(bends), len(mine)))

# --cgroup (text): the node server's sessions only, with pid/comm and short container id
txt = [l for l in open(tmp + "/cg.txt") if " WS upgrade " in l or " WS session-end " in l]
n2 = len([e for e in ends if port(e, "dst") == p2])
check(len(txt) == 2 * n2 and n2 > 0, "--cgroup: %d upgrade/end lines, want %d" % (len(txt), 2 * n2))
for l in txt:
    check(" server=%d/node container=%s" % (node, hex2[:12]) in l, "text line: " + l.strip())
for b in bad:
    print("FAIL:", b)
print("checked %d connection events, %d sessions; %d problems" % (len(conn), len(ends), len(bad)))
sys.exit(1 if bad else 0)
PYEOF
echo "ok: every session attributed as its peers say"
grep -E '"ws_session_end"' "$TMP/all.json" | head -n 1
