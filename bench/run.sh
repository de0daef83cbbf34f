#!/bin/sh
# bench/run.sh -- `make bench`: chatbench against chatd (epoll and poll),
# Redis pub/sub and NATS, side by side, on loopback, chatd's chat profile
# beside its line profile, chatd's IRC door beside ngIRCd and InspIRCd,
# and chatd's WebSocket door beside its line door and a Node ws broadcast
# server (bench/ws_node), and a chatd cluster (three nodes on one Redis)
# beside one standalone chatd; writes bench/RESULTS.md and a chart per
# scenario (bench/chart-*.svg).
#
# Every run gets a fresh server (no state, no memory from the last run).
# The scenarios are interleaved -- each round runs every scenario against
# every server, in an order that rotates -- so a slow minute on this shared
# machine hurts every server alike; the report takes medians over rounds.
#
#   BENCH_QUICK=1   one round, short windows, no poll backend: about a minute
#   BENCH_ROUNDS=N  rounds (default 3; 1 when quick)
#   BENCH_THREADS=T chatbench event loops (default 1)
#   BENCH_ONLY=cluster  only the cluster scenario (`make bench-cluster`): its
#                   section of bench/RESULTS.md is replaced, the rest kept
#   B=DIR           build directory (default build)
#
# Needs: build/chatbench (and build/chatd), python3; installs redis-server,
# nats-server, ngircd, inspircd and gnuplot from Debian when it may (root
# with apt-get), and benches only what it has otherwise.  The Node peer
# needs node and npm: its one dependency (ws, pinned by
# bench/ws_node/package-lock.json) is installed with `npm ci` into
# $B/bench/ws_node, or the peer is skipped.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-}
case $ONLY in
'' | cluster) ;;
*) echo "bench: BENCH_ONLY=$ONLY: only 'cluster' can run alone" >&2; exit 2 ;;
esac
THREADS=${BENCH_THREADS:-1}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
OUT=$B/bench
RAW=$OUT/results.jsonl
LOGS=$OUT/logs
BENCH=$B/chatbench
QUEUE_LIMIT=1M

if [ "$QUICK" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-1}
    WARM=0.3 DUR=1 DRAIN=0.5 SWEEP_DUR=1
else
    ROUNDS=${BENCH_ROUNDS:-3}
    WARM=0.5 DUR=2.5 DRAIN=1 SWEEP_DUR=2
fi

say() { printf 'bench: %s\n' "$*" >&2; }

# One chatbench run into $RAW: SCENARIO SERVER ROUND RC RESULT LOG EXTRA,
# EXTRA being more JSON members (each with its comma) before "result"; a
# run that failed is recorded as such, and said.
record() {
    if [ "$4" -ne 0 ] || [ -z "$5" ]; then
        say "$1 on $2: chatbench failed ($4; see $6)"
        printf '{"scenario":"%s","server":"%s","round":%s,"error":"chatbench exit %s"}\n' \
            "$1" "$2" "$3" "$4" >> "$RAW"
        return 0
    fi
    printf '{"scenario":"%s","server":"%s","round":%s,%s"result":%s}\n' \
        "$1" "$2" "$3" "$7" "$5" >> "$RAW"
}

# --- what we need ----------------------------------------------------------

need_pkgs=""
command -v redis-server >/dev/null 2>&1 || need_pkgs="$need_pkgs redis-server"
if [ "$ONLY" = cluster ]; then
    # Redis and gnuplot only: nothing else is run.
    command -v gnuplot >/dev/null 2>&1 || need_pkgs="$need_pkgs gnuplot-nox"
else
    command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] ||
        need_pkgs="$need_pkgs nats-server"
    command -v gnuplot >/dev/null 2>&1 || need_pkgs="$need_pkgs gnuplot-nox"
    command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ] ||
        need_pkgs="$need_pkgs ngircd"
    command -v inspircd >/dev/null 2>&1 || [ -x /usr/sbin/inspircd ] ||
        need_pkgs="$need_pkgs inspircd"
