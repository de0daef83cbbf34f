#!/usr/bin/env python3
"""Turn bench/run.sh's raw runs into bench/RESULTS.md and bench/chart.svg.

Input: one JSON object per line, {"scenario", "server", "round", "result"
(chatbench --json) or "error"}, and a key=value meta file.  Output: medians
over rounds, ratios to Redis pub/sub in the same run, a verdict for each
Performance target of SPEC.md, and a gnuplot chart of deliveries/s and p99
against the number of clients.  Standard library only."""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

SCENARIOS = [
    ("a", "(a) 100 clients, 10 publishers, full speed, 64 B"),
    ("b", "(b) 1,000 clients, 1 publisher, 1,000 msg/s"),
    ("c10", "(c) 10,000 clients, 1 publisher, 10 msg/s"),
    ("c100", "(c) 10,000 clients, 1 publisher, 100 msg/s"),
    ("d", "(d) as (a), plus 5 clients that never read"),
    ("e", "(e) {nmax} idle clients"),
]
SERVER_ORDER = ["chatd", "chatd-poll", "redis", "nats"]
SERVER_LABEL = {
    "chatd": "chatd (epoll)",
    "chatd-poll": "chatd (poll)",
    "redis": "Redis pub/sub",
    "nats": "NATS",
}


def load(raw):
    runs = []
    with open(raw) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def load_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def worst(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def figures(results):
    """Medians of one (scenario, server) cell over its rounds."""
    def col(f):
        out = []
        for r in results:
            try:
                out.append(f(r))
            except (KeyError, TypeError, ZeroDivisionError):
                out.append(None)
        return out

    srv = lambda r: r["server"]
    # No delivery, no latency (not a latency of 0).
    lat = lambda r, k: (r["latency_us"][k] / 1000 if r["deliveries"]
                        else None)
    return {
        "rounds": len(results),
        "clients": results[0]["clients"],
        "connected": med(col(lambda r: r["connected"])),
        "sent_per_s": med(col(lambda r: r["sent_per_s"])),
        "deliveries_per_s": med(col(lambda r: r["deliveries_per_s"])),
        "p50": med(col(lambda r: lat(r, "p50"))),
        "p99": med(col(lambda r: lat(r, "p99"))),
        "p999": med(col(lambda r: lat(r, "p999"))),
        "max": med(col(lambda r: lat(r, "max"))),
        "losses_max": worst(col(lambda r: r["losses"])),
        "ooo_max": worst(col(lambda r: r["out_of_order"])),
        "disconnected_max": worst(col(lambda r: r["disconnected"])),
        "skipped_max": worst(col(lambda r: r["skipped"])),
        "slow_closed": med(col(lambda r: r["slow_closed"])),
        "ns": med(col(lambda r: srv(r)["cpu_ns_per_delivery"] or None)),
        "cpu_s": med(col(lambda r: srv(r)["cpu_s"])),
        "window_s": med(col(lambda r: r["window_s"])),
        "rss_peak_mib": med(col(lambda r: srv(r)["rss_peak_kib"] / 1024)),
        "rss_growth_mib": med(col(lambda r: (srv(r)["rss_peak_kib"]
                                             - srv(r)["rss_base_kib"]) / 1024)),
        "b_per_client": med(col(lambda r: srv(r)["rss_per_client_b"])),
    }


def fmt(v, spec="{:,.0f}", none="–"):
    if v is None:
        return none
    return spec.format(v)


def ratio(a, b, inverse=False):
    if a is None or b is None or a == 0 or b == 0:
        return "–"
    return "{:.2f}×".format(b / a if inverse else a / b)


def machine_lines(meta):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = "{:.0f} GiB".format(kib / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return [
        "- CPU: {} × {} cores; memory {}; kernel {} {}".format(
            cpu, os.cpu_count(), mem, platform.system(), platform.release()),
        "- descriptor limit {} (hard; it cannot be raised here), so the idle "
        "and largest runs use {:,} clients".format(
            meta.get("fd_limit", "?"), int(meta.get("nmax", "0") or 0)),
        "- CPU busy before the run (other work on the machine): {} %".format(
            meta.get("busy_before", "?")),
        "- {}; {}; {}; {}; git {}".format(
            meta.get("chatd_version") or "chatd: not built",
            meta.get("redis_version") or "redis: absent",
            meta.get("nats_version") or "nats: absent",
            meta.get("chatbench_version", "?"), meta.get("git", "?")),
    ]


def table(cells, servers, nmax):
    rows = [
        "| scenario | server | clients | sent/s | deliveries/s | vs Redis "
        "| p50 ms | p99 ms | p99.9 ms | max ms | losses | out of order "
        "| server CPU ns/delivery | vs Redis | peak RSS MiB | RSS B/client |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for sc, label in SCENARIOS:
        label = label.format(nmax="{:,}".format(nmax))
        redis = cells.get((sc, "redis"))
        for s in servers:
            c = cells.get((sc, s))
            if c is None:
                continue
            idle = sc == "e"
            rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} "
                        "| {} | {} | {} | {} | {} | {} |".format(
                label, SERVER_LABEL.get(s, s),
                fmt(c["connected"]) + ("" if c["connected"] == c["clients"]
                                       else " of " + fmt(c["clients"])),
                "–" if idle else fmt(c["sent_per_s"]),
                "–" if idle else fmt(c["deliveries_per_s"]),
                "–" if idle or s == "redis" or redis is None else
                ratio(c["deliveries_per_s"], redis["deliveries_per_s"]),
                "–" if idle else fmt(c["p50"], "{:.2f}"),
                "–" if idle else fmt(c["p99"], "{:.2f}"),
                "–" if idle else fmt(c["p999"], "{:.2f}"),
                "–" if idle else fmt(c["max"], "{:.2f}"),
                "–" if idle else fmt(c["losses_max"]),
                "–" if idle else fmt(c["ooo_max"]),
                "–" if idle else fmt(c["ns"]),
                "–" if idle or s == "redis" or redis is None else
                ratio(c["ns"], redis["ns"], inverse=True),
                fmt(c["rss_peak_mib"], "{:.1f}"),
                fmt(c["b_per_client"]) if idle else "–"))
            label = ""
    return rows


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**missed**"


def targets(cells, raw_by_cell, queue_limit_mib):
    """SPEC.md Performance, each judged on chatd (epoll) in this run."""
    out = ["| target (SPEC.md, Performance) | chatd | peers | verdict |",
           "|---|---|---|---|"]
    g = lambda sc, s="chatd": cells.get((sc, s))
    a, ar, an = g("a"), g("a", "redis"), g("a", "nats")

    ok = None
    if a and a["ns"] is not None:
        ok = a["ns"] < 50
    out.append("| (a) server CPU per delivery under 50 ns | {} ns | Redis {} "
               "ns, NATS {} ns | {} |".format(
                   fmt(a and a["ns"]), fmt(ar and ar["ns"]),
                   fmt(an and an["ns"]), verdict(ok)))
    ok = None
    if a and ar:
        ok = a["deliveries_per_s"] >= 3 * ar["deliveries_per_s"]
    out.append("| (a) deliveries/s at least 3× Redis pub/sub | {}/s ({}) | "
               "Redis {}/s, NATS {}/s | {} |".format(
                   fmt(a and a["deliveries_per_s"]),
                   ratio(a and a["deliveries_per_s"],
                         ar and ar["deliveries_per_s"]),
                   fmt(ar and ar["deliveries_per_s"]),
                   fmt(an and an["deliveries_per_s"]), verdict(ok)))

    b, br, bn = g("b"), g("b", "redis"), g("b", "nats")
    ok = None
    if b and br and b["p99"] is not None and br["p99"] is not None:
        ok = b["p99"] <= br["p99"]
    out.append("| (b) p99 at 1,000 clients no worse than Redis | {} ms | "
               "Redis {} ms, NATS {} ms | {} |".format(
                   fmt(b and b["p99"], "{:.2f}"), fmt(br and br["p99"], "{:.2f}"),
                   fmt(bn and bn["p99"], "{:.2f}"), verdict(ok)))

    c, cr = g("c10"), g("c10", "redis")
    ok = None
    if c:
        ok = (c["losses_max"] == 0 and c["connected"] == c["clients"]
              and c["p99"] is not None and c["p99"] < 25)
    out.append("| (c) 10,000 clients at 10 msg/s: every delivery made, p99 "
               "under 25 ms | losses {}, p99 {} ms | Redis: losses {}, p99 {} "
               "ms | {} |".format(
                   fmt(c and c["losses_max"]), fmt(c and c["p99"], "{:.2f}"),
                   fmt(cr and cr["losses_max"]), fmt(cr and cr["p99"], "{:.2f}"),
                   verdict(ok)))
    c, cr = g("c100"), g("c100", "redis")
    ok = None
    if c:
        ok = (c["losses_max"] == 0 and c["skipped_max"] == 0
              and c["sent_per_s"] >= 95)
    out.append("| (c) 10,000 clients at 100 msg/s: the server keeps up | "
               "sent {}/s, losses {}, p99 {} ms | Redis: losses {}, p99 {} ms "
               "| {} |".format(
                   fmt(c and c["sent_per_s"]), fmt(c and c["losses_max"]),
                   fmt(c and c["p99"], "{:.2f}"), fmt(cr and cr["losses_max"]),
                   fmt(cr and cr["p99"], "{:.2f}"), verdict(ok)))

    d = g("d")
    ok = None
    if a and d:
        # Round by round: (d) against (a) of the same round, then the median.
        rel = []
        for ra in raw_by_cell.get(("a", "chatd"), []):
            for rd in raw_by_cell.get(("d", "chatd"), []):
                if ra["_round"] == rd["_round"] and ra["deliveries_per_s"]:
                    rel.append(rd["deliveries_per_s"] / ra["deliveries_per_s"])
        r = med(rel)
        ok = r is not None and r >= 0.9
        out.append("| (d) 5 clients that never read, among 100, cost the "
                   "others under 10 % of their throughput | {} of (a) | | "
                   "{} |".format(
                       fmt(r and r * 100, "{:.0f} %"), verdict(ok)))
    else:
        out.append("| (d) slow clients cost the others under 10 % | – | | "
                   "not measured |")
    ok = None
    if d:
        ok = d["rss_growth_mib"] <= 5 * queue_limit_mib + 4
    out.append("| (d) server memory stays within the queue limits (5 slow × "
               "{:g} MiB) | RSS grew {} MiB | | {} |".format(
                   queue_limit_mib, fmt(d and d["rss_growth_mib"], "{:.1f}"),
                   verdict(ok)))

    e, er, en = g("e"), g("e", "redis"), g("e", "nats")
    ok = None
    if e and e["b_per_client"] is not None:
        ok = e["b_per_client"] < 1024
    out.append("| (e) an idle connection costs under 1 KiB of user-space "
               "memory | {} B | Redis {} B, NATS {} B | {} |".format(
                   fmt(e and e["b_per_client"]), fmt(er and er["b_per_client"]),
                   fmt(en and en["b_per_client"]), verdict(ok)))
    return out


def chart(cells, servers, sweep, chart_path, work):
    """deliveries/s and p99 against clients, with gnuplot; returns rows of
    the sweep table."""
    data = os.path.join(work, "sweep.dat")
    with open(data, "w") as f:
        f.write("# clients " + " ".join(
            "%s_dps %s_p99" % (s, s) for s in servers) + "\n")
        for n in sweep:
            vals = [str(n)]
            for s in servers:
                c = cells.get(("sweep-%d" % n, s))
                ok = c is not None and c["deliveries_per_s"]
                vals.append("%.0f" % c["deliveries_per_s"] if ok else "-")
                vals.append("%.3f" % c["p99"] if ok and c["p99"] else "-")
            f.write(" ".join(vals) + "\n")
    gp = shutil.which("gnuplot")
    if gp is None:
        print("report: no gnuplot: no chart", file=sys.stderr)
        return False
    plots_d = ", ".join(
        "'{}' using 1:{} with linespoints lw 2 pt {} title '{}'".format(
            data, 2 + 2 * i, 5 + i, SERVER_LABEL.get(s, s))
        for i, s in enumerate(servers))
    plots_p = ", ".join(
        "'{}' using 1:{} with linespoints lw 2 pt {} title '{}'".format(
            data, 3 + 2 * i, 5 + i, SERVER_LABEL.get(s, s))
        for i, s in enumerate(servers))
    script = """
set terminal svg size 900,760 dynamic font "sans,13" background rgb "white"
set output '{out}'
set datafile missing '-'
set multiplot layout 2,1 title "chatbench on loopback: 1 publisher at full speed, 64-byte messages"
set logscale x
set logscale y
set grid
set key outside right
set format x "%.0s%c"
set xlabel "connected clients"
set ylabel "deliveries / s"
set format y "%.0s%c"
plot {pd}
set ylabel "p99 latency (ms)"
set format y "%g"
plot {pp}
unset multiplot
""".format(out=chart_path, pd=plots_d, pp=plots_p)
    with open(os.path.join(work, "chart.gp"), "w") as f:
        f.write(script)
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print("report: gnuplot failed: " + r.stderr, file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    runs = load(a.raw)
    meta = load_meta(a.meta)
    nmax = int(meta.get("nmax", "0") or 0)
    qlim = meta.get("queue_limit", "1M")
    qlim_mib = float(qlim[:-1]) if qlim.endswith("M") else 1.0

    by_cell, errors = {}, []
    for run in runs:
        if "result" not in run:
            errors.append(run)
            continue
        r = dict(run["result"])
        r["_round"] = run["round"]
        by_cell.setdefault((run["scenario"], run["server"]), []).append(r)
    cells = {k: figures(v) for k, v in by_cell.items()}
    servers = [s for s in SERVER_ORDER if any(k[1] == s for k in cells)]
    sweep = sorted({int(k[0][6:]) for k in cells if k[0].startswith("sweep-")})

    lines = ["# chatd benchmarks: chatd against Redis pub/sub and NATS", ""]
    lines.append("Written by `make bench` (bench/run.sh, then bench/report.py) "
                 "on {}; do not edit, run it again. {} round(s), interleaved "
                 "(each round runs every scenario against every server, in "
                 "rotating order, each against a freshly started server); "
                 "figures are medians over the rounds, losses and "
                 "out-of-order the worst round. The whole run took {} s."
                 .format(time.strftime("%Y-%m-%d %H:%M %Z"),
                         meta.get("rounds", "?"),
                         int(meta.get("end", 0)) - int(meta.get("start", 0))))
    if meta.get("quick") == "1":
        lines.append("")
        lines.append("**BENCH_QUICK=1: one short round, for trying things; "
                     "not for quoting.**")
    lines += ["", "## Machine", ""] + machine_lines(meta)
    lines += ["", "## Results", ""]
    lines += table(cells, servers, nmax)
    lines += ["",
              "Latency is from the publisher's send (a monotonic time stamp "
              "in each payload) to the subscriber's read, over every delivery "
              "of every message stamped inside the measured window. Losses "
              "are the deliveries owed (messages of the window × subscribers "
              "joined before it) that had not arrived when the drain time "
              "ran out. Server CPU is the server's utime + stime over the "
              "window (all its threads) divided by the deliveries; "
              "\"vs Redis\" is chatd's figure over Redis's for deliveries/s "
              "(higher is better) and Redis's over chatd's for CPU per "
              "delivery (higher is better). RSS per client is (RSS once all "
              "have joined − RSS before the first connect) / clients.", ""]
    lines += ["## Targets", ""]
    lines += targets(cells, by_cell, qlim_mib)
    lines += ["", "## Clients from 10 to {:,}".format(nmax), ""]
    if chart(cells, servers, sweep, a.chart, a.work):
        lines.append("![deliveries/s and p99 latency against connected "
                     "clients](chart.svg)")
        lines.append("")
    if sweep:
        lines.append("| clients | " + " | ".join(
            "{} deliveries/s | p99 ms".format(SERVER_LABEL.get(s, s))
            for s in servers) + " |")
        lines.append("|--:|" + "--:|--:|" * len(servers))
        for n in sweep:
            row = ["{:,}".format(n)]
            for s in servers:
                c = cells.get(("sweep-%d" % n, s))
                row.append(fmt(c and c["deliveries_per_s"]))
                row.append(fmt(c and c["p99"], "{:.2f}"))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += ["## Commands", "",
              "Each run: a fresh server, then `chatbench --protocol line|redis"
              "|nats --pid SERVER_PID --json --threads {} ARGS ADDR`.".format(
                  meta.get("threads", "1")), "",
              "| scenario | ARGS |", "|---|---|"]
    for sc, label in SCENARIOS:
        lines.append("| {} | `{}` |".format(
            label.format(nmax="{:,}".format(nmax)), meta.get("args_" + sc, "")))
    lines.append("| sweep, N clients | `{}` |".format(
        meta.get("args_sweep-N", "")))
    lines += ["",
              "Servers: `build/chatd --listen 127.0.0.1:0 --backend epoll|poll "
              "--log quiet --queue-limit {q}`; `redis-server --port P --bind "
              "127.0.0.1 --save '' --appendonly no --maxclients 100000`; "
              "`nats-server -a 127.0.0.1 -p P`. Everything else is at its "
              "defaults (Redis: `client-output-buffer-limit pubsub 32mb 8mb "
              "60`; NATS: 64 MiB pending per client).".format(q=qlim), ""]
    lines += ["## Reading these figures", "",
              "- The machine has 2 cores: the server, chatbench and anything "
              "else running share them. chatd and Redis are single-threaded "
              "and get about one core; NATS is multi-threaded and competes "
              "with chatbench for both, so its figures include that contest.",
              "- Redis and NATS frame each delivery with more bytes than a "
              "chatd line (a RESP array of three bulk strings, a NATS MSG "
              "line); MB/s counts payload bytes only.",
              "- Under `--max` each publisher keeps at most 64 messages that "
              "its own subscriber has not yet received, so throughput is "
              "measured without unbounded queueing and latency is that of a "
              "loaded server. In the sweep that means 64 × N deliveries in "
              "flight, so p99 grows with N for every server: compare servers "
              "at one N, not one N with another.",
              "- A single small write to one loopback socket costs this "
              "virtual machine about 4 µs of the writer's CPU (the TCP "
              "receive path and the reader's wake-up run in the writer's "
              "context), so a broadcast to 10,000 clients takes tens of "
              "milliseconds of kernel time for any server.", ""]
    if errors:
        lines += ["## Runs that failed", ""]
        for e in errors:
            lines.append("- {} on {} (round {}): {}".format(
                e["scenario"], e["server"], e["round"], e.get("error")))
        lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
