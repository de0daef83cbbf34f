#!/usr/bin/env python3
"""Turn bench/run.sh's raw runs into bench/RESULTS.md and its charts.

Input: one JSON object per line, {"scenario", "server", "round", "result"
(chatbench --json) or "error"}, and a key=value meta file.  Output: medians
over rounds, ratios to Redis pub/sub in the same run, the chat profile
against the line profile, a verdict for each Performance target of
SPEC.md, chatd's IRC door against ngIRCd and InspIRCd, chatd's WebSocket
door against its line door and a Node ws server, and gnuplot
charts next to RESULTS.md: one per scenario
(chart-<scenario>.svg: deliveries/s, server CPU per delivery and latency
percentiles by server, or memory per idle client) and chart-sweep.svg
(deliveries/s and p99 against the number of clients).  Standard library
only."""
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
CHAT = ("chat", "(chat) as (a): chatd --profile chat beside --profile line")
SERVER_ORDER = ["ceiling", "chatd", "chatd-chat", "chatd-poll", "redis",
                "nats"]
SERVER_LABEL = {
    "ceiling": "bare fan-out loop (the ceiling)",
    "chatd": "chatd (epoll)",
    "chatd-chat": "chatd --profile chat",
    "chatd-poll": "chatd (poll)",
    "redis": "Redis pub/sub",
    "nats": "NATS",
}
# In the chat scenario, chatd is the line profile it is compared with.
CHAT_LABEL = dict(SERVER_LABEL, chatd="chatd --profile line")
# chatd's IRC door against two IRC daemons, same chatbench --protocol irc.
IRC_SCENARIOS = [
    ("irc-a", "(irc-a) 100 IRC clients in one channel, 10 senders at full "
              "speed, 64 B"),
    ("irc-b", "(irc-b) 1,000 IRC clients, 1 sender at 1,000 msg/s"),
    ("irc-c", "(irc-c) {nirc} IRC clients, 1 sender at 10 msg/s"),
]
IRC_SERVERS = ["chatd-irc", "ngircd", "inspircd"]
IRC_LABEL = {
    "chatd-irc": "chatd (IRC door)",
    "ngircd": "ngIRCd",
    "inspircd": "InspIRCd",
}
# chatd's web door (WebSocket) against its line door and a Node ws server.
WS_SCENARIOS = [
    ("ws-a", "(ws-a) 100 WebSocket clients, 10 publishers, full speed, 64 B"),
    ("ws-b", "(ws-b) 1,000 WebSocket clients, 1 publisher, 1,000 msg/s"),
    ("ws-idle", "(ws-idle) {nws} idle WebSocket clients"),
]
WS_SERVERS = ["chatd-ws", "chatd-chat", "node-ws"]
WS_LABEL = {
    "chatd-ws": "chatd (web door, WebSocket)",
    "chatd-chat": "chatd (line door, TCP)",
    "node-ws": "Node ws",
}
# The charts' bars have room for short names only.
WS_CHART_LABEL = {"chatd-ws": "chatd WS", "chatd-chat": "chatd line",
                  "node-ws": "Node ws"}


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
        "- {}; {}; {}; {}; {}; {}; git {}".format(
            meta.get("chatd_version") or "chatd: not built",
            meta.get("redis_version") or "redis: absent",
            meta.get("nats_version") or "nats: absent",
            meta.get("ngircd_version") or "ngircd: absent",
            meta.get("inspircd_version") or "inspircd: absent",
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


def gnuplot(script, work, name):
    """Run a gnuplot script (kept in work/name.gp); True if it drew."""
    with open(os.path.join(work, name + ".gp"), "w") as f:
        f.write(script)
    gp = shutil.which("gnuplot")
    if gp is None:
        return False
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print("report: gnuplot failed on %s: %s" % (name, r.stderr),
              file=sys.stderr)
        return False
    return True


SVG_HEAD = """set terminal svg size {w},{h} dynamic font "sans,12" background rgb "white"
set output '{out}'
set datafile missing '-'
"""

BARS = """set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.85
set grid ytics
set xtics nomirror rotate by 20 right scale 0
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
"""


def bar_panel(title, data, col, color, fmt):
    """gnuplot lines for one panel: column col of data as one bar per
    server, each with its value written above it."""
    return ("set title \"{t}\"\n"
            "plot '{d}' using {c}:xtic(1) notitle lc rgb \"{k}\", \\\n"
            "     '' using 0:{c}:(sprintf('{f}', ${c})) with labels "
            "offset 0,0.8 font ',10' notitle\n").format(
                t=title, d=data, c=col, k=color, f=fmt)


def cell_value(c, key, scale=1.0, spec="%.3f"):
    v = c.get(key) if c else None
    return "-" if v is None else spec % (v * scale)


def scenario_chart(sc, title, cells, servers, labels, outdir, work):
    """One scenario's chart: deliveries/s, server CPU per delivery and
    latency percentiles by server, or, for the idle run, memory per
    client.  Returns the SVG's file name, or None."""
    rows = [(labels.get(s, s), cells.get((sc, s))) for s in servers]
    rows = [(l, c) for l, c in rows if c is not None]
    if not rows:
        return None
    data = os.path.join(work, "chart-%s.dat" % sc)
    with open(data, "w") as f:
        f.write("# server deliveries/s ns/delivery p50 p99 p99.9 max "
                "B/client peak-RSS-MiB\n")
        for label, c in rows:
            f.write('"%s" %s %s %s %s %s %s %s %s\n' % (
                label, cell_value(c, "deliveries_per_s", 1e-6),
                cell_value(c, "ns", spec="%.1f"), cell_value(c, "p50"),
                cell_value(c, "p99"), cell_value(c, "p999"),
                cell_value(c, "max"), cell_value(c, "b_per_client",
                                                 spec="%.0f"),
                cell_value(c, "rss_peak_mib", spec="%.1f")))
    name = "chart-%s.svg" % sc
    if sc == "e" or sc.endswith("-idle"):
        script = SVG_HEAD.format(w=900, h=420, out=os.path.join(outdir, name))
        script += BARS + 'set multiplot layout 1,2 title "{}"\n'.format(title)
        script += bar_panel("server RSS per idle client (bytes)", data, 8,
                            "#4477aa", "%.0f")
        script += bar_panel("server peak RSS (MiB)", data, 9, "#228833",
                            "%.1f")
    else:
        script = SVG_HEAD.format(w=1260, h=440, out=os.path.join(outdir, name))
        script += BARS + 'set multiplot layout 1,3 title "{}"\n'.format(title)
        script += bar_panel("deliveries / s (millions)", data, 2, "#4477aa",
                            "%.2f")
        script += bar_panel("server CPU per delivery (ns)", data, 3,
                            "#cc6677", "%.0f")
        script += """set title "latency (ms)"
set key top left horizontal maxcols 2 samplen 1 font ",10"
set offsets 0, 0, graph 0.3, 0
plot '{d}' using 4:xtic(1) title "p50" lc rgb "#88ccee", \\
     '' using 5 title "p99" lc rgb "#44aa99", \\
     '' using 6 title "p99.9" lc rgb "#ddcc77", \\
     '' using 7 title "max" lc rgb "#aa4499"
""".format(d=data)
    script += "unset multiplot\n"
    return name if gnuplot(script, work, "chart-%s" % sc) else None


def sweep_chart(cells, servers, sweep, outdir, work):
    """deliveries/s and p99 against clients.  Returns the SVG's file name,
    or None."""
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
    plots_d = ", ".join(
        "'{}' using 1:{} with linespoints lw 2 pt {} title '{}'".format(
            data, 2 + 2 * i, 5 + i, SERVER_LABEL.get(s, s))
        for i, s in enumerate(servers))
    plots_p = ", ".join(
        "'{}' using 1:{} with linespoints lw 2 pt {} title '{}'".format(
            data, 3 + 2 * i, 5 + i, SERVER_LABEL.get(s, s))
        for i, s in enumerate(servers))
    name = "chart-sweep.svg"
    script = SVG_HEAD.format(w=900, h=760, out=os.path.join(outdir, name))
    script += """set multiplot layout 2,1 title "chatbench on loopback: 1 publisher at full speed, 64-byte messages"
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
""".format(pd=plots_d, pp=plots_p)
    return name if gnuplot(script, work, "chart-sweep") else None


def chat_section(cells, raw_by_cell, note):
    """The chat profile against the line profile (same load as (a), same
    rounds): both rows and the ratio of server CPU per delivery."""
    out = ["## The chat profile against the line profile", ""]
    line, chat = cells.get(("chat", "chatd")), cells.get(("chat", "chatd-chat"))
    if chat is None:
        out += ["The (a) load on `chatd --profile chat` (100 users in one "
                "room, 10 of them publishing) beside `chatd --profile line`: "
                + (note or "skipped: no run of the chat profile") + ".", ""]
        return out
    out += ["| server | clients | deliveries/s | p50 ms | p99 ms | max ms "
            "| losses | server CPU ns/delivery |",
            "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for s in ("ceiling", "chatd", "chatd-chat"):
        c = cells.get(("chat", s))
        if c is None:
            continue
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            CHAT_LABEL[s], fmt(c["connected"]), fmt(c["deliveries_per_s"]),
            fmt(c["p50"], "{:.2f}"), fmt(c["p99"], "{:.2f}"),
            fmt(c["max"], "{:.2f}"), fmt(c["losses_max"]), fmt(c["ns"])))
    r = per_round_ratio(raw_by_cell, "chatd-chat", "chatd")
    out += ["", "Server CPU per delivery, chat over line: **{}** (median of "
            "the per-round ratios; SPEC.md asks for at most 1.15×).".format(
                fmt(r, "{:.2f}×"))]
    r = per_round_ratio(raw_by_cell, "chatd", "ceiling")
    if r is not None:
        out += ["", "Server CPU per delivery, line over the ceiling (a bare "
                "fan-out loop, `bench/fanout.c`): **{}** (median of the "
                "per-round ratios; SPEC.md asks for at most 1.3×).".format(
                    fmt(r, "{:.2f}×"))]
    return out + [""]