fi
if [ -n "$need_pkgs" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null 2>&1 || true
        have=""
        for p in $need_pkgs; do
            # Only what the archive has (nats-server is in Debian 12 on).
            if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
                have="$have $p"
            else
                say "$p is not in this system's Debian archive: skipped"
            fi
        done
        if [ -n "$have" ]; then
            say "installing:$have"
            apt-get install -y -qq $have >/dev/null 2>&1 ||
                say "apt-get install$have failed; benching what is here"
        fi
    else
        say "missing:$need_pkgs (not root, or no apt-get): benching what is here"
    fi
fi
NATS=$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)
[ -x "$NATS" ] || NATS=""
REDIS=$(command -v redis-server 2>/dev/null || true)
NGIRCD=$(command -v ngircd 2>/dev/null || echo /usr/sbin/ngircd)
[ -x "$NGIRCD" ] || NGIRCD=""
INSPIRCD=$(command -v inspircd 2>/dev/null || echo /usr/sbin/inspircd)
[ -x "$INSPIRCD" ] || INSPIRCD=""

if [ ! -x "$BENCH" ]; then
    say "no $BENCH: run make first"
    exit 1
fi

# Redis and NATS stay running as services after a Debian install; ours
# are separate processes on their own ports, so those do not matter, but
# they would cost CPU: stop them if the package started them.
if command -v service >/dev/null 2>&1; then
    service redis-server stop >/dev/null 2>&1 || true
    service nats-server stop >/dev/null 2>&1 || true
    service ngircd stop >/dev/null 2>&1 || true
    service inspircd stop >/dev/null 2>&1 || true
fi

# Descriptors: as many as the hard limit allows, for the servers and us.
ulimit -n "$(ulimit -H -n)" 2>/dev/null || true
FDS=$(ulimit -n)
case $FDS in unlimited) FDS=1048576 ;; esac
if [ "$FDS" -ge 50300 ]; then
    NMAX=50000
else
    NMAX=$(( (FDS - 300) / 1000 * 1000 ))
    say "the descriptor limit is $FDS (hard, and it cannot be raised here):" \
        "the idle and largest runs use $NMAX clients instead of 50000"
fi

SERVERS=""
[ -x "$B/chatd" ] && SERVERS="chatd"
[ -x "$B/chatd" ] && [ "$QUICK" != 1 ] && SERVERS="$SERVERS chatd-poll"
[ -n "$REDIS" ] && SERVERS="$SERVERS redis"
[ -n "$NATS" ] && SERVERS="$SERVERS nats"
if [ -z "$SERVERS" ]; then
    say "nothing to bench: no build/chatd, redis-server or nats-server"
    exit 1
fi

