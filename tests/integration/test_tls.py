"""TLS on every door: tls:// (line), ircs:// (IRC), https:// (web, wss://).

Certificates are made at test time with openssl.  Real clients (openssl
s_client, socat) and Python's ssl module chat with plain nc users; TLS
1.1, garbage instead of a ClientHello, silence after a ClientHello,
resets mid-handshake and a flood of silent TCP clients must cost the
others nothing; SIGHUP gives new clients a new certificate and keeps the
old one when the new files are broken."""
import base64
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest

from helpers import (BACKENDS, SANITIZE, SLOW, VALGRIND, Server, Stream,
                     binary, connect, recv_closed, recv_until)


def make_cert(d, name, cn):
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=" + cn,
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return make_cert(str(tmp_path_factory.mktemp("tls")), "srv", "localhost")


def chatd(cert, key, backend="epoll", extra=()):
    """The chat profile with a TLS line door first, then a plain line door,
    ircs:// and https://; srv.tls, .plain, .ircs, .https are the ports."""
    srv = Server(["--profile", "chat", "--backend", backend,
                  "--listen", "127.0.0.1:0", "--listen", "ircs://127.0.0.1:0",
                  "--listen", "https://127.0.0.1:0",
                  "--tls-cert", cert, "--tls-key", key] + list(extra),
                 listen="tls://127.0.0.1:0")
    srv.err.wait_for(r"(listening on 127\.0\.0\.1:\d+.*\n.*){4}", start=0)
    ports = re.findall(r"listening on 127\.0\.0\.1:(\d+)", srv.err.text())
    srv.tls, srv.plain, srv.ircs, srv.https = map(int, ports[:4])
    return srv


def client_ctx(**kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def tls_connect(port, **kw):
    s = client_ctx(**kw).wrap_socket(connect(port), server_hostname="localhost")
    s.settimeout(5 * SLOW)
    return s


def line_user(srv, tls=True):
    """A line user (TLS or plain) past its welcome; returns (sock, nick)."""
    s = tls_connect(srv.tls) if tls else connect(srv.plain)
    data = recv_until(s, lambda d: b"member" in d)
    nick = re.search(rb"Welcome to chatd, (\S+?)!", data).group(1).decode()
    return s, nick


def chat_works(srv, tls=True):
    """A new user says something and a plain user and itself see it."""
    a, na = line_user(srv, tls)
    b, nb = line_user(srv, False)
    recv_until(a, lambda d: (nb + " joined").encode() in d)
    a.sendall(b"still here\n")
    for s in (a, b):
        recv_until(s, lambda d: (na + ": still here").encode() in d)
    a.close()
    b.close()


def subject_of(der, tmp):
    path = os.path.join(tmp, "peer.pem")
    with open(path, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
    return subprocess.run(["openssl", "x509", "-noout", "-subject", "-in",
                           path], check=True, capture_output=True,
                          text=True).stdout


def proc(args):
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.outs = Stream(p.stdout)
    return p


def end(p):
    if p.poll() is None:
        p.kill()
    p.wait()


# --- real clients ---------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_s_client_users_chat_with_nc(pair, backend):
    with chatd(*pair, backend=backend) as srv:
        a = proc(["openssl", "s_client", "-quiet", "-connect",
                  "127.0.0.1:%d" % srv.tls])
        b = proc(["openssl", "s_client", "-quiet", "-tls1_2", "-connect",
                  "127.0.0.1:%d" % srv.tls])
        n = proc(["nc", "127.0.0.1", str(srv.plain)])
        try:
            na = a.outs.wait_for(r"Welcome to chatd, (\S+?)!").group(1)
            nb = b.outs.wait_for(r"Welcome to chatd, (\S+?)!").group(1)
            nn = n.outs.wait_for(r"Welcome to chatd, (\S+?)!").group(1)
            a.stdin.write(b"hello over TLS 1.3\n")
            a.stdin.flush()
            b.stdin.write(b"hello over TLS 1.2\n")
            b.stdin.flush()
            for p in (a, b, n):
                p.outs.wait_for(na + ": hello over TLS 1.3")
                p.outs.wait_for(nb + ": hello over TLS 1.2")
            n.stdin.write(b"hi from nc\n")
            n.stdin.flush()
            for p in (a, b):
                p.outs.wait_for(nn + ": hi from nc")
            a.kill()                # gone without close_notify
            n.outs.wait_for(na + " quit")
            srv.out.wait_for(r"%s, closed by peer" % na)
        finally:
            for p in (a, b, n):
                end(p)
        assert srv.stop() == 0


def test_socat_client(pair):
    with chatd(*pair) as srv:
        p = proc(["socat", "-", "OPENSSL:127.0.0.1:%d,verify=0" % srv.tls])
        try:
            nick = p.outs.wait_for(r"Welcome to chatd, (\S+?)!").group(1)
            p.stdin.write(b"/nick socatter\nvia socat\n")
            p.stdin.flush()
            p.outs.wait_for(r"socatter: via socat")
            p.stdin.close()
            srv.out.wait_for(r"socatter, closed by peer")
        finally:
            end(p)
        assert nick


# --- Python's ssl on all three doors --------------------------------------

def ws_frame(text):
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81, 0x80 | len(payload)]) + mask
    return head + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