def irc_label(label, meta):
    return label.format(nirc="{:,}".format(int(meta.get("nirc", "0") or 0)))


def irc_section(cells, meta):
    """chatd's IRC door beside ngIRCd and InspIRCd: one row per scenario
    and server, with each peer's CPU per delivery over chatd's."""
    out = ["## IRC: chatd's IRC door against ngIRCd and InspIRCd", ""]
    if not any((sc, s) in cells for sc, _ in IRC_SCENARIOS
               for s in IRC_SERVERS):
        out += ["Not run: " + (meta.get("irc_note") or "no IRC server") + ".",
                ""]
        return out
    out += ["| scenario | server | clients | sent/s | deliveries/s | p50 ms "
            "| p99 ms | max ms | losses | server CPU ns/delivery | CPU/delivery"
            " over chatd's | peak RSS MiB | RSS B/client |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for sc, label in IRC_SCENARIOS:
        label = irc_label(label, meta)
        base = cells.get((sc, "chatd-irc"))
        for s in IRC_SERVERS:
            c = cells.get((sc, s))
            if c is None:
                continue
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | "
                       "{} | {} | {} |".format(
                label, IRC_LABEL[s],
                fmt(c["connected"]) + ("" if c["connected"] == c["clients"]
                                       else " of " + fmt(c["clients"])),
                fmt(c["sent_per_s"]), fmt(c["deliveries_per_s"]),
                fmt(c["p50"], "{:.2f}"), fmt(c["p99"], "{:.2f}"),
                fmt(c["max"], "{:.2f}"), fmt(c["losses_max"]), fmt(c["ns"]),
                "–" if s == "chatd-irc" or base is None else
                ratio(c["ns"], base["ns"]),
                fmt(c["rss_peak_mib"], "{:.1f}"), fmt(c["b_per_client"])))
            label = ""
    note = meta.get("irc_note")
    out += ["", "Every server gets the same `chatbench --protocol irc` load: "
            "nicknames bench0, bench1, ... register (NICK, USER), join one "
            "channel after 001 and count as joined on the echo of their own "
            "JOIN. IRC does not echo a sender's own PRIVMSG, so a message is "
            "owed to every joined client but its sender. RSS per client is "
            "(RSS once all have joined − RSS before the first connect) / "
            "clients: registered users idle in one channel, before the first "
            "message (and with whatever JOIN lines are still queued to "
            "them). (irc-c) runs in the first round only: ngIRCd takes "
            "minutes to let 10,000 clients join one channel, so its row "
            "counts those that joined within the 60 s connect timeout.", "",
            "Peer settings (a temporary configuration per run, written by "
            "bench/run.sh): {ng} with `MaxConnectionsIP = 0`, "
            "`MaxJoins = 0`, `MaxNickLength = 30`, `MaxPenaltyTime = 0`, "
            "`PAM = no`, `DNS = no`, `Ident = no`. Its flood control cannot "
            "be turned off for ordinary users: a non-operator gets at most 3 "
            "commands handled per read and a throttle past 256 bytes a "
            "second (`MaxPenaltyTime = 0` only shortens the penalty to "
            "nothing); user mode +F lifts both, and only an operator may "
            "set it, so chatbench's publishers `OPER` and set +F there "
            "(`{nga}`). ngIRCd also listens with a backlog of 10, so "
            "chatbench keeps only 8 handshakes in flight with it. {insp} "
            "with one `<connect>` class: `threshold` 1,000,000, "
            "`commandrate` 1,000,000,000, send and receive queues of 1 GiB "
            "and 1 MiB, `localmax`/`globalmax` 1,000,000, no ident or DNS "
            "(`resolvehostnames=\"no\"`, `nouserdns`), run with `--nofork "
            "--runasroot`; it registers clients on a once-a-second tick, so "
            "chatbench keeps up to 1,000 handshakes in flight with it "
            "(`{ia}`). chatd: `chatd --profile chat --listen irc://127.0.0.1:P "
            "--log quiet --queue-limit 1M --flood-burst 0 --flood-rate 0` "
            "(its flood control off, as the peers' are lifted). The "
            "handshake pacing changes "
            "only how fast clients join, not the measured window.".format(
                ng=meta.get("ngircd_version", "").split("-")[0] or
                "ngIRCd (absent)",
                nga=meta.get("server_args_ngircd", ""),
                insp=meta.get("inspircd_version", "") or "InspIRCd (absent)",
                ia=meta.get("server_args_inspircd", "")), ""]
    if note:
        out += [note + ".", ""]
    return out