mkdir -p "$OUT" "$LOGS"
rm -f "$LOGS"/*.log
: > "$RAW"

# Bench private copies: a rebuild of build/ during the run (others work in
# this tree) must not swap a binary between two runs, or under a running one.
mkdir -p "$OUT/bin"
cp "$BENCH" "$OUT/bin/chatbench" || exit 1
BENCH=$OUT/bin/chatbench
if [ -x "$B/chatd" ]; then
    cp "$B/chatd" "$OUT/bin/chatd" || exit 1
fi
CHATD=$OUT/bin/chatd
# The ceiling: a bare fan-out loop (bench/fanout.c), for the chat scenario.
FANOUT=""
if ${CC:-cc} -O2 -o "$OUT/bin/fanout" "$ROOT/bench/fanout.c" 2>"$LOGS/fanout-build.log"; then
    FANOUT=$OUT/bin/fanout
else
    say "could not build bench/fanout.c (see $LOGS/fanout-build.log): no ceiling"
fi

# --- servers -----------------------------------------------------------------

free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

proto_of() {
    case $1 in
    redis) echo redis ;; nats) echo nats ;; chatd-chat) echo chat ;;
    chatd-irc|ngircd|inspircd) echo irc ;;
    chatd-ws|node-ws) echo ws ;;
    *) echo line ;;
    esac
}

# Extra chatbench flags per server.  ngIRCd listens with a backlog of 10,
# so more handshakes in flight only make SYNs retry (seconds each), and it
# lifts its flood control (3 commands per read, a penalty past 256 bytes a
# second) only for user mode +F, which an operator sets: its publishers
# OPER first.  InspIRCd registers a client on its once-a-second tick, so
# many handshakes must be in flight for 10,000 clients to join in time.
# None of this touches the measured window.
server_args() {
    case $1 in
    ngircd) echo "--connecting 8 --irc-oper bench:bench" ;;
    inspircd) echo "--connecting 1000" ;;
    esac
}

# The IRC peers' configurations, in their own temporary directory: flood
# limits off, no connection limit per IP, no DNS, ident or PAM, nicknames
# up to 30 (bench10000 has 10 characters; ngIRCd allows 9 by default).
IRCDIR=""
ngircd_conf() {
    cat > "$IRCDIR/ngircd.conf" <<EOF
[Global]
Name = ngircd.bench
Info = chatd bench peer
AdminInfo1 = bench
AdminInfo2 = bench
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = $1
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
PAM = no
DNS = no
Ident = no
[Operator]
Name = bench
Password = bench
EOF
}

inspircd_conf() {
    echo bench > "$IRCDIR/motd"
    cat > "$IRCDIR/inspircd.conf" <<EOF
<config format="xml">
<server name="inspircd.bench" description="chatd bench peer" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$1" type="clients">
<connect name="bench" allow="*" maxchans="20" timeout="60" pingfreq="600"
         hardsendq="1073741824" softsendq="1073741824" recvq="1048576"
         threshold="1000000" commandrate="1000000000" fakelag="yes"
         localmax="1000000" globalmax="1000000" limit="1000000"
         useident="no" resolvehostnames="no" uniqueusername="no">
<performance netbuffersize="65536" somaxconn="4096" softlimit="1000000"
             clonesonconnect="no" nouserdns="yes">
<pid file="$IRCDIR/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default"
     target="$IRCDIR/inspircd.log">
<limits maxnick="30" maxchan="64">
<security hidesplits="no" runasuser="" runasgroup="">
<options prefixquit="" syntaxhints="no">
<files motd="$IRCDIR/motd">
EOF
}

# start_server NAME TAG: sets SPID and SADDR, or returns 1.
start_server() {
    name=$1
    log=$LOGS/$2.log
    SPID="" SADDR=""
    case $name in
    chatd|chatd-poll)
        backend=epoll
        [ "$name" = chatd-poll ] && backend=poll
        "$CHATD" --listen 127.0.0.1:0 --backend $backend --log quiet \
            --queue-limit $QUEUE_LIMIT </dev/null >/dev/null 2>"$log" &
        SPID=$!
        i=0
        while [ $i -lt 50 ]; do
            SADDR=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$log" | head -n 1)
            [ -n "$SADDR" ] && break
            sleep 0.1
            i=$((i + 1))
        done
        ;;
    ceiling)
        port=$(free_port)
        "$FANOUT" "$port" </dev/null >/dev/null 2>"$log" &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    chatd-chat)
        port=$(free_port)
        "$CHATD" --profile chat --listen 127.0.0.1:"$port" --log quiet \
            --queue-limit $QUEUE_LIMIT </dev/null >/dev/null 2>"$log" &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    chatd-ws)
        # The chat profile's line door and web door, as a user runs it;
        # chatbench speaks WebSocket to the web door.
        port=$(free_port)
        "$CHATD" --profile chat --listen 127.0.0.1:"$(free_port)" \
            --listen http://127.0.0.1:"$port" --log quiet \
            --queue-limit $QUEUE_LIMIT </dev/null >/dev/null 2>"$log" &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    node-ws)
        port=$(free_port)
        "$NODE" "$WSNODE/server.js" "$port" </dev/null >/dev/null 2>"$log" &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    chatd-irc)
        port=$(free_port)
        # Flood control off, as it is lifted for the peers.
        "$CHATD" --profile chat --listen irc://127.0.0.1:"$port" --log quiet \
            --queue-limit $QUEUE_LIMIT --flood-burst 0 --flood-rate 0 \
            </dev/null >/dev/null 2>"$log" &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    ngircd)
        port=$(free_port)
        ngircd_conf "$port"
        # Started as root it runs as nobody, which the process keeps.
        "$NGIRCD" --nodaemon --config "$IRCDIR/ngircd.conf" \
            </dev/null >"$log" 2>&1 &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    inspircd)
        port=$(free_port)
        inspircd_conf "$port"
        runas=""
        [ "$(id -u)" = 0 ] && runas=--runasroot
        "$INSPIRCD" --nofork $runas --config="$IRCDIR/inspircd.conf" \
            </dev/null >"$log" 2>&1 &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    redis)
        port=$(free_port)
        "$REDIS" --port "$port" --bind 127.0.0.1 --protected-mode no --save '' --appendonly no \
            --maxclients 100000 --daemonize no --logfile "$log" \
            </dev/null >/dev/null 2>&1 &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    nats)
        port=$(free_port)
        "$NATS" -a 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    esac
    [ -n "$SADDR" ] || { say "$name did not start (see $log)"; stop_server; return 1; }
    # Ready when a client can join (for Redis: subscribe; NATS: PONG).
    i=0
    while [ $i -lt 50 ]; do
        # (InspIRCd takes up to a second to register anyone.)
        if "$BENCH" -P "$(proto_of "$name")" -c 1 -p 0 -d 0 --warmup 0 \
               --drain 0 --connect-timeout 1.5 "$SADDR" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    say "$name does not answer on $SADDR (see $log)"
    stop_server
    return 1
}

stop_server() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null
    i=0
    while kill -0 "$SPID" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=""
}
IRCDIR=$(mktemp -d "${TMPDIR:-/tmp}/chatd-bench-irc.XXXXXX") || exit 1
chmod 755 "$IRCDIR"         # ngIRCd reads its configuration as nobody
trap 'stop_server; stop_cluster; rm -rf "$IRCDIR"; exit 130' INT TERM

# --- scenarios -----------------------------------------------------------------

# The chatbench flags of each scenario (the address and --pid are added).
scenario_args() {
    case $1 in
    a|chat) echo "--clients 100 --publishers 10 --max --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    b)   echo "--clients 1000 --publishers 1 --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    c10) echo "--clients 10000 --publishers 1 --rate 10 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    c100) echo "--clients 10000 --publishers 1 --rate 100 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    d)   echo "--clients 100 --publishers 10 --max --size 64 --slow 5 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    e)   echo "--clients $NMAX --publishers 0 --warmup 0 --duration 0.5 --drain 0" ;;
    irc-a) echo "--clients 100 --publishers 10 --max --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    irc-b) echo "--clients 1000 --publishers 1 --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    irc-c) echo "--clients $NIRC --publishers 1 --rate 10 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN --connect-timeout 60" ;;
    ws-a) echo "--clients 100 --publishers 10 --max --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    ws-b) echo "--clients 1000 --publishers 1 --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    ws-idle) echo "--clients $NWS --publishers 0 --warmup 0 --duration 0.5 --drain 0 --connect-timeout 60" ;;
    sweep-*)
         n=${1#sweep-}
         echo "--clients $n --publishers 1 --max --size 64 --warmup $WARM --duration $SWEEP_DUR --drain $DRAIN" ;;
    esac
}

# run_one SCENARIO SERVER ROUND: one fresh server, one chatbench, one line
# of JSON into $RAW.
run_one() {
    sc=$1 name=$2 round=$3
    progress "$sc" "$name" "$round"
    start_server "$name" "$sc-$name-$round" || {
        printf '{"scenario":"%s","server":"%s","round":%s,"error":"server did not start"}\n' \
            "$sc" "$name" "$round" >> "$RAW"
        return 0
    }
    args="$(scenario_args "$sc") $(server_args "$name")"
    # shellcheck disable=SC2086
    res=$(timeout 240 "$BENCH" -P "$(proto_of "$name")" $args \
          --threads "$THREADS" --pid "$SPID" --json "$SADDR" \
          2>"$LOGS/$sc-$name-$round.chatbench.log")
    rc=$?
    stop_server
    record "$sc" "$name" "$round" "$rc" "$res" \
        "$LOGS/$sc-$name-$round.chatbench.log" ""
    printf '  %-9s %-10s %s\n' "$sc" "$name" "$(echo "$res" | $PY -c '
import json, sys
r = json.load(sys.stdin)
l = r["latency_us"]
s = r.get("server", {})
print("%d/%d clients  %.0f deliveries/s  p99 %.2f ms  losses %d  %s ns/delivery  %s B/client" % (
    r["connected"], r["clients"], r["deliveries_per_s"], l["p99"] / 1000, r["losses"],
    "%.0f" % s["cpu_ns_per_delivery"] if s.get("cpu_ns_per_delivery") else "-",
    "%.0f" % s["rss_per_client_b"] if s.get("rss_per_client_b") else "-"))')" >&2
}

# progress SCENARIO SERVER ROUND: one line on stderr before each run --
# which, round k of n, and the time left at the pace so far.
DONE=0
progress() {
    now=$(date +%s)
    left=""
    if [ "$DONE" -gt 0 ]; then
        secs=$(( (now - START) * (TOTAL - DONE) / DONE ))
        left=", about $((secs / 60)) min $((secs % 60)) s left"
    fi
    case $1 in sweep-*) of="sweep" ;; *) of="round $3 of $ROUNDS" ;; esac
    DONE=$((DONE + 1))
    say "[$DONE/$TOTAL] $1 on $2, $of$left"
}

# Rotate a server list ($2..., default $SERVERS) by $1 places, so no
# server always goes first.
rotated() {
    k=$1
    shift
    [ $# -gt 0 ] || set -- $SERVERS
    n=$#
    k=$((k % n))
    i=0
    while [ $i -lt $k ]; do
        first=$1
        shift
        set -- "$@" "$first"
        i=$((i + 1))
    done
    echo "$@"
}

# --- the cluster scenario -------------------------------------------------
#
# Three chatd nodes on one Redis (--cluster), beside one standalone chatd
# (no Redis at all) and one node with --cluster (the Redis hop without a
# second node), under the same load: 300 chat clients in one room (60 in
# the light load), spread evenly over the nodes, three publishers (one per
# node in the 3-node setup), at 1,000 msg/s and at full speed.  Every room message of a cluster node goes out to Redis and is
# delivered when it comes back, on the publisher's node too, so "latency
# added by the cluster" is a cluster setup's latency minus the standalone
# one's, and same-node against cross-node (chatbench tells them apart)
# shows what a second node adds on top.  chatbench watches every node and
# Redis (--pid), so each one's CPU is read over the same window.
CL_SETUPS="standalone cluster1 cluster3"
CL_SCENARIOS="cl-light cl-rate cl-max"
CL_CLIENTS=300
CL_LIGHT=60         # few enough that nothing on 2 cores is near a full core
CL_PUBS=3
CL_WINDOW=32

# start_cluster SETUP TAG: sets CPIDS (the chatd nodes' pids), RPID (Redis's,
# or empty) and CADDRS (the nodes' addresses, in the order of CPIDS), or
# returns 1.
CPIDS="" RPID="" CADDRS=""
start_cluster() {
    setup=$1 tag=$2
    CPIDS="" RPID="" CADDRS=""
    case $setup in
    standalone) nodes=1 ;;
    cluster1) nodes=1 ;;
    *) nodes=3 ;;
    esac
    url=""
    if [ "$setup" != standalone ]; then
        rport=$(free_port)
        "$REDIS" --port "$rport" --bind 127.0.0.1 --protected-mode no \
            --save '' --appendonly no --maxclients 100000 --daemonize no \
            --logfile "$LOGS/$tag-redis.log" </dev/null >/dev/null 2>&1 &
        RPID=$!
        url=redis://127.0.0.1:$rport
        i=0
        until "$BENCH" -P redis -c 1 -p 0 -d 0 --warmup 0 --drain 0 \
                --connect-timeout 1 127.0.0.1:"$rport" >/dev/null 2>&1; do
            i=$((i + 1))
            if [ $i -ge 50 ]; then
                say "redis-server did not start (see $LOGS/$tag-redis.log)"
                stop_cluster
                return 1
            fi
            sleep 0.1
        done
    fi
    k=1
    while [ $k -le $nodes ]; do
        port=$(free_port)
        log=$LOGS/$tag-n$k.log
        if [ -n "$url" ]; then
            "$CHATD" --profile chat --listen 127.0.0.1:"$port" --log quiet \
                --queue-limit $QUEUE_LIMIT --cluster "$url" --node-name n$k \
                </dev/null >/dev/null 2>"$log" &
        else
            "$CHATD" --profile chat --listen 127.0.0.1:"$port" --log quiet \
                --queue-limit $QUEUE_LIMIT </dev/null >/dev/null 2>"$log" &
        fi
        CPIDS="$CPIDS $!"
        CADDRS="$CADDRS 127.0.0.1:$port"
        # Ready when it has its link to Redis and a client gets in.  (A
        # line client: a guest, no nickname to claim in the cluster.)
        i=0
        until { [ -z "$url" ] || grep -qs 'cluster: link up' "$log"; } &&
              "$BENCH" -P line -c 1 -p 0 -d 0 --warmup 0 --drain 0 \
                  --connect-timeout 1 127.0.0.1:"$port" >/dev/null 2>&1; do
            i=$((i + 1))
            if [ $i -ge 50 ]; then
                say "chatd node n$k of $setup did not start (see $log)"
                stop_cluster
                return 1
            fi
            sleep 0.1
        done
        k=$((k + 1))
    done
    return 0
}

# Stop the nodes, then Redis (so no node logs a lost link first).
stop_cluster() {
    for p in $CPIDS $RPID; do
        kill -TERM "$p" 2>/dev/null
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    CPIDS="" RPID=""
}

cluster_args() {
    case $1 in
    cl-light) echo "--clients $CL_LIGHT --publishers $CL_PUBS --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    cl-rate) echo "--clients $CL_CLIENTS --publishers $CL_PUBS --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    cl-max) echo "--clients $CL_CLIENTS --publishers $CL_PUBS --max --window $CL_WINDOW --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    esac
}

# run_cluster SCENARIO SETUP ROUND: fresh Redis and nodes, one chatbench
# over all the nodes watching all of them, one line of JSON into $RAW
# ("nodes": how many of the pids are chatd nodes; Redis's is the last).
run_cluster() {
    sc=$1 setup=$2 round=$3
    progress "$sc" "$setup" "$round"
    tag=$sc-$setup-$round
    start_cluster "$setup" "$tag" || {
        printf '{"scenario":"%s","server":"%s","round":%s,"error":"servers did not start"}\n' \
            "$sc" "$setup" "$round" >> "$RAW"
        return 0
    }
    pids=$(echo $CPIDS $RPID | tr ' ' ,)
    nnodes=$(echo $CPIDS | wc -w)
    # shellcheck disable=SC2086
    res=$(timeout 240 "$BENCH" -P chat $(cluster_args "$sc") \
          --threads "$THREADS" --pid "$pids" --json $CADDRS \
          2>"$LOGS/$tag.chatbench.log")
    rc=$?
    stop_cluster
    record "$sc" "$setup" "$round" "$rc" "$res" "$LOGS/$tag.chatbench.log" \
        "\"nodes\":$nnodes,\"redis\":$([ -n "$url" ] && echo true || echo false),"
    printf '  %-9s %-10s %s\n' "$sc" "$setup" "$(echo "$res" | $PY -c '
import json, sys
r = json.load(sys.stdin)
l = r["latency_us"]
cpu = " ".join("%.0f%%" % (100 * s["cpu_s"] / r["window_s"])
               for s in r.get("servers", []) if r["window_s"])
print("%d/%d clients  %.0f deliveries/s  p50 %.2f p99 %.2f ms  losses %d  cpu %s  chatbench %.0f%%" % (
    r["connected"], r["clients"], r["deliveries_per_s"], l["p50"] / 1000,
    l["p99"] / 1000, r["losses"], cpu,
    100 * r["chatbench_cpu_s"] / r["window_s"] if r["window_s"] else 0))')" >&2
}

# The cluster scenario, ROUNDS rounds, setups in rotating order.
cluster_rounds() {
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        j=0
        for sc in $CL_SCENARIOS; do
            for s in $(rotated $((r + j)) $CL_SETUPS); do
                run_cluster "$sc" "$s" "$r"
            done
            j=$((j + 1))
        done
        r=$((r + 1))
    done
}

CL_NOTE=""
if [ -z "$REDIS" ]; then
    CL_NOTE="skipped: no redis-server"
elif [ ! -x "$CHATD" ] || ! "$CHATD" --profile chat --help >/dev/null 2>&1; then
    CL_NOTE="skipped: no chatd with the chat profile"
fi
[ -n "$CL_NOTE" ] && say "scenario cluster $CL_NOTE"

# write_meta: the run's key=value facts for report.py.
write_meta() {
    {
        echo "start=$START"
        echo "end=$END"
        echo "quick=$QUICK"
        echo "only=$ONLY"
        echo "rounds=$ROUNDS"
        echo "threads=$THREADS"
        echo "fd_limit=$FDS"
        echo "nmax=$NMAX"
        echo "busy_before=$busy_before"
        echo "queue_limit=$QUEUE_LIMIT"
        echo "servers=$SERVERS"
        echo "chat_note=$CHAT_NOTE"
        echo "irc_servers=$IRC_SERVERS"
        echo "irc_note=$IRC_NOTE"
        echo "nirc=$NIRC"
        echo "ws_servers=$WS_SERVERS"
        echo "ws_note=$WS_NOTE"
        echo "nws=$NWS"
        echo "cluster_note=$CL_NOTE"
        for sc in $SCENARIOS chat $IRC_SCENARIOS $WS_SCENARIOS sweep-N; do
            echo "args_$sc=$(scenario_args "$sc")"
        done
        for sc in $CL_SCENARIOS; do
            echo "args_$sc=$(cluster_args "$sc")"
        done
        for s in ngircd inspircd; do
            echo "server_args_$s=$(server_args "$s")"
        done
        echo "chatd_version=$("$CHATD" --version 2>/dev/null | head -n 1)"
        echo "redis_version=$([ -n "$REDIS" ] && "$REDIS" --version | head -n 1)"
        echo "nats_version=$([ -n "$NATS" ] && "$NATS" --version 2>&1 | head -n 1)"
        echo "ngircd_version=$([ -n "$NGIRCD" ] && "$NGIRCD" --version 2>&1 | head -n 1)"
        echo "inspircd_version=$([ -n "$INSPIRCD" ] && "$INSPIRCD" --version 2>&1 | head -n 1)"
        echo "node_version=$([ -n "$NODE" ] && "$NODE" --version)"
        echo "ws_version=$([ -n "$NODE" ] && "$NODE" -p 'require(process.argv[1]).version' "$WSNODE/node_modules/ws/package.json" 2>/dev/null)"
        echo "chatbench_version=$("$BENCH" --version)"
        dirty=""
        git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || dirty=" (+ uncommitted changes in src/)"
        echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$dirty"
    } > "$OUT/meta.txt"
}

# Background load before we start: a busy machine makes every figure low.
busy_before=$($PY - <<'EOF'
import time
def snap():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]
t0, i0 = snap(); time.sleep(1); t1, i1 = snap()
print("%.0f" % (100.0 * (1 - (i1 - i0) / max(1, t1 - t0))))
EOF
)
say "servers: $SERVERS; rounds: $ROUNDS; background CPU: $busy_before %"
[ "$busy_before" -gt 15 ] 2>/dev/null &&
    say "warning: the machine is already $busy_before % busy; figures will be low"

if [ "$ONLY" = cluster ]; then
    [ -n "$CL_NOTE" ] && { rm -rf "$IRCDIR"; exit 1; }
    SCENARIOS="" IRC_SCENARIOS="" WS_SCENARIOS="" CHAT_NOTE="" IRC_NOTE=""
    WS_NOTE="" NIRC="" NWS="" IRC_SERVERS="" WS_SERVERS="" NODE="" WSNODE=""
    TOTAL=$(( ROUNDS * $(echo $CL_SCENARIOS | wc -w) * $(echo $CL_SETUPS | wc -w) ))
    START=$(date +%s)
    cluster_rounds
    END=$(date +%s)
    write_meta
    rm -rf "$IRCDIR"
    # Only the cluster's section of RESULTS.md is replaced.
    $PY "$ROOT/bench/report.py" --raw "$RAW" --meta "$OUT/meta.txt" \
        --out "$ROOT/bench/RESULTS.md" --charts "$ROOT/bench" \
        --work "$OUT" --only cluster || exit 1
    say "wrote the cluster section of bench/RESULTS.md in $((END - START)) s"
    exit 0
fi

SCENARIOS="a b c10 c100 d e"
if [ "$QUICK" = 1 ]; then
    SWEEP="10 1000 $NMAX"
else
    SWEEP="10 100 1000 10000 $NMAX"
fi

# The chat profile against the line profile and the ceiling (a bare
# fan-out loop), same load as (a), when this chatd has the chat profile
# (an unknown profile is a usage error: exit 2).
CHAT_SERVERS=""
CHAT_NOTE=""
if [ ! -x "$CHATD" ]; then
    CHAT_NOTE="skipped: no build/chatd"
elif "$CHATD" --profile chat --help >/dev/null 2>&1; then
    CHAT_SERVERS="chatd chatd-chat"
    [ -n "$FANOUT" ] && CHAT_SERVERS="ceiling $CHAT_SERVERS"
else
    CHAT_NOTE="skipped: chatd has no chat profile"
fi
[ -n "$CHAT_NOTE" ] && say "scenario chat $CHAT_NOTE"

# chatd's IRC door against ngIRCd and InspIRCd: one channel, three loads.
# In the largest every client joins one channel, which costs any IRC
# server O(N^2) JOIN lines before the window: quick mode keeps it small.
IRC_SERVERS=""
IRC_NOTE=""
if [ -x "$CHATD" ] && "$CHATD" --profile chat --help >/dev/null 2>&1; then
    IRC_SERVERS="chatd-irc"
else
    IRC_NOTE=" chatd (no chat profile)"
fi
if [ -n "$NGIRCD" ]; then IRC_SERVERS="$IRC_SERVERS ngircd"
else IRC_NOTE="$IRC_NOTE ngircd"; fi
if [ -n "$INSPIRCD" ]; then IRC_SERVERS="$IRC_SERVERS inspircd"
else IRC_NOTE="$IRC_NOTE inspircd"; fi
[ -n "$IRC_NOTE" ] && IRC_NOTE="not benched (absent):$IRC_NOTE" &&
    say "IRC scenarios: $IRC_NOTE"
IRC_SCENARIOS="irc-a irc-b irc-c"
if [ "$QUICK" = 1 ]; then
    NIRC=2000
else
    NIRC=10000
fi
[ "$NIRC" -gt "$NMAX" ] && NIRC=$NMAX

# chatd's WebSocket door against its line door (same chat profile, same
# load: --protocol chat on the line port) and against the broadcast
# server a Node user would write on the ws package (bench/ws_node).
WS_SERVERS=""
WS_NOTE=""
NODE=""
WSNODE=$OUT/ws_node
if [ -x "$CHATD" ] && "$CHATD" --profile chat --help >/dev/null 2>&1; then
    WS_SERVERS="chatd-ws chatd-chat"
else
    WS_NOTE="chatd (no chat profile)"
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    WS_NOTE="${WS_NOTE:+$WS_NOTE; }the Node ws server (no node or npm here)"
else
    rm -rf "$WSNODE"
    mkdir -p "$WSNODE"
    cp "$ROOT/bench/ws_node/package.json" "$ROOT/bench/ws_node/package-lock.json" \
        "$ROOT/bench/ws_node/server.js" "$WSNODE/" &&
    if (cd "$WSNODE" && npm ci --omit=dev --no-audit --no-fund \
            >"$LOGS/ws_node-npm.log" 2>&1); then
        NODE=$(command -v node)
        WS_SERVERS="$WS_SERVERS node-ws"
    else
        WS_NOTE="${WS_NOTE:+$WS_NOTE; }the Node ws server (npm ci failed: see $LOGS/ws_node-npm.log)"
    fi
fi
[ -n "$WS_NOTE" ] && WS_NOTE="not benched: $WS_NOTE" && say "WebSocket scenarios: $WS_NOTE"
WS_SCENARIOS="ws-a ws-b ws-idle"
NWS=5000
[ "$NWS" -gt "$NMAX" ] && NWS=$NMAX

nserv=$(echo $SERVERS | wc -w)
nchat=$(echo $CHAT_SERVERS | wc -w)
nirc=$(echo $IRC_SERVERS | wc -w)
nws=$(echo $WS_SERVERS | wc -w)
TOTAL=$(( ROUNDS * ($(echo $SCENARIOS | wc -w) * nserv + nchat
                    + ($(echo $IRC_SCENARIOS | wc -w) - 1) * nirc
                    + $(echo $WS_SCENARIOS | wc -w) * nws) \
          + nirc + $(echo $SWEEP | wc -w) * nserv ))
[ -z "$CL_NOTE" ] &&
    TOTAL=$(( TOTAL + ROUNDS * $(echo $CL_SCENARIOS | wc -w) * $(echo $CL_SETUPS | wc -w) ))
START=$(date +%s)

round=1
while [ "$round" -le "$ROUNDS" ]; do
    k=0
    for sc in $SCENARIOS; do
        for s in $(rotated $((round + k))); do
            run_one "$sc" "$s" "$round"
        done
        k=$((k + 1))
    done
    if [ -n "$CHAT_SERVERS" ]; then
        for s in $(rotated "$round" $CHAT_SERVERS); do
            run_one chat "$s" "$round"
        done
    fi
    if [ -n "$IRC_SERVERS" ]; then
        for sc in $IRC_SCENARIOS; do
            # The largest takes minutes to join (ngIRCd): one round only.
            [ "$sc" = irc-c ] && [ "$round" -gt 1 ] && continue
            for s in $(rotated $((round + k)) $IRC_SERVERS); do
                run_one "$sc" "$s" "$round"
            done
            k=$((k + 1))
        done
    fi
    if [ -n "$WS_SERVERS" ]; then
        for sc in $WS_SCENARIOS; do
            for s in $(rotated $((round + k)) $WS_SERVERS); do
                run_one "$sc" "$s" "$round"
            done
            k=$((k + 1))
        done
    fi
    round=$((round + 1))
done
for n in $SWEEP; do
    for s in $(rotated "$n"); do
        run_one "sweep-$n" "$s" 1
    done
done
[ -z "$CL_NOTE" ] && cluster_rounds
END=$(date +%s)

# --- report ----------------------------------------------------------------

write_meta

rm -rf "$IRCDIR"
$PY "$ROOT/bench/report.py" --raw "$RAW" --meta "$OUT/meta.txt" \
    --out "$ROOT/bench/RESULTS.md" --charts "$ROOT/bench" \
    --work "$OUT" || exit 1
say "wrote bench/RESULTS.md and bench/chart-*.svg in $((END - START)) s"