@pytest.mark.parametrize("backend", BACKENDS)
def test_python_clients_on_every_door(pair, backend):
    with chatd(*pair, backend=backend) as srv:
        line, lnick = line_user(srv)
        # ircs://: register, join #lobby, talk with the line user.
        irc = tls_connect(srv.ircs)
        irc.sendall(b"NICK ircy\r\nUSER ircy 0 * :I\r\nJOIN #lobby\r\n")
        recv_until(irc, lambda d: b" 366 " in d)
        recv_until(line, lambda d: b"ircy joined #lobby" in d)
        irc.sendall(b"PRIVMSG #lobby :hello from ircs\r\n")
        recv_until(line, lambda d: b"ircy: hello from ircs" in d)
        line.sendall(b"hello irc\n")
        recv_until(irc, lambda d: b"PRIVMSG #lobby :hello irc" in d)
        # https://: an HTTP answer, then a wss:// WebSocket user.
        h = tls_connect(srv.https)
        h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = recv_closed(h)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"ok\n")
        w = tls_connect(srv.https)
        key = base64.b64encode(os.urandom(16)).decode()
        w.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        head = recv_until(w, lambda d: b"\r\n\r\n" in d)
        assert head.startswith(b"HTTP/1.1 101 ")
        recv_until(line, lambda d: re.search(rb"guest\d+ joined #lobby", d))
        w.sendall(ws_frame("hello from wss"))
        recv_until(line, lambda d: b": hello from wss" in d)
        recv_until(irc, lambda d: b"PRIVMSG #lobby :hello from wss" in d)
        line.sendall(b"hello web\n")
        recv_until(w, lambda d: (lnick + ": hello web").encode() in d)
        m = tls_connect(srv.https)
        m.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        metrics = recv_closed(m).decode()
        assert re.search(r'chatd_tls_handshakes_total\{result="ok"\} [1-9]',
                         metrics)
        for s in (line, irc, w):
            s.close()
        assert srv.stop() == 0


def read_until_tail(s, marker, timeout=20.0):
    """Read until marker arrives (it ends what is sent); return it all."""
    chunks, tail = [], b""
    deadline = time.monotonic() + timeout * SLOW
    while marker not in tail:
        assert time.monotonic() < deadline, tail
        d = s.recv(1 << 20)
        assert d, "closed"
        chunks.append(d)
        tail = (tail + d)[-256:]
    return b"".join(chunks)


def test_a_slow_tls_reader_gets_everything(pair):
    """A TLS reader with a tiny receive buffer that waits before reading:
    more than the kernel's send buffer is queued for it, so the server's
    SSL_write hits WANT_WRITE and retries; it gets all, in order."""
    n = 60000
    with chatd(*pair, extra=["--queue-limit", "64M"]) as srv:
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", srv.tls))
        slow = client_ctx().wrap_socket(slow, server_hostname="localhost")
        slow.settimeout(10 * SLOW)
        recv_until(slow, lambda d: b"member" in d)
        writer, wnick = line_user(srv)
        writer.sendall(b"".join(b"line %05d %s\n" % (i, b"x" * 80)
                                for i in range(n)))
        writer.sendall(b"the end\n")
        read_until_tail(writer, b": the end\n")
        time.sleep(0.3)
        got = read_until_tail(slow, b": the end\n", timeout=60)
        nums = re.findall(rb": line (\d{5}) ", got)
        assert [int(x) for x in nums] == list(range(n))
        for s in (slow, writer):
            s.close()
        assert srv.stop() == 0