def irc_targets(cells):
    """The IRC targets, judged on chatd's IRC door: CPU per delivery in
    (irc-a), the full-speed run (at 10 or 1,000 msg/s the kernel's cost of
    each small write dominates for every server; those ratios are shown
    too), p99 in every IRC scenario, memory in (irc-c)."""
    out = []
    g = lambda sc, s: cells.get((sc, s))

    def cpu_row(peer, name, factor):
        parts, ok = [], None
        for sc, _ in IRC_SCENARIOS:
            c, p = g(sc, "chatd-irc"), g(sc, peer)
            if not c or not p or not c["ns"] or not p["ns"]:
                continue
            r = p["ns"] / c["ns"]
            parts.append("{}: {} vs {} ns ({:.2f}×)".format(
                sc, fmt(c["ns"]), fmt(p["ns"]), r))
            if sc == "irc-a":
                ok = r >= factor
        out.append("| (irc-a) server CPU per delivery at most 1/{} of {}'s | "
                   "{} | | {} |".format(factor, name,
                                       "; ".join(parts) or "–", verdict(ok)))

    cpu_row("ngircd", "ngIRCd", 5)
    cpu_row("inspircd", "InspIRCd", 3)
    parts, ok = [], None
    for sc, _ in IRC_SCENARIOS:
        c = g(sc, "chatd-irc")
        peers = [(IRC_LABEL[s], g(sc, s)) for s in ("ngircd", "inspircd")]
        peers = [(n, p) for n, p in peers if p and p["p99"] is not None]
        if not c or c["p99"] is None or not peers:
            continue
        parts.append("{}: {} ms vs {}".format(sc, fmt(c["p99"], "{:.2f}"),
                     ", ".join("{} {} ms".format(n, fmt(p["p99"], "{:.2f}"))
                               for n, p in peers)))
        ok = (ok is None or ok) and all(c["p99"] < p["p99"] for _, p in peers)
    out.append("| (irc) lower p99 than ngIRCd and InspIRCd | {} | | {} "
               "|".format("; ".join(parts) or "–", verdict(ok)))
    c = g("irc-c", "chatd-irc")
    ok = None
    if c and c["b_per_client"] is not None:
        ok = c["b_per_client"] < 2048
    peers = ", ".join("{} {} B".format(IRC_LABEL[s],
                                       fmt(g("irc-c", s)["b_per_client"]))
                      for s in ("ngircd", "inspircd") if g("irc-c", s))
    out.append("| (irc) an idle IRC user costs under 2 KiB | {} B ({} users "
               "in one channel) | {} | {} |".format(
                   fmt(c and c["b_per_client"]), fmt(c and c["connected"]),
                   peers, verdict(ok)))
    return out


