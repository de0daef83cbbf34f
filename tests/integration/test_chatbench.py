"""chatbench against a real chatd: short, bounded runs on loopback.

Each run is a couple of seconds: a few clients, a low rate, and the checks
that make the figures trustworthy -- everyone joined, every delivery made,
none out of order, the server's CPU and memory read.  Redis and NATS are
exercised too when their servers are installed (make bench installs them);
otherwise those tests skip.  `--protocol chat` runs against a small chat
server written here, after the line door of SPEC.md's `chat` profile, until
chatd has that profile."""
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from helpers import SLOW, Server, binary, free_port

CHATBENCH = binary("chatbench")

pytestmark = pytest.mark.skipif(not os.path.exists(CHATBENCH),
                                reason="build/chatbench is not built")

need_chatd = pytest.mark.skipif(not os.path.exists(binary("chatd")),
                                reason="build/chatd is not built")


def bench(*args, timeout=30):
    """Run chatbench; return (exit status, stdout, stderr)."""
    p = subprocess.run([CHATBENCH] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def bench_json(*args, timeout=30):
    rc, out, err = bench(*args, "--json", timeout=timeout)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


@need_chatd
@pytest.mark.parametrize("backend", ["epoll", "poll"])
def test_rate_run_makes_every_delivery(backend):
    with Server(["--log", "quiet", "--backend", backend]) as srv:
        r = bench_json("--clients", 20, "--publishers", 2, "--rate", 200,
                       "--duration", 2, "--warmup", 0.5, "--drain", 2,
                       "--pid", srv.pid, f"127.0.0.1:{srv.port}")
        assert srv.alive()
    assert r["connected"] == 20 and r["failed"] == 0
    assert r["sent"] > 0
    assert r["deliveries"] > 0
    assert r["deliveries"] == r["expected"] == r["sent"] * 20
    assert r["losses"] == 0
    assert r["out_of_order"] == 0
    assert r["foreign"] == 0
    # 200 msg/s for 2 s, give or take the scheduler.
    assert 300 <= r["sent"] <= 500
    lat = r["latency_us"]
    assert lat["count"] == r["deliveries"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    s = r["server"]
    assert s["pid"] == srv.pid
    assert s["cpu_s"] >= 0 and s["rss_peak_kib"] > 0


@need_chatd
def test_max_run_and_human_line():
    with Server(["--log", "quiet"]) as srv:
        rc, out, err = bench("--clients", 10, "--publishers", 2, "--max",
                             "--window", 16, "--duration", 1, "--warmup",
                             0.3, "--pid", srv.pid, f"127.0.0.1:{srv.port}")
    assert rc == 0, err
    line = out.strip()
    assert "\n" not in line
    for word in ("clients 10/10", "sent", "deliveries", "MB/s", "p50", "p99",
                 "p99.9", "max", "losses 0", "out-of-order 0", "server cpu",
                 "ns/delivery", "rss"):
        assert word in line, (word, line)


@need_chatd
def test_slow_clients_do_not_count_as_losses():
    with Server(["--log", "quiet", "--queue-limit", "64K"]) as srv:
        r = bench_json("--clients", 10, "--publishers", 1, "--rate", 500,
                       "--size", 200, "--slow", 2, "--duration", 1.5,
                       "--warmup", 0.3, "--pid", srv.pid,
                       f"127.0.0.1:{srv.port}")
        assert srv.alive()
    assert r["connected"] == 10 and r["slow_joined"] == 2
    assert r["losses"] == 0 and r["deliveries"] == r["expected"] > 0


@need_chatd
def test_prefixed_lines_are_understood():
    with Server(["--log", "quiet", "--prefix", "addr"]) as srv:
        r = bench_json("--clients", 5, "--publishers", 1, "--rate", 100,
                       "--duration", 1, "--warmup", 0.3,
                       f"127.0.0.1:{srv.port}")
    assert r["deliveries"] == r["expected"] > 0 and r["losses"] == 0


@need_chatd
def test_idle_run_reports_memory_per_client():
    with Server(["--log", "quiet"]) as srv:
        r = bench_json("--clients", 500, "--publishers", 0, "--duration",
                       0.2, "--warmup", 0, "--pid", srv.pid,
                       f"127.0.0.1:{srv.port}")
    assert r["connected"] == 500 and r["sent"] == 0 and r["losses"] == 0
    assert r["server"]["rss_joined_kib"] > 0


def test_nobody_listening_exits_1():
    port = free_port()
    rc, out, err = bench("--clients", 3, "--duration", 0.2,
                         "--connect-timeout", 2, f"127.0.0.1:{port}")
    assert rc == 1
    assert out == ""
    assert "cannot connect to 127.0.0.1:%d" % port in err


@pytest.mark.parametrize("args,why", [
    ([], "no address"),
    (["--max", "--rate", "5", "1"], "not both"),
    (["--clients", "2", "--publishers", "3", "1"], "more than"),
    (["--protocol", "mqtt", "1"], "unknown protocol"),
    (["--protocol", "chat", "--room", "bench", "1"], "bad --room"),
    (["--protocol", "chat", "--room", "#a b", "1"], "bad --room"),
    (["--protocol", "chat", "--size", "400", "1"], "cuts messages"),
    (["--protocol", "irc", "--size", "400", "1"], "cut messages"),
    (["--protocol", "ws", "--size", "400", "1"], "cuts messages"),
    (["--protocol", "ws", "--room", "bench", "1"], "bad --room"),
    (["--protocol", "irc", "--room", "bench", "1"], "bad --room"),
    (["--protocol", "irc", "--max", "--clients", "1", "1"], "needs --clients"),
    (["--irc-oper", "a:b", "1"], "is for --protocol irc"),
    (["--tls", "--protocol", "nats", "1"], "not for --protocol nats"),
    (["--protocol", "irc", "--irc-oper", "ab", "1"], "bad --irc-oper"),
    (["--connecting", "0", "1"], "bad --connecting"),
    (["--size", "10", "1"], "bad --size"),
    (["--size", "2000", "1"], "cuts payloads"),
    (["--duration", "x", "1"], "bad --duration"),
    (["--bogus", "1"], "unknown option"),
    (["--clients"], "needs a value"),
    ([str(p) for p in range(1, 18)], "more than 16 addresses"),
    (["--pid", "1,,2", "1"], "bad --pid"),
    (["--pid", "x", "1"], "bad --pid"),
    (["--pid", ",".join(["1"] * 17), "1"], "more than 16 --pid"),
])
def test_usage_errors_exit_2(args, why):
    rc, out, err = bench(*args)
    assert rc == 2
    assert why in err.splitlines()[0]
    assert "usage: chatbench" in err


def test_help_and_version():
    rc, out, _ = bench("--help")
    assert rc == 0 and out.startswith("usage: chatbench")
    rc, out, _ = bench("--version")
    assert rc == 0 and out.startswith("chatbench ")


def start_peer(cmd, port):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    p.wait()
    pytest.fail("%s did not start" % cmd[0])


def peer_run(proto, p, port):
    try:
        r = bench_json("--protocol", proto, "--clients", 10, "--publishers",
                       2, "--rate", 200, "--duration", 1, "--warmup", 0.3,
                       "--pid", p.pid, f"127.0.0.1:{port}")
    finally:
        p.terminate()
        p.wait(10)
    assert r["connected"] == 10
    assert r["deliveries"] == r["expected"] > 0
    assert r["losses"] == 0 and r["out_of_order"] == 0
    assert r["server"]["cpu_s"] >= 0


@pytest.mark.skipif(shutil.which("redis-server") is None,
                    reason="redis-server is not installed")
def test_redis_pubsub():
    port = free_port()
    p = start_peer(["redis-server", "--port", str(port), "--bind",
                    "127.0.0.1", "--save", "", "--appendonly", "no"], port)
    peer_run("redis", p, port)


NATS = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)


@pytest.mark.skipif(NATS is None, reason="nats-server is not installed")
def test_nats():
    port = free_port()
    p = start_peer([NATS, "-a", "127.0.0.1", "-p", str(port)], port)
    peer_run("nats", p, port)


@need_chatd
@pytest.mark.parametrize("mode", [["--rate", 200], ["--max"]])
def test_irc_protocol_against_chatd(mode):
    """chatd's IRC door: no echo of a sender's own PRIVMSG, so each message
    is owed to every subscriber but its sender, and none may be missing."""
    with Server(["--profile", "chat", "--log", "quiet"],
                listen="irc://127.0.0.1:0") as srv:
        r = bench_json("--protocol", "irc", "--clients", 10, "--publishers",
                       2, *mode, "--duration", 1, "--warmup", 0.3,
                       "--drain", 2, "--room", "#Bench", "--pid", srv.pid,
                       f"127.0.0.1:{srv.port}")
        assert srv.alive()
    assert r["protocol"] == "irc"
    assert r["connected"] == 10 and r["failed"] == 0
    assert r["sent"] > 0 and r["deliveries"] > 0
    assert r["deliveries"] == r["expected"] == r["sent"] * 9
    assert r["losses"] == 0 and r["out_of_order"] == 0
    assert r["foreign"] == 0 and r["server_errors"] == 0


def chatd_web():
    """chatd's chat profile with its line door and its web door; sets
    srv.line_port and srv.http_port."""
    srv = Server(["--profile", "chat", "--log", "quiet",
                  "--listen", "http://127.0.0.1:0"])
    srv.err.wait_for(r"(listening on 127\.0\.0\.1:\d+.*\n.*){2}", start=0)
    ports = re.findall(r"listening on 127\.0\.0\.1:(\d+)", srv.err.text())
    srv.line_port, srv.http_port = map(int, ports[:2])
    return srv


@need_chatd
@pytest.mark.parametrize("mode", [["--rate", 200], ["--max"]])
def test_ws_protocol_against_chatd(mode):
    """chatd's web door, the line door over WebSocket: the chat profile
    echoes a sender's own message, so each is owed to every subscriber,
    and none may be missing."""
    with chatd_web() as srv:
        r = bench_json("--protocol", "ws", "--clients", 10, "--publishers",
                       2, *mode, "--duration", 1, "--warmup", 0.3,
                       "--drain", 2, "--room", "#Bench", "--pid", srv.pid,
                       f"127.0.0.1:{srv.http_port}")
        assert srv.alive()
    assert r["protocol"] == "ws"
    assert r["connected"] == 10 and r["failed"] == 0
    assert r["sent"] > 0 and r["deliveries"] > 0
    assert r["deliveries"] == r["expected"] == r["sent"] * 10
    assert r["losses"] == 0 and r["out_of_order"] == 0
    assert r["foreign"] == 0 and r["server_errors"] == 0


@need_chatd
def test_ws_protocol_needs_the_web_door():
    """The line door does not answer an upgrade with a 101: nobody joins."""
    with chatd_web() as srv:
        rc, out, err = bench("--protocol", "ws", "--clients", 2,
                             "--publishers", 0, "--duration", 0,
                             "--warmup", 0, "--drain", 0,
                             "--connect-timeout", 3,
                             f"127.0.0.1:{srv.line_port}")
    assert rc == 1, err
    assert "cannot connect" in err


def test_ws_wrong_accept_key_is_refused():
    """A 101 whose Sec-WebSocket-Accept is not the key's: the client
    gives up on that connection."""
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(8)
    port = lsn.getsockname()[1]
    heads = []

    def serve():
        conns = []
        try:
            for _ in range(2):
                c, _ = lsn.accept()
                conns.append(c)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += c.recv(4096)
                heads.append(data.decode())
                c.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Accept: "
                          b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
            time.sleep(5)
        except OSError:
            pass
        for c in conns:
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    rc, out, err = bench("--protocol", "ws", "--clients", 2, "--publishers",
                         0, "--duration", 0, "--warmup", 0, "--drain", 0,
                         "--connect-timeout", 3, f"127.0.0.1:{port}")
    lsn.close()
    assert rc == 1, err
    assert "Sec-WebSocket-Accept is wrong" in err
    assert len(heads) == 2
    keys = [re.search(r"Sec-WebSocket-Key: (\S+)", h).group(1) for h in heads]
    assert keys[0] != keys[1] and all(len(k) == 24 for k in keys)
    assert all(h.startswith("GET /ws HTTP/1.1\r\n") for h in heads)


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    """A throwaway self-signed certificate and its key."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", key, "-out", cert],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return cert, key


@need_chatd
@pytest.mark.parametrize("profile,mode", [
    ("chat", ["--rate", 200]), ("chat", ["--max"]), ("line", ["--max"])])
def test_tls_run_makes_every_delivery(tls_pair, profile, mode):
    """chatbench --tls against chatd's tls:// door: the same figures as in
    plain TCP, no certificate check needed for a self-signed one."""
    cert, key = tls_pair
    with Server(["--profile", profile, "--log", "quiet", "--tls-cert", cert,
                 "--tls-key", key], listen="tls://127.0.0.1:0") as srv:
        r = bench_json("--tls", "--protocol", profile, "--clients", 10,
                       "--publishers", 2, *mode, "--duration", 1,
                       "--warmup", 0.3, "--drain", 2, "--pid", srv.pid,
                       f"127.0.0.1:{srv.port}")
        assert srv.alive()
        srv.err.wait_for(r"TLS: TLSv1\.[23], sending", timeout=5)
    assert r["protocol"] == profile and r["tls"] is True
    assert r["connected"] == 10 and r["failed"] == 0
    assert r["sent"] > 0 and r["deliveries"] > 0
    assert r["deliveries"] == r["expected"] == r["sent"] * 10
    assert r["losses"] == 0 and r["out_of_order"] == 0
    assert r["foreign"] == 0 and r["server_errors"] == 0
    assert r["server"]["cpu_ns_per_delivery"] > 0


@need_chatd
def test_tls_to_a_plain_server_says_why(tls_pair):
    with Server(["--profile", "chat", "--log", "quiet"]) as srv:
        rc, out, err = bench("--tls", "--protocol", "chat", "--clients", 2,
                             "--connect-timeout", 5, f"127.0.0.1:{srv.port}")
    assert rc == 1 and out == ""
    assert "TLS handshake with 127.0.0.1:%d failed" % srv.port in err


def test_sigint_ends_the_run_with_its_figures():
    with Server(["--log", "quiet"]) as srv:
        p = subprocess.Popen([CHATBENCH, "--clients", "5", "--publishers",
                              "1", "--rate", "100", "--duration", "600",
                              "--warmup", "0", "--verbose", "--json",
                              f"127.0.0.1:{srv.port}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        err = ""
        while "subscribers joined" not in err:
            line = p.stderr.readline()
            assert line, "chatbench ended before its clients joined"
            err += line
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=30 * SLOW)
    assert p.returncode == 0
    r = json.loads(out)
    # Cut short: what was in flight is owed, so losses may not be 0.
    assert r["connected"] == 5
    assert r["deliveries"] + r["losses"] == r["expected"]


class FakeChat:
    """The line door of SPEC.md's chat profile, as much as chatbench uses:
    a greeting, guestN in #lobby, /nick, /join, and room messages as
    "nick: text" (or "[#room] nick: text" to a member whose current room
    is another; with prefix_all, to everyone)."""

    def __init__(self, prefix_all=False):
        self.prefix_all = prefix_all
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ)
        self.users = {}         # socket -> {"nick", "rooms", "cur", "buf"}
        self.joins = []         # (nick, room) of every /join
        self.n = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def send(self, s, text):
        try:
            s.sendall(text.encode())
        except OSError:
            pass

    def to_room(self, room, text, sender=None):
        for s, u in list(self.users.items()):
            if room not in u["rooms"]:
                continue
            if text.startswith("*** "):
                self.send(s, text)
            elif u["cur"] == room and not self.prefix_all:
                self.send(s, "%s: %s" % (sender, text))
            else:
                self.send(s, "[%s] %s: %s" % (room, sender, text))

    def line(self, s, line):
        u = self.users[s]
        if line.startswith("/nick "):
            old, u["nick"] = u["nick"], line[6:]
            for room in u["rooms"]:
                self.to_room(room, "*** %s is now known as %s\n"
                             % (old, u["nick"]))
        elif line.startswith("/join "):
            room = line[6:]
            self.joins.append((u["nick"], room))
            u["rooms"].add(room)
            u["cur"] = room
            self.to_room(room, "*** %s joined %s\n" % (u["nick"], room))
            self.send(s, "*** %s: no topic, %d members\n" % (
                room, sum(room in v["rooms"] for v in self.users.values())))
        else:
            self.to_room(u["cur"], line + "\n", u["nick"])

    def run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.1):
                if key.fileobj is self.lsock:
                    s, _ = self.lsock.accept()
                    self.n += 1
                    nick = "guest%d" % self.n
                    self.users[s] = {"nick": nick, "rooms": {"#lobby"},
                                     "cur": "#lobby", "buf": b""}
                    self.sel.register(s, selectors.EVENT_READ)
                    self.send(s, "Welcome to fakechat, %s: /help lists "
                              "the commands\n" % nick)
                    self.to_room("#lobby", "*** %s joined #lobby\n" % nick)
                    continue
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except OSError:     # chatbench ends with a reset
                    data = b""
                if not data:
                    self.sel.unregister(s)
                    del self.users[s]
                    s.close()
                    continue
                u = self.users[s]
                u["buf"] += data
                *lines, u["buf"] = u["buf"].split(b"\n")
                for line in lines:
                    self.line(s, line.decode())

    def close(self):
        self.stop = True
        self.t.join(5)
        for s in list(self.users):
            s.close()
        self.lsock.close()


@pytest.mark.parametrize("prefix_all", [False, True])
def test_chat_protocol(prefix_all):
    srv = FakeChat(prefix_all)
    try:
        r = bench_json("--protocol", "chat", "--clients", 10, "--publishers",
                       2, "--rate", 100, "--duration", 1, "--warmup", 0.3,
                       "--room", "#Bench", f"127.0.0.1:{srv.port}")
    finally:
        srv.close()
    assert r["protocol"] == "chat"
    assert sorted(srv.joins) == sorted(("b%d" % i, "#Bench")
                                       for i in range(10))
    assert r["connected"] == 10 and r["failed"] == 0
    assert r["sent"] > 0
    assert r["deliveries"] == r["expected"] == r["sent"] * 10
    assert r["losses"] == 0 and r["out_of_order"] == 0
    assert r["foreign"] == 0 and r["server_errors"] == 0


def test_chat_clients_wait_for_their_own_join():
    """A server that never confirms the join: nobody takes part."""
    srv = FakeChat()
    srv.line_orig = srv.line
    srv.line = lambda s, line: (None if line.startswith("/join ")
                                else srv.line_orig(s, line))
    try:
        rc, out, err = bench("--protocol", "chat", "--clients", 3,
                             "--duration", 0.2, "--connect-timeout", 1,
                             f"127.0.0.1:{srv.port}")
    finally:
        srv.close()
    assert rc == 1
    assert "cannot connect" in err


# --- several addresses: the nodes of a cluster -----------------------------

@need_chatd
def test_two_standalone_servers_share_the_clients():
    """Two chatd that know nothing of each other: the clients and the
    publishers go round-robin, each server delivers its own publisher's
    messages, and what never crosses shows as cross-node losses only."""
    with Server(["--profile", "chat", "--log", "quiet"]) as a, \
            Server(["--profile", "chat", "--log", "quiet"]) as b:
        r = bench_json("--protocol", "chat", "--clients", 10, "--publishers",
                       2, "--rate", 100, "--duration", 1, "--warmup", 0.3,
                       "--drain", 0.5, "--pid", f"{a.pid},{b.pid}",
                       f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}")
        assert a.alive() and b.alive()
    assert r["addrs"] == [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
    assert [n["connected"] for n in r["nodes"]] == [5, 5]
    assert all(n["deliveries"] > 0 for n in r["nodes"])
    same, cross = r["same_node"], r["cross_node"]
    assert r["sent"] > 0
    # Each message reaches the 5 clients of its publisher's server.
    assert same["deliveries"] == same["expected"] == r["sent"] * 5
    assert same["latency_us"]["count"] == same["deliveries"]
    assert cross["deliveries"] == 0 and cross["expected"] == r["sent"] * 5
    assert r["losses"] == cross["expected"]
    assert r["out_of_order"] == 0 and r["foreign"] == 0
    # --pid with two processes: each, and their sum.
    assert r["pids"] == [a.pid, b.pid]
    assert [s["pid"] for s in r["servers"]] == [a.pid, b.pid]
    total = sum(s["cpu_s"] for s in r["servers"])
    assert abs(r["server"]["cpu_s"] - total) < 0.002
    assert all(s["rss_peak_kib"] > 0 for s in r["servers"])


@need_chatd
def test_several_addresses_in_the_human_line():
    with Server(["--log", "quiet"]) as a, Server(["--log", "quiet"]) as b:
        rc, out, err = bench("--clients", 4, "--publishers", 2, "--rate", 50,
                             "--duration", 0.5, "--warmup", 0.2, "--drain",
                             0.3, "--pid", a.pid, "--pid", b.pid,
                             f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}")
    assert rc == 0, err
    line = out.strip()
    assert "\n" not in line
    for word in ("same-node p50", "cross-node p50", "by node:",
                 f"127.0.0.1:{a.port} clients 2", f"127.0.0.1:{b.port} "
                 "clients 2", "servers cpu", f"= {a.pid}: ", f", {b.pid}: "):
        assert word in line, (word, line)


@need_chatd
@pytest.mark.skipif(shutil.which("redis-server") is None,
                    reason="redis-server is not installed")
@pytest.mark.parametrize("mode", [["--rate", 100], ["--max"]])
def test_cluster_deliveries_cross_nodes(mode):
    """Two chatd nodes on one Redis: every message reaches the clients of
    both nodes, so nothing is lost across them, and the Redis process is
    watched beside the nodes."""
    port = free_port()
    redis = start_peer(["redis-server", "--port", str(port), "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no"],
                       port)
    url = f"redis://127.0.0.1:{port}"
    try:
        with Server(["--profile", "chat", "--log", "quiet", "--cluster", url,
                     "--node-name", "n1"]) as a, \
                Server(["--profile", "chat", "--log", "quiet", "--cluster",
                        url, "--node-name", "n2"]) as b:
            for n in (a, b):
                n.err.wait_for(r"cluster: link up", timeout=10)
            r = bench_json("--protocol", "chat", "--clients", 10,
                           "--publishers", 2, *mode, "--window", 16,
                           "--duration", 1, "--warmup", 0.3, "--drain", 2,
                           "--pid", f"{a.pid},{b.pid},{redis.pid}",
                           f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}")
            assert a.alive() and b.alive()
    finally:
        redis.terminate()
        redis.wait(10)
    assert [n["connected"] for n in r["nodes"]] == [5, 5]
    same, cross = r["same_node"], r["cross_node"]
    assert r["sent"] > 0
    assert same["deliveries"] == same["expected"] == r["sent"] * 5
    assert cross["deliveries"] == cross["expected"] == r["sent"] * 5
    assert cross["latency_us"]["count"] == cross["deliveries"]
    assert r["deliveries"] == r["expected"] and r["losses"] == 0
    assert r["out_of_order"] == 0 and r["foreign"] == 0
    assert [s["pid"] for s in r["servers"]] == [a.pid, b.pid, redis.pid]
    assert all(s["cpu_s"] >= 0 for s in r["servers"])
    assert r["chatbench_cpu_s"] >= 0
