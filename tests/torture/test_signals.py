"""Signals, shutdown, timeouts and half-closes.

A storm of 10,000 handled signals a second during traffic; SIGTERM under
full load (exit 0 within 2 s, socket files removed); a stale socket file
after kill -9; signals whose default would kill; --idle-timeout;
half-closed clients.  (reliability.md section 4, C18, C27, C30-C32.)"""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from torture_lib import (BACKENDS, PY, SIZE, SLOW, Agent, Guard, Reader,
                         TServer, binary, chat_works, dial, hangup,
                         recv_closed, recv_until, strip_noise, wait_until)

STORM = """
import os, sys, time
pid, rate, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sigs = [10, 12, 1]                  # SIGUSR1, SIGUSR2, SIGHUP
n = 0
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    for _ in range(100):
        os.kill(pid, sigs[n % 3])
        n += 1
    time.sleep(max(0, t0 + n / rate - time.monotonic()))
print(n)
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_signal_storm_during_traffic(backend):
    """10,000 handled signals a second while 4 senders talk to 20
    receivers: nobody is disconnected, nothing is lost or reordered."""
    secs = SIZE(3, 10)
    with TServer(["--backend", backend]) as srv, Guard(srv) as g:
        base = srv.nfds()
        rx = Agent("receivers", srv.addr, 20, "--senders", 4,
                   "--count", 2000 * secs)
        assert wait_until(lambda: srv.nfds() >= base + 20)
        tx = Agent("senders", srv.addr, 4, "--count", 2000 * secs,
                   "--size", 64, "--window", 16384)
        storm = subprocess.Popen([PY, "-c", STORM, str(srv.pid), "10000",
                                  str(secs)], stdout=subprocess.PIPE)
        tx.go()
        sent = tx.result(timeout=120)
        got = rx.result(timeout=120)
        n = int(storm.communicate(timeout=60)[0])
        g.attack_over()
        assert not sent["errors"] and not got["errors"], (sent, got)
        assert got["incomplete"] == 0
        assert got["received"] == 20 * 4 * 2000 * secs
        print(f"{n} signals in {secs}s")
        assert n >= 1000 * secs


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_under_full_load(backend, tmp_path):
    """1,000 clients flooding (200 by default), SIGTERM: exit 0 within 2 s,
    the Unix socket file removed, every client's connection closed."""
    n = SIZE(200, 1000)
    if backend == "select":
        n = min(n, 900)
    path = f"{tmp_path}/s"
    srv = TServer(["--backend", backend],
                  listen=("127.0.0.1:0", f"unix:{path}"))
    try:
        tx = Agent("senders", srv.addr, n, "--count", 10 ** 6, "--size", 100,
                   "--timeout", 30)
        tx.go()
        watcher = dial(srv)
        recv_until(watcher, lambda d: d.count(b"\n") > 1000, timeout=10)
        assert os.path.exists(path)
        t0 = time.monotonic()
        srv.p.send_signal(signal.SIGTERM)
        rc = srv.p.wait(30 * SLOW)
        took = time.monotonic() - t0
        assert rc == 0, srv.err.text()[-2000:]
        assert took < 2.0 * SLOW, f"took {took:.2f}s to stop"
        assert not os.path.exists(path)
        recv_closed(watcher, timeout=5)
        tx.kill()
    finally:
        srv.kill()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_while_every_wait_finds_work(backend):
    """Four clients flood without pause, so every wait of the loop finds a
    descriptor ready at once.  A kernel wait that has events to return
    does not deliver a pending signal, so a loop that takes signals only
    from an interrupted wait would never see this SIGTERM: it must still
    exit 0 within 2 s."""
    srv = TServer(["--backend", backend, "--framing", "raw",
                   "--route", "none"])
    stop = threading.Event()

    def flood():
        s = dial(srv)
        chunk = b"z" * (1 << 20)
        try:
            while not stop.is_set():
                s.sendall(chunk)
        except OSError:
            pass
        s.close()

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        cpu = srv.cpu()
        time.sleep(0.5)
        assert srv.cpu() - cpu > 0.1, "the server is not busy: no test"
        t0 = time.monotonic()
        srv.p.send_signal(signal.SIGTERM)
        try:
            rc = srv.p.wait(10 * SLOW)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        assert rc == 0 and took < 2.0 * SLOW, \
            f"exit status {rc} after {took:.2f}s under a flood"
    finally:
        stop.set()
        srv.kill()
        for t in threads:
            t.join(10)