def ws_label(label, meta):
    return label.format(nws="{:,}".format(int(meta.get("nws", "0") or 0)))


def ws_section(cells, raw_by_cell, meta):
    """chatd's web door beside its line door and the Node ws server: one
    row per scenario and server, then the ratios of server CPU per
    delivery (medians of the per-round ratios)."""
    out = ["## WebSocket: chatd's web door against its line door and Node ws",
           ""]
    if not any((sc, s) in cells for sc, _ in WS_SCENARIOS
               for s in WS_SERVERS):
        out += ["Not run: " + (meta.get("ws_note") or "no WebSocket server")
                + ".", ""]
        return out
    out += ["| scenario | server | clients | sent/s | deliveries/s | p50 ms "
            "| p99 ms | max ms | losses | server CPU ns/delivery | CPU/delivery"
            " over chatd WS's | peak RSS MiB | RSS B/client |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for sc, label in WS_SCENARIOS:
        label = ws_label(label, meta)
        base = cells.get((sc, "chatd-ws"))
        idle = sc == "ws-idle"
        for s in WS_SERVERS:
            c = cells.get((sc, s))
            if c is None:
                continue
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | "
                       "{} | {} | {} |".format(
                label, WS_LABEL[s],
                fmt(c["connected"]) + ("" if c["connected"] == c["clients"]
                                       else " of " + fmt(c["clients"])),
                "–" if idle else fmt(c["sent_per_s"]),
                "–" if idle else fmt(c["deliveries_per_s"]),
                "–" if idle else fmt(c["p50"], "{:.2f}"),
                "–" if idle else fmt(c["p99"], "{:.2f}"),
                "–" if idle else fmt(c["max"], "{:.2f}"),
                "–" if idle else fmt(c["losses_max"]),
                "–" if idle else fmt(c["ns"]),
                "–" if idle or s == "chatd-ws" or base is None else
                ratio(c["ns"], base["ns"]),
                fmt(c["rss_peak_mib"], "{:.1f}"), fmt(c["b_per_client"])))
            label = ""
    out.append("")
    for sc in ("ws-a", "ws-b"):
        r1 = per_round_ratio(raw_by_cell, "chatd-ws", "chatd-chat", sc)
        r2 = per_round_ratio(raw_by_cell, "node-ws", "chatd-ws", sc)
        out.append("- {}: server CPU per delivery, WebSocket door over line "
                   "door **{}** (goal at most 1.5×); Node ws over chatd's "
                   "WebSocket door **{}** (goal at least 5×).".format(
                       sc, fmt(r1, "{:.2f}×"), fmt(r2, "{:.2f}×")))
    out += ["", "Every WebSocket server gets the same `chatbench --protocol "
            "ws` load: `GET /ws` with an upgrade (a random "
            "Sec-WebSocket-Key, the 101's Sec-WebSocket-Accept checked), "
            "then `/nick bN` and `/join #bench` in masked text frames (a "
            "fresh masking key per frame); a client counts as joined on "
            "the server's `*** bN joined #bench`, and each server text frame "
            "is one line, `nick: text` for a message. The chat profile "
            "echoes a sender's own message, and so does the Node server, so "
            "a message is owed to every joined client. The line door row is "
            "the same chatd profile and load over plain TCP (`chatbench "
            "--protocol chat` on the line port). RSS per client is (RSS "
            "once all have joined − RSS before the first connect) / "
            "clients, with whatever join notices are still queued.", "",
            "chatd: `chatd --profile chat --listen 127.0.0.1:P --listen "
            "http://127.0.0.1:W --log quiet --queue-limit 1M`. Node ws: "
            "`node bench/ws_node/server.js W` ({node}, ws {ws} from "
            "bench/ws_node/package-lock.json), the broadcast idiom of ws's "
            "README (for each client of `wss.clients`: `client.send(msg)`, "
            "the message built once as a Buffer), `perMessageDeflate` off "
            "(chatd offers no extension either). ws's `Sender.frame()`, "
            "which would frame a message once for all its recipients, is "
            "not in ws's documented API (doc/ws.md), so it is not used. Of "
            "chatd's commands the Node server knows only `/nick` and "
            "`/join`, answered to the sender alone (chatd also tells the "
            "room): one room, no state beyond a nick.".format(
                node=meta.get("node_version") or "node (absent)",
                ws=meta.get("ws_version") or "?"), ""]
    behind = [sc for sc, _ in WS_SCENARIOS
              if (cells.get((sc, "node-ws")) or {}).get("losses_max")]
    if behind:
        out += ["The Node ws server did not keep up in {}: it was still "
                "sending when the drain ended, so its row is that of a "
                "server at its limit (its CPU per delivery counts only the "
                "deliveries it made).".format(", ".join(behind)), ""]
    if meta.get("ws_note"):
        out += [meta["ws_note"] + ".", ""]
    return out


