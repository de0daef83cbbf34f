#!/bin/sh
# bench/run.sh -- `make bench`: chatbench against chatd (epoll and poll),
# Redis pub/sub and NATS, side by side, on loopback, chatd's chat profile
# beside its line profile, and chatd's IRC door beside ngIRCd and
# InspIRCd; writes bench/RESULTS.md and a chart per scenario
# (bench/chart-*.svg).
#
# Every run gets a fresh server (no state, no memory from the last run).
# The scenarios are interleaved -- each round runs every scenario against
# every server, in an order that rotates -- so a slow minute on this shared
# machine hurts every server alike; the report takes medians over rounds.
#
#   BENCH_QUICK=1   one round, short windows, no poll backend: about a minute
#   BENCH_ROUNDS=N  rounds (default 3; 1 when quick)
#   BENCH_THREADS=T chatbench event loops (default 1)
#   B=DIR           build directory (default build)
#
# Needs: build/chatbench (and build/chatd), python3; installs redis-server,
# nats-server, ngircd, inspircd and gnuplot from Debian when it may (root
# with apt-get), and benches only what it has otherwise.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
QUICK=${BENCH_QUICK:-0}
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

# --- what we need ----------------------------------------------------------

need_pkgs=""
command -v redis-server >/dev/null 2>&1 || need_pkgs="$need_pkgs redis-server"
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] ||
    need_pkgs="$need_pkgs nats-server"
command -v gnuplot >/dev/null 2>&1 || need_pkgs="$need_pkgs gnuplot-nox"
command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ] ||
    need_pkgs="$need_pkgs ngircd"
command -v inspircd >/dev/null 2>&1 || [ -x /usr/sbin/inspircd ] ||
    need_pkgs="$need_pkgs inspircd"
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
    chatd-chat-tls) echo chat ;;
    chatd-irc|ngircd|inspircd) echo irc ;;
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

# chatd's TLS doors (scenario tls) are benched with chatbench --tls.
tls_flag() {
    case $1 in *-tls) echo --tls ;; esac
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
    chatd-tls|chatd-chat-tls)
        port=$(free_port)
        profile=line
        [ "$name" = chatd-chat-tls ] && profile=chat
        "$CHATD" --profile $profile --listen tls://127.0.0.1:"$port" \
            --tls-cert "$IRCDIR/cert.pem" --tls-key "$IRCDIR/key.pem" \
            --log quiet --queue-limit $QUEUE_LIMIT </dev/null >/dev/null 2>"$log" &
        SPID=$!
        SADDR=127.0.0.1:$port
        ;;
    chatd-irc)
        port=$(free_port)
        "$CHATD" --profile chat --listen irc://127.0.0.1:"$port" --log quiet \
            --queue-limit $QUEUE_LIMIT </dev/null >/dev/null 2>"$log" &
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
        if "$BENCH" -P "$(proto_of "$name")" $(tls_flag "$name") -c 1 -p 0 -d 0 --warmup 0 \
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
trap 'stop_server; rm -rf "$IRCDIR"; exit 130' INT TERM

# --- scenarios -----------------------------------------------------------------

# The chatbench flags of each scenario (the address and --pid are added).
scenario_args() {
    case $1 in
    a|chat|tls) echo "--clients 100 --publishers 10 --max --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    b)   echo "--clients 1000 --publishers 1 --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    c10) echo "--clients 10000 --publishers 1 --rate 10 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    c100) echo "--clients 10000 --publishers 1 --rate 100 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    d)   echo "--clients 100 --publishers 10 --max --size 64 --slow 5 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    e)   echo "--clients $NMAX --publishers 0 --warmup 0 --duration 0.5 --drain 0" ;;
    irc-a) echo "--clients 100 --publishers 10 --max --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    irc-b) echo "--clients 1000 --publishers 1 --rate 1000 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN" ;;
    irc-c) echo "--clients $NIRC --publishers 1 --rate 10 --size 64 --warmup $WARM --duration $DUR --drain $DRAIN --connect-timeout 60" ;;
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
    args="$(scenario_args "$sc") $(server_args "$name") $(tls_flag "$name")"
    # shellcheck disable=SC2086
    res=$(timeout 240 "$BENCH" -P "$(proto_of "$name")" $args \
          --threads "$THREADS" --pid "$SPID" --json "$SADDR" \
          2>"$LOGS/$sc-$name-$round.chatbench.log")
    rc=$?
    stop_server
    if [ $rc -ne 0 ] || [ -z "$res" ]; then
        say "$sc on $name: chatbench failed ($rc; see $LOGS/$sc-$name-$round.chatbench.log)"
        printf '{"scenario":"%s","server":"%s","round":%s,"error":"chatbench exit %s"}\n' \
            "$sc" "$name" "$round" "$rc" >> "$RAW"
        return 0
    fi
    printf '{"scenario":"%s","server":"%s","round":%s,"result":%s}\n' \
        "$sc" "$name" "$round" "$res" >> "$RAW"
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

