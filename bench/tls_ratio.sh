#!/bin/sh
# bench/tls_ratio.sh -- what TLS costs chatd: load (a) of `make bench`
# (100 clients, 10 publishers, --max, 64 B, a 2.5 s window) over a tls://
# door beside plain TCP, for the line and the chat profile.
#
# Each round starts a fresh server per run and rotates the order of the
# four runs (line, line over TLS, chat, chat over TLS), so a noisy minute
# on a shared machine hurts each alike; the medians over rounds are
# printed with the ratio TLS/plain of the server's CPU per delivery (from
# chatbench --pid) and of deliveries per second, and the send path chatd
# logged at its first TLS handshake (kTLS or OpenSSL).
#
#   ROUNDS=N    rounds (default 3)
#   B=DIR       build directory (default build)
#   OUT=FILE    the raw JSON lines (default $B/bench/tls_ratio.jsonl)
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
ROUNDS=${ROUNDS:-3}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
OUT=${OUT:-$B/bench/tls_ratio.jsonl}
LOAD="--clients 100 --publishers 10 --max --size 64 --warmup 0.5 --duration 2.5 --drain 1"

say() { printf 'tls_ratio: %s\n' "$*" >&2; }

[ -x "$B/chatd" ] && [ -x "$B/chatbench" ] || { say "run make first"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatd-tls-ratio.XXXXXX") || exit 1
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$WORK"; exit 130' INT TERM
# Private copies: a rebuild of build/ must not swap a binary mid-run.
cp "$B/chatd" "$B/chatbench" "$WORK/" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
    { say "openssl req failed"; exit 1; }
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_one PROFILE TRANSPORT ROUND: a fresh chatd, one chatbench, one JSON
# line into $OUT.
run_one() {
    profile=$1 tr=$2 round=$3
    port=$(free_port)
    log=$WORK/$profile-$tr-$round.log
    if [ "$tr" = tls ]; then
        listen=tls://127.0.0.1:$port
        tlsargs="--tls-cert $WORK/cert.pem --tls-key $WORK/key.pem"
        flag=--tls
    else
        listen=127.0.0.1:$port tlsargs="" flag=""
    fi
    # shellcheck disable=SC2086
    "$WORK/chatd" --profile "$profile" --listen "$listen" $tlsargs \
        --log quiet --queue-limit 1M </dev/null >/dev/null 2>"$log" &
    SPID=$!
    i=0
    until grep -q "listening on" "$log" 2>/dev/null || [ $i -ge 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    res=$(timeout 120 "$WORK/chatbench" $flag -P "$profile" $LOAD \
          --pid "$SPID" --json "127.0.0.1:$port" 2>>"$log")
    kill "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=""
    path=$(sed -n 's/^chatd: TLS: //p' "$log" | head -n 1)
    if [ -z "$res" ]; then
        say "$profile $tr round $round: chatbench failed:"
        cat "$log" >&2
        return 0
    fi
    printf '{"profile":"%s","transport":"%s","round":%s,"path":"%s","result":%s}\n' \
        "$profile" "$tr" "$round" "$path" "$res" >> "$OUT"
    say "round $round $profile $tr: $(echo "$res" | $PY -c '
import json, sys
r = json.load(sys.stdin)
print("%.0f deliveries/s, %.1f ns/delivery, losses %d" % (
    r["deliveries_per_s"], r["server"]["cpu_ns_per_delivery"], r["losses"]))')"
}

RUNS="line:plain line:tls chat:plain chat:tls"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    # Rotate by the round number.
    set -- $RUNS
    k=0
    while [ $k -lt $(( (round - 1) % 4 )) ]; do
        first=$1
        shift
        set -- "$@" "$first"
        k=$((k + 1))
    done
    for r in "$@"; do
        run_one "${r%%:*}" "${r#*:}" "$round"
    done
    round=$((round + 1))
done
rm -rf "$WORK"
trap - INT TERM

echo "load: chatbench [--tls] -P PROFILE $LOAD --pid PID; $ROUNDS rounds, medians"
$PY - "$OUT" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(profile, tr, key):
    v = [r["result"]["server"]["cpu_ns_per_delivery"] if key == "ns" else
         r["result"]["deliveries_per_s"] if key == "dps" else
         r["result"]["losses"]
         for r in runs if r["profile"] == profile and r["transport"] == tr]
    return (statistics.median(v), len(v)) if v else (float("nan"), 0)
def per_round(profile, key):
    k = "cpu_ns_per_delivery" if key == "ns" else "deliveries_per_s"
    def fig(r):
        return r["result"]["server"][k] if key == "ns" else r["result"][k]
    rel = [fig(t) / fig(p) for p in runs for t in runs
           if p["profile"] == t["profile"] == profile and
           p["transport"] == "plain" and t["transport"] == "tls" and
           p["round"] == t["round"]]
    return statistics.median(rel) if rel else float("nan")
paths = sorted({r["path"] for r in runs if r["transport"] == "tls"})
for p in ("line", "chat"):
    (pn, n1), (tn, n2) = med(p, "plain", "ns"), med(p, "tls", "ns")
    (pd, _), (td, _) = med(p, "plain", "dps"), med(p, "tls", "dps")
    lost = sum(r["result"]["losses"] for r in runs if r["profile"] == p)
    print("%-5s plain: %6.1f ns/delivery %10.0f deliveries/s  (%d runs)"
          % (p, pn, pd, n1))
    print("%-5s tls:   %6.1f ns/delivery %10.0f deliveries/s  (%d runs)"
          % (p, tn, td, n2))
    print("%-5s TLS/plain: CPU per delivery x%.2f, deliveries/s x%.2f "
          "(ratio of the medians; median of the per-round ratios x%.2f, "
          "x%.2f), losses %d" % (p, tn / pn, td / pd, per_round(p, "ns"),
                                 per_round(p, "dps"), lost))
print("send path: %s" % ("; ".join(paths) or "(not logged)"))
EOF