def ws_targets(cells, raw_by_cell):
    """The WebSocket goals of issue 13: CPU per delivery against the
    line door and against Node ws (judged on (ws-a), (ws-b) shown too),
    and the memory of an idle WebSocket user."""
    out = []

    def ratio_row(goal, top, bottom, le, limit):
        parts, ok = [], None
        for sc in ("ws-a", "ws-b"):
            r = per_round_ratio(raw_by_cell, top, bottom, sc)
            t, b = cells.get((sc, top)), cells.get((sc, bottom))
            if r is None or not t or not b:
                continue
            parts.append("{}: {} vs {} ns ({:.2f}×)".format(
                sc, fmt(t["ns"]), fmt(b["ns"]), r))
            if sc == "ws-a":
                ok = r <= limit if le else r >= limit
        out.append("| {} | {} | | {} |".format(goal, "; ".join(parts) or "–",
                                               verdict(ok)))

    ratio_row("(ws-a) server CPU per delivery, WebSocket door over line "
              "door, at most 1.5×", "chatd-ws", "chatd-chat", True, 1.5)
    ratio_row("(ws-a) Node ws spends at least 5× chatd's WebSocket door's "
              "server CPU per delivery", "node-ws", "chatd-ws", False, 5)
    c, n, l = (cells.get(("ws-idle", s)) for s in
               ("chatd-ws", "node-ws", "chatd-chat"))
    ok = None
    if c and c["b_per_client"] is not None:
        ok = c["b_per_client"] < 2048
    peers = "; ".join("{} {} B".format(WS_LABEL[s], fmt(x["b_per_client"]))
                      for s, x in (("chatd-chat", l), ("node-ws", n)) if x)
    out.append("| (ws-idle) an idle WebSocket user costs under 2 KiB | {} B "
               "({} users in one room) | {} | {} |".format(
                   fmt(c and c["b_per_client"]), fmt(c and c["connected"]),
                   peers, verdict(ok)))
    return out


def per_round_ratio(raw_by_cell, top, bottom, sc="chat"):
    """Median over rounds of top's server CPU per delivery over bottom's,
    in scenario sc; None without a pair."""
    rel = []
    for rb in raw_by_cell.get((sc, bottom), []):
        for rt in raw_by_cell.get((sc, top), []):
            a = rb.get("server", {}).get("cpu_ns_per_delivery")
            b = rt.get("server", {}).get("cpu_ns_per_delivery")
            if rb["_round"] == rt["_round"] and a and b:
                rel.append(b / a)
    return med(rel) if rel else None


# --- the cluster scenario (bench/run.sh run_cluster) ------------------------

CLUSTER_SETUPS = ["standalone", "cluster1", "cluster3"]
CLUSTER_LABEL = {
    "standalone": "1 chatd, no Redis",
    "cluster1": "1 node + Redis",
    "cluster3": "3 nodes + Redis",
}
CLUSTER_CHART_LABEL = {"standalone": "1 chatd", "cluster1": "1 node+Redis",
                       "cluster3": "3 nodes+Redis"}
CLUSTER_LOADS = [("cl-light", "1,000 msg/s, 60 clients"),
                 ("cl-rate", "1,000 msg/s"), ("cl-max", "full speed (--max)")]
CLUSTER_BEGIN = "<!-- cluster: begin (bench/run.sh, BENCH_ONLY=cluster) -->"
CLUSTER_END = "<!-- cluster: end -->"
CLUSTER_INFLIGHT = 3 * 32     # --publishers x --window of cl-max (run.sh)


def cluster_run_figures(run):
    """One cluster run's figures: latency (ms), deliveries/s, each node's
    and Redis's CPU (% of one core over the window), each node's CPU per
    delivery it made, Redis's CPU per message published, chatbench's own
    CPU."""
    r = run["result"]
    w = r["window_s"] or None
    nodes = run.get("nodes", 1)
    srv = r.get("servers", [])
    lat = lambda h, k: h["latency_us"][k] / 1000 if h["latency_us"]["count"] \
        else None
    f = {
        "clients": r["clients"], "connected": r["connected"],
        "sent_per_s": r["sent_per_s"],
        "deliveries_per_s": r["deliveries_per_s"],
        "p50": lat(r, "p50"), "p99": lat(r, "p99"),
        "same_p50": lat(r["same_node"], "p50"),
        "same_p99": lat(r["same_node"], "p99"),
        "cross_p50": lat(r["cross_node"], "p50"),
        "cross_p99": lat(r["cross_node"], "p99"),
        "losses": r["losses"], "ooo": r["out_of_order"],
        "skipped": r["skipped"],
        "bench_cpu": 100 * r["chatbench_cpu_s"] / w if w else None,
        "node_cpu": [], "node_ns": [], "redis_cpu": None,
        "redis_ns_msg": None,
    }
    for i in range(min(nodes, len(srv))):
        f["node_cpu"].append(100 * srv[i]["cpu_s"] / w if w else None)
        d = r["nodes"][i]["deliveries"] if i < len(r["nodes"]) else 0
        f["node_ns"].append(srv[i]["cpu_s"] * 1e9 / d if d else None)
    if run.get("redis") and len(srv) > nodes:
        red = srv[nodes]
        f["redis_cpu"] = 100 * red["cpu_s"] / w if w else None
        f["redis_ns_msg"] = red["cpu_s"] * 1e9 / r["sent"] if r["sent"] \
            else None
    return f


def cluster_cells(runs):
    """(scenario, setup) -> medians over rounds (losses: the worst)."""
    by = {}
    for run in runs:
        if "result" in run and run["scenario"].startswith("cl-"):
            by.setdefault((run["scenario"], run["server"]), []).append(
                cluster_run_figures(run))
    cells = {}
    for key, fs in by.items():
        c = {"rounds": len(fs)}
        for k in fs[0]:
            if k in ("node_cpu", "node_ns"):
                n = max(len(f[k]) for f in fs)
                c[k] = [med([f[k][i] for f in fs if i < len(f[k])])
                        for i in range(n)]
            elif k in ("losses", "ooo", "skipped"):
                c[k] = worst([f[k] for f in fs])
            else:
                c[k] = med([f[k] for f in fs])
        cells[key] = c
    return cells