def bio_client(port):
    """A TLS client whose records we write ourselves: (sock, SSLObject,
    its outgoing BIO)."""
    s = connect(port)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(inc, out, server_hostname="localhost")
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(out.read())
            d = s.recv(65536)
            assert d
            inc.write(d)
    s.sendall(out.read())
    return s, obj, out


def test_bytes_openssl_holds_are_read_without_waiting(pair):
    """A small record, then four full ones, sent in one piece: the server
    reads 64 KiB, which ends 100 bytes into the last record; those bytes
    (the last line) wait in OpenSSL, not in the socket, and must still be
    handled without another byte from the client."""
    with chatd(*pair) as srv:
        plain, _ = line_user(srv, tls=False)
        s, obj, out = bio_client(srv.tls)
        filler = b"".join(b"%s\n" % (b"y" * 1000) for _ in range(65))
        filler = filler[:4 * 16384 - 100]
        filler = filler[:filler.rindex(b"\n") + 1]
        filler += b"z" * (4 * 16384 - 100 - len(filler) - 1) + b"\n"
        obj.write(b"x" * 99 + b"\n")
        obj.write(filler[:16384])
        obj.write(filler[16384:32768])
        obj.write(filler[32768:49152])
        obj.write(filler[49152:] + b"last line\n")
        s.sendall(out.read())
        recv_until(plain, lambda d: b": last line\n" in d, timeout=5)
        s.close()
        assert srv.stop() == 0


# --- what is refused, and what it costs ------------------------------------