def test_stale_socket_file_and_a_live_server(tmp_path):
    """After kill -9, the socket file left behind is replaced by the next
    server; a second server on a live one's path exits 1, clearly, and
    leaves the first one's file alone."""
    path = f"{tmp_path}/soquette"
    a = TServer(["--profile", "packet"], listen=(f"unix:{path}",))
    a.p.send_signal(signal.SIGKILL)
    a.p.wait()
    assert os.path.exists(path)
    with TServer(["--profile", "packet"], listen=(f"unix:{path}",)) as b:
        chat_works(b, packet_mode=True)
        c = subprocess.run([binary("chatd"), "--profile", "packet",
                            "--listen", f"unix:{path}"],
                           stderr=subprocess.PIPE, timeout=10 * SLOW)
        assert c.returncode == 1
        assert b"another server is listening" in c.stderr
        assert os.path.exists(path)
        chat_works(b, packet_mode=True)
    assert not os.path.exists(path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_fatal_signals_and_a_pause(backend):
    """HUP, USR1, USR2 (whose default is to terminate) are survived; a 2 s
    SIGSTOP/SIGCONT pause disconnects nobody."""
    with TServer(["--backend", backend]) as srv, Guard(srv, latency=False):
        s = dial(srv)
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                    signal.SIGPIPE, signal.SIGCHLD, signal.SIGWINCH):
            os.kill(srv.pid, sig)
        time.sleep(0.2)
        assert srv.alive()
        os.kill(srv.pid, signal.SIGSTOP)
        time.sleep(2)
        os.kill(srv.pid, signal.SIGCONT)
        s.sendall(b"after the pause\n")
        recv_until(s, lambda d: b"after the pause\n" in d)
        s.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_idle_timeout(backend):
    """--idle-timeout 1: silent clients are closed after about a second
    (200 of them at once), a client that talks is kept, and so is the
    canary."""
    with TServer(["--backend", backend, "--idle-timeout", "1"]) as srv, \
            Guard(srv) as g:
        t0 = time.monotonic()
        idle = [dial(srv) for _ in range(200)]
        talker = dial(srv)
        rd = Reader(talker)
        for i in range(10):
            talker.sendall(b"still here %d\n" % i)
            time.sleep(0.3)
        for s in idle:
            recv_closed(s, timeout=5)
        took = time.monotonic() - t0
        assert took >= 1.0, f"closed after {took:.2f}s"
        assert not rd.closed
        rd.wait(lambda d: b"still here 9\n" in d)
        g.attack_over()
        hangup(talker)
        for s in idle:
            s.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_half_closed_clients(backend):
    """20 clients send 3 lines each and half-close while megabytes are
    queued for them (they do not read yet): no CPU is spent while they sit there; once
    they read, each gets everything, then the server closes it."""
    with TServer(["--backend", backend, "--queue-limit", "8M"]) as srv, \
            Guard(srv, rss_slack_kib=12 << 10) as g:
        socks = [dial(srv, rcvbuf=4096) for _ in range(20)]
        pub = dial(srv)
        own = Reader(pub)
        big = b"".join(b"%05d" % i + b"h" * 994 + b"\n" for i in range(5000))
        pub.sendall(big)                # 5 MB: more than the kernel holds
        own.wait(lambda d: b"04999" in d[-4096:], timeout=30)
        for i, s in enumerate(socks):
            s.sendall(b"a%d\nb%d\nc%d\n" % (i, i, i))
            s.shutdown(socket.SHUT_WR)
        own.wait(lambda d: b"c19\n" in d, timeout=30)
        cpu = srv.cpu()
        time.sleep(1.0)
        assert srv.cpu() - cpu < 0.3, "busy while half-closed clients wait"
        for i, s in enumerate(socks):
            lines = strip_noise(recv_closed(s, timeout=30).split(b"\n")[:-1])
            assert [ln for ln in lines if ln[5:6] == b"h"] == \
                big.split(b"\n")[:-1]
            for j in {0, i}:          # its own, and those sent before
                assert [b"a%d" % j, b"b%d" % j, b"c%d" % j] == \
                    [ln for ln in lines if ln[1:] == b"%d" % j]
            s.close()
        g.attack_over()
        hangup(pub)