def cluster_chart(cells, outdir, work):
    """chart-cluster.svg: latency at 1,000 msg/s, deliveries/s at full
    speed, and the CPU of the nodes, Redis and chatbench at full speed, by
    setup.  Returns the file name, or None."""
    rows = [(s, cells.get(("cl-rate", s)), cells.get(("cl-max", s)),
             cells.get(("cl-light", s))) for s in CLUSTER_SETUPS]
    rows = [x for x in rows if x[1] or x[2] or x[3]]
    if not rows:
        return None
    v = lambda x: "-" if x is None else "%.3f" % x
    data = os.path.join(work, "chart-cluster.dat")
    with open(data, "w") as f:
        f.write("# setup p50 p99 (1,000 msg/s) deliveries/s(M) nodes-cpu% "
                "redis-cpu% chatbench-cpu% (--max) p50 p99 (light)\n")
        for s, rate, mx, light in rows:
            f.write('"%s" %s %s %s %s %s %s %s %s\n' % (
                CLUSTER_CHART_LABEL[s], v(rate and rate["p50"]),
                v(rate and rate["p99"]),
                v(mx and mx["deliveries_per_s"] / 1e6),
                v(mx and sum(x or 0 for x in mx["node_cpu"])),
                v(mx and mx["redis_cpu"]), v(mx and mx["bench_cpu"]),
                v(light and light["p50"]), v(light and light["p99"])))
    name = "chart-cluster.svg"
    script = SVG_HEAD.format(w=1260, h=440, out=os.path.join(outdir, name))
    script += BARS + ('set xtics nomirror norotate center scale 0\n'
                      'set multiplot layout 1,3 title "cluster: 300 (or 60) '
                      'chat clients in one room, 3 publishers, 64 B"\n')
    script += """set title "latency at 1,000 msg/s (ms)"
set key top left horizontal samplen 1 font ",10"
set offsets 0, 0, graph 0.3, 0
plot '{d}' using 8:xtic(1) title "p50, 60 clients" lc rgb "#88ccee", \\
     '' using 9 title "p99, 60" lc rgb "#44aa99", \\
     '' using 2 title "p50, 300" lc rgb "#ddcc77", \\
     '' using 3 title "p99, 300" lc rgb "#aa4499"
set offsets 0, 0, graph 0.12, 0
""".format(d=data)
    script += bar_panel("deliveries / s at full speed (millions)", data, 4,
                        "#4477aa", "%.2f")
    script += """set title "CPU at full speed (% of one core)"
set offsets 0, 0, graph 0.3, 0
plot '{d}' using 5:xtic(1) title "chatd nodes (sum)" lc rgb "#cc6677", \\
     '' using 6 title "Redis" lc rgb "#ddcc77", \\
     '' using 7 title "chatbench" lc rgb "#999999"
""".format(d=data)
    script += "unset multiplot\n"
    return name if gnuplot(script, work, "chart-cluster") else None


def about(v):
    """v to two significant digits, for estimates: 398,769 -> 400,000."""
    if not v:
        return fmt(v)
    digits = len(str(int(v))) - 2
    return "{:,.0f}".format(round(v, -digits) if digits > 0 else v)


def cluster_bottleneck(c):
    """At full speed, who limits: a sentence from the CPU figures."""
    if c is None:
        return "not measured"
    nodes = [x for x in c["node_cpu"] if x is not None]
    red, bench = c["redis_cpu"], c["bench_cpu"]
    total = sum(nodes) + (red or 0) + (bench or 0)
    parts = ["nodes {}".format(" / ".join("%.0f %%" % x for x in nodes)),
             "Redis {}".format(fmt(red, "{:.0f} %")),
             "chatbench {}".format(fmt(bench, "{:.0f} %")),
             "together {:.0f} % of the machine's 200 %".format(total)]
    if red is not None and red >= 90:
        who = "**Redis** (single-threaded, at a full core)"
    elif nodes and max(nodes) >= 90:
        who = "**a chatd node** (at a full core while Redis is not)"
    elif bench is not None and bench >= 90:
        who = ("**neither: the load generator** (chatbench at a full core; "
               "Redis and every node below one)")
    elif total >= 170:
        who = ("**neither: the machine** (its two cores are shared by "
               "chatbench, the nodes and Redis, and none is at a full core)")
    else:
        who = ("**neither Redis nor chatd: no process is at a full core**; "
               "the run is bound by its window over the round trip ({} "
               "messages in flight, {} msg/s, p50 {})".format(
                   CLUSTER_INFLIGHT, fmt(c["sent_per_s"]), fmt(c["p50"], "{:.2f} ms")))
    return "{} — {}".format(who, ", ".join(parts))


