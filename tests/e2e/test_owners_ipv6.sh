#!/usr/bin/env bash
# Who is behind each connection over IPv6: a prefork python server (two
# workers) on [::1] in a docker-like cgroup v2 group, local clients in a
# group of their own. Every connection event names the worker that logged
# accepting the client's port (server_pid, server_comm, server_cgroup,
# server_container) and the client process (client_pid, client_comm,
# client_cgroup); addresses read [::1]:PORT; an IPv6 X-Forwarded-For and a
# Forwarded for="[2001:db8::1]:4711" give forwarded_for without brackets or
# port, on ws_upgrade and on the session's end.
. "$(dirname "$0")/lib.sh"
need_root

CGROOT=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
[ -n "$CGROOT" ] || ws_need "a cgroup v2 mount" false
TOP=$CGROOT/wst6-$E2E_ID
HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
DOCKER=system.slice/docker-$HEX.scope

trap 'rc=$?; cgroup_cleanup "$TOP"; (exit $rc); e2e_cleanup' EXIT
mkdir -p "$TOP/$DOCKER" "$TOP/clients" || fail "cannot create cgroups under $TOP"

NS=$(new_ns own6)
P1=$((20000 + RANDOM % 20000))
PEERS="$PY $ROOT/tests/e2e/owner_peers.py"
export OWNER_HOST=::1

info "prefork python on [::1]:$P1 ($DOCKER)"
ip netns exec "$NS" sh -c 'echo $$ >&3 && exec 3>&- && exec "$@"' sh $PEERS prefork "$P1" 2 \
	3>"$TOP/$DOCKER/cgroup.procs" >"$TMP/srv.log" &
PIDS+=("$!")
wait_for 10 "the prefork workers" grep -q '^workers' "$TMP/srv.log"
wait_port "$NS" "$P1"

start_wstrace "$NS" "$TMP/all.json" "$TMP/all.err" --json -p "$P1"
client() {
	ip netns exec "$NS" sh -c 'echo $$ >&3 && exec 3>&- && exec "$@"' sh $PEERS client "$P1" "$@" \
		3>"$TOP/clients/cgroup.procs" >>"$TMP/clients.log" || fail "client $* failed"
}
client
client
client --xff 2001:db8::7
client --forwarded 'for="[2001:db8::1]:4711";proto=http'
settle "$NS" "$P1"
stop_wstrace

"$PY" - "$TMP" "$P1" "/wst6-$E2E_ID" "$DOCKER" "$HEX" <<'PYEOF' || fail "IPv6 attribution checks"
import json, sys
tmp, p1, top, docker, hexid = sys.argv[1:]
p1 = int(p1)
bad = []

def check(cond, what):
    if not cond:
        bad.append(what)

accepted = {int(l.split()[2]): int(l.split()[1]) for l in open(tmp + "/srv.log") if l.startswith("accepted")}
clients = {int(l.split()[2]): int(l.split()[1]) for l in open(tmp + "/clients.log") if l.startswith("client")}
check(len(accepted) == 4 and len(clients) == 4, "4 accepts and 4 clients logged: %s %s" % (accepted, clients))
events = [json.loads(l) for l in open(tmp + "/all.json")]
kinds = ("tcp_established", "tcp_closed", "ws_upgrade", "ws_established", "ws_session_end")
conn = [e for e in events if e["event"] in kinds]
check(len([e for e in conn if e["event"] == "ws_session_end"]) == 4, "4 sessions ended")
for e in conn:
    c2s = e["event"] != "ws_established"
    cli, srv = (e["src"], e["dst"]) if c2s else (e["dst"], e["src"])
    where = "%s %s" % (e["event"], cli)
    check(srv == "[::1]:%d" % p1 and cli.startswith("[::1]:"), where + ": addresses " + srv)
    cport = int(cli.rsplit(":", 1)[1])
    check(e.get("server_pid") == accepted.get(cport), where + ": server_pid %s, want %s" % (e.get("server_pid"), accepted.get(cport)))
    check(e.get("server_comm") == "python3", where + ": server_comm %s" % e.get("server_comm"))
    check(e.get("server_cgroup") == top + "/" + docker, where + ": server_cgroup %s" % e.get("server_cgroup"))
    check(e.get("server_container") == hexid, where + ": server_container %s" % e.get("server_container"))
    check(e.get("client_pid") == clients.get(cport), where + ": client_pid %s, want %s" % (e.get("client_pid"), clients.get(cport)))
    check(e.get("client_comm") == "python3", where + ": client_comm %s" % e.get("client_comm"))
    check(e.get("client_cgroup") == top + "/clients", where + ": client_cgroup %s" % e.get("client_cgroup"))
    check("client_container" not in e, where + ": a client container")
for ev in ("ws_upgrade", "ws_session_end"):
    fwd = sorted(e["forwarded_for"] for e in conn if e["event"] == ev and "forwarded_for" in e)
    check(fwd == ["2001:db8::1", "2001:db8::7"], "%s forwarded_for %s" % (ev, fwd))
for b in bad:
    print("FAIL:", b)
print("checked %d connection events; %d problems" % (len(conn), len(bad)))
sys.exit(1 if bad else 0)
PYEOF
echo "ok: IPv6 connections attributed as their peers say"