def test_tls_1_1_is_refused(pair):
    with chatd(*pair) as srv:
        p = subprocess.run(["openssl", "s_client", "-tls1_1", "-cipher",
                            "DEFAULT:@SECLEVEL=0", "-connect",
                            "127.0.0.1:%d" % srv.tls], input=b"",
                           capture_output=True, timeout=10 * SLOW)
        assert p.returncode != 0
        assert b"Welcome" not in p.stdout
        srv.out.wait_for(r"TLS handshake failed: unsupported protocol")
        chat_works(srv)
        assert srv.stop() == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_garbage_instead_of_a_client_hello(pair, backend):
    with chatd(*pair, backend=backend) as srv:
        user, nick = line_user(srv)
        bad = []
        for i in range(20):
            s = connect(srv.tls)
            s.sendall(b"NICK bob\r\nUSER x\r\n" if i % 2 else
                      b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            bad.append(s)
        for s in bad:
            try:
                data = recv_closed(s)
            except ConnectionResetError:
                data = b""
            assert b"Welcome" not in data
            s.close()
        srv.out.wait_for(r"TLS handshake failed")
        user.sendall(b"unaffected\n")
        recv_until(user, lambda d: (nick + ": unaffected").encode() in d)
        chat_works(srv)
        assert srv.stop() == 0


def test_silence_after_a_client_hello_meets_the_deadline(pair):
    """A ClientHello and then nothing, and a TCP client that never says
    hello: each closed 10 s on (the deadline is fixed)."""
    with chatd(*pair) as srv:
        hello = connect(srv.tls)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = client_ctx().wrap_bio(inc, out, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            obj.do_handshake()
        hello.sendall(out.read())
        silent = connect(srv.tls)
        t0 = time.monotonic()
        chat_works(srv)         # meanwhile nobody else waits
        for s in (hello, silent):
            s.settimeout(14 * SLOW)
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        took = time.monotonic() - t0
        assert 9 <= took <= 13 * SLOW, took
        srv.out.wait_for(r"TLS handshake timed out(.|\n)*TLS handshake "
                         r"timed out")
        assert srv.stop() == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_idle_tcp_flood_does_not_stop_a_tls_user(pair, backend):
    with chatd(*pair, backend=backend) as srv:
        before = srv.rss_kib()
        idle = [connect(srv.tls) for _ in range(200)]
        srv.out.wait_for(r"\b201 online|\(fd \d+, 200 online\)")
        t0 = time.monotonic()
        chat_works(srv)
        assert time.monotonic() - t0 < 3 * SLOW
        if not (VALGRIND or SANITIZE):  # no TLS state for silent clients
            assert srv.rss_kib() - before < 1024, srv.rss_kib() - before
        for s in idle:
            s.close()
        assert srv.stop() == 0


def test_reset_mid_handshake(pair):
    with chatd(*pair) as srv:
        for step in ("hello", "after-server-hello"):
            s = connect(srv.tls)
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = client_ctx().wrap_bio(inc, out, server_hostname="localhost")
            with pytest.raises(ssl.SSLWantReadError):
                obj.do_handshake()
            data = out.read()
            if step == "hello":
                s.sendall(data[:len(data) // 2])
            else:
                s.sendall(data)
                s.recv(100)
            time.sleep(0.1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
        srv.out.wait_for(r"connection reset by peer(.|\n)*connection reset "
                         r"by peer")
        chat_works(srv)
        assert srv.stop() == 0


# --- certificates and the command line -------------------------------------

def test_sighup_gives_new_clients_the_new_certificate(tmp_path):
    d = str(tmp_path)
    cert, key = make_cert(d, "srv", "alpha")
    with chatd(cert, key) as srv:
        old, onick = line_user(srv)
        assert "CN = alpha" in subject_of(old.getpeercert(True), d)
        new_cert, new_key = make_cert(d, "next", "beta")
        os.replace(new_cert, cert)
        os.replace(new_key, key)
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"reload: new TLS clients get")
        new, _ = line_user(srv)
        assert "CN = beta" in subject_of(new.getpeercert(True), d)
        old.sendall(b"old one still chatting\n")
        for s in (old, new):
            recv_until(s, lambda b: (onick + ": old one still chatting")
                       .encode() in b)
        # A broken file: the pair in use stays, and the log says why.
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"reload: cannot load the TLS certificate .*: "
                         r".*: the old certificate and key stay")
        third, _ = line_user(srv)
        assert "CN = beta" in subject_of(third.getpeercert(True), d)
        chat_works(srv)
        for s in (old, new, third):
            s.close()
        assert srv.stop() == 0


def test_tls_on_the_line_profile(pair):
    with Server(["--tls-cert", pair[0], "--tls-key", pair[1]],
                listen="tls://127.0.0.1:0") as srv:
        a = tls_connect(srv.port)
        recv_until(a, lambda d: b"Welcome" in d)
        a.sendall(b"over tls\n")
        recv_until(a, lambda d: b"over tls\n" in d)
        a.close()
        assert srv.stop() == 0


@pytest.mark.parametrize("args,code,why", [
    (["--listen", "tls://127.0.0.1:0"], 2, r"needs --tls-cert FILE"),
    (["--listen", "ircs://127.0.0.1:0", "--tls-cert", "C"], 2,
     r"needs --tls-key FILE"),
    (["--listen", "https://127.0.0.1:0", "--tls-key", "K"], 2,
     r"needs --tls-cert FILE"),
    (["--listen", "tls://127.0.0.1:0", "--tls-cert", "/nonexistent.pem",
      "--tls-key", "K"], 1,
     r"cannot load the TLS certificate /nonexistent.pem: No such file"),
    (["--listen", "tls://127.0.0.1:0", "--tls-cert", "K", "--tls-key", "K"],
     1, r"cannot load the TLS certificate .*: no start line"),
    (["--listen", "tls://127.0.0.1:0", "--tls-cert", "C", "--tls-key", "C"],
     1, r"cannot load the TLS key"),
])
def test_bad_tls_options(pair, args, code, why):
    args = [pair[0] if a == "C" else pair[1] if a == "K" else a for a in args]
    p = subprocess.run([binary("chatd"), "--profile", "chat"] + args,
                       capture_output=True, text=True, timeout=10 * SLOW)
    assert p.returncode == code, p.stderr
    assert re.search(why, p.stderr), p.stderr


def test_ircs_needs_the_chat_profile(pair):
    p = subprocess.run([binary("chatd"), "--listen", "ircs://127.0.0.1:0",
                        "--tls-cert", pair[0], "--tls-key", pair[1]],
                       capture_output=True, text=True, timeout=10 * SLOW)
    assert p.returncode == 2
    assert "cannot serve 'ircs://'" in p.stderr