def cluster_section(runs, meta):
    """The cluster scenario's section of RESULTS.md, between markers so
    BENCH_ONLY=cluster can replace it alone."""
    cells = cluster_cells(runs)
    out = [CLUSTER_BEGIN, "## Cluster: three nodes on one Redis", ""]
    if not cells:
        out += [meta.get("cluster_note") or "Not run.", "", CLUSTER_END]
        return out, None
    out += ["Measured on {} by bench/run.sh ({} round(s) of each, "
            "interleaved, fresh Redis and nodes for each run; medians over "
            "the rounds, losses the worst round){}; git {}, {}.".format(
                time.strftime("%Y-%m-%d %H:%M %Z"), meta.get("rounds", "?"),
                "; **BENCH_QUICK=1: short windows, not for quoting**"
                if meta.get("quick") == "1" else "",
                meta.get("git", "?"), meta.get("redis_version") or "redis ?"),
            "",
            "| load | setup | clients | sent/s | p50 ms | p99 ms | same-node "
            "p50 / p99 ms | cross-node p50 / p99 ms | deliveries/s | CPU per "
            "node | Redis CPU | ns/delivery per node | Redis ns/message "
            "| chatbench CPU | losses |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for sc, load in CLUSTER_LOADS:
        label = load
        for s in CLUSTER_SETUPS:
            c = cells.get((sc, s))
            if c is None:
                continue
            multi = s == "cluster3"
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} "
                       "| {} | {} | {} | {} | {} |".format(
                label, CLUSTER_LABEL[s], fmt(c["connected"]),
                fmt(c["sent_per_s"]), fmt(c["p50"], "{:.2f}"),
                fmt(c["p99"], "{:.2f}"),
                "{} / {}".format(fmt(c["same_p50"], "{:.2f}"),
                                 fmt(c["same_p99"], "{:.2f}")),
                "{} / {}".format(fmt(c["cross_p50"], "{:.2f}"),
                                 fmt(c["cross_p99"], "{:.2f}"))
                if multi else "–",
                fmt(c["deliveries_per_s"]),
                " / ".join(fmt(x, "{:.0f} %") for x in c["node_cpu"]),
                fmt(c["redis_cpu"], "{:.0f} %"),
                " / ".join(fmt(x) for x in c["node_ns"]),
                fmt(c["redis_ns_msg"]), fmt(c["bench_cpu"], "{:.0f} %"),
                fmt(c["losses"])))
            label = ""
    out.append("")
    g = lambda sc, s: cells.get((sc, s))
    for sc, clients in (("cl-light", 60), ("cl-rate", 300)):
        base = g(sc, "standalone")

        def added(s, key="p50"):
            c = g(sc, s)
            if not c or not base or c[key] is None or base[key] is None:
                return None
            return c[key] - base[key]
        a1, a3 = added("cluster1"), added("cluster3")
        a3_99 = added("cluster3", "p99")
        ok = None if a3 is None else a3 < 1.0
        out.append("- **Latency added by the cluster at 1,000 msg/s, {} "
                   "clients** (a cluster setup's median minus the standalone "
                   "chatd's, same load): 1 node + Redis {}, 3 nodes + Redis "
                   "{} at the median ({} at p99). Goal: under 1 ms at the "
                   "median — {}.".format(
                       clients, fmt(a1, "{:+.2f} ms"), fmt(a3, "{:+.2f} ms"),
                       fmt(a3_99, "{:+.2f} ms"), verdict(ok)))
        c3 = g(sc, "cluster3")
        if c3 and c3["same_p50"] is not None and \
                c3["cross_p50"] is not None:
            out.append("  In the 3-node cluster a receiver on another node "
                       "than the publisher's waits {} more at the median "
                       "than one on the publisher's node (both go through "
                       "Redis: every room message is delivered when it "
                       "comes back).".format(
                           fmt(c3["cross_p50"] - c3["same_p50"],
                               "{:+.2f} ms")))
    m3 = g("cl-max", "cluster3")
    out.append("- **At full speed, who is the bottleneck?** 3 nodes: {}."
               .format(cluster_bottleneck(m3)))
    if m3 and m3["redis_ns_msg"] and m3["node_ns"] and all(m3["node_ns"]):
        per_node = 300 / max(1, len(m3["node_ns"]))
        node_max = min(1e9 / (x * per_node) for x in m3["node_ns"])
        redis_max = 1e9 / m3["redis_ns_msg"]
        out.append("- From CPU per unit of work, which does not depend on "
                   "the load generator: Redis spends {} ns per message "
                   "published (one PUBLISH in, one message out to each of "
                   "the 3 nodes), so one core of Redis carries about {} "
                   "msg/s; a node spends {} ns per delivery to its {:.0f} "
                   "clients, so one core per node carries about {} msg/s. "
                   "With this room size {} would saturate first: a node's "
                   "work grows with its clients in the room, Redis's does "
                   "not, and they cross at about {:.0f} clients per "
                   "node.".format(
                       fmt(m3["redis_ns_msg"]), about(redis_max),
                       " / ".join(fmt(x) for x in m3["node_ns"]), per_node,
                       about(node_max),
                       "Redis" if redis_max < node_max else "the nodes",
                       m3["redis_ns_msg"] / max(m3["node_ns"])))
    out += ["",
            "Setups: `chatd --profile chat --listen 127.0.0.1:P --log quiet "
            "--queue-limit 1M`, with `--cluster redis://127.0.0.1:R "
            "--node-name nK` for the cluster ones; `redis-server --port R "
            "--bind 127.0.0.1 --save '' --appendonly no`. chatbench: "
            "`chatbench -P chat ARGS --pid NODE_PIDS,REDIS_PID --json "
            "NODE_ADDRS` with ARGS `{}` (light), `{}` (1,000 msg/s) and "
            "`{}` (full speed); the clients and the publishers are spread "
            "round-robin over the nodes (3 nodes: a third of the clients "
            "and one publisher each).".format(
                meta.get("args_cl-light", ""), meta.get("args_cl-rate", ""),
                meta.get("args_cl-max", "")),
            "",
            "CPU is utime + stime over the measured window, as % of one "
            "core; ns/delivery per node is a node's CPU over the deliveries "
            "its own clients received; Redis ns/message is Redis's CPU over "
            "the messages published in the window. **Everything shares "
            "this machine's 2 cores**: chatbench (one thread, receiving "
            "every delivery), the nodes and Redis, so deliveries/s at full "
            "speed is what the three together reach, and the CPU per "
            "delivery and per message is the figure to compare.", "",
            "At 1,000 msg/s a node makes one write per delivery (a message "
            "comes about every millisecond, alone in its loop pass), which "
            "costs this virtual machine a few microseconds each: 300 "
            "clients on one node keep it near a full core, and latency "
            "there is mostly queueing in a busy node, which is why the "
            "60-client load is beside it. At full speed many messages "
            "share a pass and a writev, and a delivery costs about a "
            "hundred nanoseconds. Likewise Redis's CPU at 1,000 msg/s is "
            "mostly its own timers, so its ns/message means something only "
            "at full speed.", ""]
    name = cluster_chart(cells, meta.get("_charts", "."), meta.get("_work",
                                                                   "."))
    if name:
        out += ["![the cluster scenario]({})".format(name), ""]
    out.append(CLUSTER_END)
    return out, name


