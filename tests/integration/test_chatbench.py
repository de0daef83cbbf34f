"""chatbench against a real chatd: short, bounded runs on loopback.

Each run is a couple of seconds: a few clients, a low rate, and the checks
that make the figures trustworthy -- everyone joined, every delivery made,
none out of order, the server's CPU and memory read.  Redis and NATS are
exercised too when their servers are installed (make bench installs them);
otherwise those tests skip."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from helpers import SLOW, Server, binary

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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
    (["--size", "10", "1"], "bad --size"),
    (["--size", "2000", "1"], "cuts payloads"),
    (["--duration", "x", "1"], "bad --duration"),
    (["--bogus", "1"], "unknown option"),
    (["--clients"], "needs a value"),
    (["1", "2"], "one address"),
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