# Load (a) over chatd's TLS doors beside plain TCP, both profiles, with a
# throwaway self-signed certificate (chatbench --tls checks none).
TLS_SERVERS=""
TLS_NOTE=""
if [ -n "$CHAT_SERVERS" ] && openssl req -x509 -newkey rsa:2048 -nodes \
       -days 1 -subj /CN=localhost -keyout "$IRCDIR/key.pem" \
       -out "$IRCDIR/cert.pem" >/dev/null 2>&1; then
    TLS_SERVERS="chatd chatd-tls chatd-chat chatd-chat-tls"
else
    TLS_NOTE="skipped: no chat profile or no openssl"
    say "scenario tls $TLS_NOTE"
fi

nserv=$(echo $SERVERS | wc -w)
nchat=$(echo $CHAT_SERVERS | wc -w)
nirc=$(echo $IRC_SERVERS | wc -w)
TOTAL=$(( ROUNDS * ($(echo $SCENARIOS | wc -w) * nserv + nchat
                    + ($(echo $IRC_SCENARIOS | wc -w) - 1) * nirc \
                    + $(echo $TLS_SERVERS | wc -w)) \
          + nirc + $(echo $SWEEP | wc -w) * nserv ))
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
    if [ -n "$TLS_SERVERS" ]; then
        for s in $(rotated "$round" $TLS_SERVERS); do
            run_one tls "$s" "$round"
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
    round=$((round + 1))
done
for n in $SWEEP; do
    for s in $(rotated "$n"); do
        run_one "sweep-$n" "$s" 1
    done
done
END=$(date +%s)

# --- report ----------------------------------------------------------------

{
    echo "start=$START"
    echo "end=$END"
    echo "quick=$QUICK"
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
    echo "tls_note=$TLS_NOTE"
    echo "tls_path=$(sed -n 's/^chatd: TLS: //p' "$LOGS"/tls-chatd-*tls-*.log 2>/dev/null | sort -u | head -n 1)"
    for sc in $SCENARIOS chat tls $IRC_SCENARIOS sweep-N; do
        echo "args_$sc=$(scenario_args "$sc")"
    done
    for s in ngircd inspircd; do
        echo "server_args_$s=$(server_args "$s")"
    done
    echo "chatd_version=$("$CHATD" --version 2>/dev/null | head -n 1)"
    echo "redis_version=$([ -n "$REDIS" ] && "$REDIS" --version | head -n 1)"
    echo "nats_version=$([ -n "$NATS" ] && "$NATS" --version 2>&1 | head -n 1)"
    echo "ngircd_version=$([ -n "$NGIRCD" ] && "$NGIRCD" --version 2>&1 | head -n 1)"
    echo "inspircd_version=$([ -n "$INSPIRCD" ] && "$INSPIRCD" --version 2>&1 | head -n 1)"
    echo "chatbench_version=$("$BENCH" --version)"
    dirty=""
    git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || dirty=" (+ uncommitted changes in src/)"
    echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$dirty"
} > "$OUT/meta.txt"

rm -rf "$IRCDIR"
$PY "$ROOT/bench/report.py" --raw "$RAW" --meta "$OUT/meta.txt" \
    --out "$ROOT/bench/RESULTS.md" --charts "$ROOT/bench" \
    --work "$OUT" || exit 1
say "wrote bench/RESULTS.md and bench/chart-*.svg in $((END - START)) s"