def splice_cluster(path, section):
    """Replace the cluster section of the RESULTS.md at path (or add it
    before ## Targets, or at the end)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = ""
    block = "\n".join(section)
    if CLUSTER_BEGIN in text and CLUSTER_END in text:
        i = text.index(CLUSTER_BEGIN)
        j = text.index(CLUSTER_END) + len(CLUSTER_END)
        text = text[:i] + block + text[j:]
    elif "\n## Targets\n" in text:
        i = text.index("\n## Targets\n") + 1
        text = text[:i] + block + "\n\n" + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--charts", required=True,
                    help="directory for the SVG charts (next to --out)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", choices=["cluster"],
                    help="replace only this scenario's section of --out")
    a = ap.parse_args()
    runs = load(a.raw)
    meta = load_meta(a.meta)
    meta["_charts"], meta["_work"] = a.charts, a.work
    if a.only == "cluster":
        section, _ = cluster_section(runs, meta)
        splice_cluster(a.out, section)
        return 0
    nmax = int(meta.get("nmax", "0") or 0)
    qlim = meta.get("queue_limit", "1M")
    qlim_mib = float(qlim[:-1]) if qlim.endswith("M") else 1.0

    by_cell, errors = {}, []
    for run in runs:
        if "result" not in run:
            errors.append(run)
            continue
        if run["scenario"].startswith("cl-"):
            continue                # cluster_section() reads these
        r = dict(run["result"])
        r["_round"] = run["round"]
        by_cell.setdefault((run["scenario"], run["server"]), []).append(r)
    cells = {k: figures(v) for k, v in by_cell.items()}
    main_sc = {sc for sc, _ in SCENARIOS}
    servers = [s for s in SERVER_ORDER
               if any(k[1] == s and (k[0] in main_sc or
                                     k[0].startswith("sweep-"))
                      for k in cells)]
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
    if shutil.which("gnuplot") is None:
        print("report: no gnuplot: no charts", file=sys.stderr)
    drawn = []
    for sc, label in SCENARIOS + [CHAT]:
        title = label.format(nmax="{:,}".format(nmax))
        name = scenario_chart(sc, title, cells,
                              ["ceiling", "chatd", "chatd-chat"]
                              if sc == "chat"
                              else servers,
                              CHAT_LABEL if sc == "chat" else SERVER_LABEL,
                              a.charts, a.work)
        if name:
            drawn.append((title, name))
    for sc, label in IRC_SCENARIOS:
        title = irc_label(label, meta)
        name = scenario_chart(sc, title, cells, IRC_SERVERS, IRC_LABEL,
                              a.charts, a.work)
        if name:
            drawn.append((title, name))
    for sc, label in WS_SCENARIOS:
        title = ws_label(label, meta)
        name = scenario_chart(sc, title, cells, WS_SERVERS, WS_CHART_LABEL,
                              a.charts, a.work)
        if name:
            drawn.append((title, name))
    if drawn:
        lines += ["## Charts", "",
                  "One per scenario: deliveries/s, server CPU per delivery "
                  "and latency percentiles by server (the idle run: server "
                  "memory per client).", ""]
        for title, name in drawn:
            lines += ["### " + title, "", "![{}]({})".format(title, name), ""]
    lines += chat_section(cells, by_cell, meta.get("chat_note"))
    lines += irc_section(cells, meta)
    lines += ws_section(cells, by_cell, meta)
    lines += cluster_section(runs, meta)[0] + [""]
    lines += ["## Targets", ""]
    lines += targets(cells, by_cell, qlim_mib)
    lines += irc_targets(cells)
    lines += ws_targets(cells, by_cell)
    lines += ["", "## Clients from 10 to {:,}".format(nmax), ""]
    name = sweep_chart(cells, servers, sweep, a.charts, a.work)
    if name:
        lines.append("![deliveries/s and p99 latency against connected "
                     "clients]({})".format(name))
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
              "Each run: a fresh server, then `chatbench --protocol line|chat|"
              "redis|nats|irc|ws --pid SERVER_PID --json --threads {} ARGS "
              "ADDR`.".format(
                  meta.get("threads", "1")), "",
              "| scenario | ARGS |", "|---|---|"]
    for sc, label in SCENARIOS + [CHAT]:
        lines.append("| {} | `{}` |".format(
            label.format(nmax="{:,}".format(nmax)), meta.get("args_" + sc, "")))
    for sc, label in IRC_SCENARIOS:
        lines.append("| {} | `{}` |".format(irc_label(label, meta),
                                            meta.get("args_" + sc, "")))
    for sc, label in WS_SCENARIOS:
        lines.append("| {} | `{}` |".format(ws_label(label, meta),
                                            meta.get("args_" + sc, "")))
    lines.append("| sweep, N clients | `{}` |".format(
        meta.get("args_sweep-N", "")))
    lines += ["",
              "Servers: `build/chatd --listen 127.0.0.1:0 --backend epoll|poll "
              "--log quiet --queue-limit {q}`; `build/chatd --profile chat "
              "--listen 127.0.0.1:P --log quiet --queue-limit {q}` "
              "(chatbench `--protocol chat`); `redis-server --port P --bind "
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
