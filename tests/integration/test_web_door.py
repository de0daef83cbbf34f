"""The chat profile's web door: HTTP answers, /metrics read by a real
Prometheus parser, WebSocket users of both subprotocols in the same rooms
as nc and IRC users, a conformance set after the Autobahn|Testsuite case
list (framing, pings, reserved bits, opcodes, fragmentation, UTF-8,
limits, close codes), bad input, and the page in a real browser."""
import base64
import os
import re
import select
import socket
import struct
import time

import pytest

from helpers import SLOW, Server, connect

CRLF = b"\r\n"


def chatd(extra=()):
    srv = Server(["--profile", "chat", "--listen", "irc://127.0.0.1:0",
                  "--listen", "http://127.0.0.1:0"] + list(extra))
    srv.err.wait_for(r"(listening on 127\.0\.0\.1:\d+.*\n.*){3}", start=0)
    ports = re.findall(r"listening on 127\.0\.0\.1:(\d+)", srv.err.text())
    srv.line_port, srv.irc_port, srv.http_port = map(int, ports[:3])
    return srv


def http(port, request, until=None):
    """Send request bytes; return the whole answer (the server closes), or
    what came up to until."""
    s = connect(port)
    s.sendall(request)
    data = b""
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline and (until is None or until not in data):
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return data


def get(port, path, headers="", until=None):
    return http(port, ("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                       % (path, headers)).encode(), until)


# --- a WebSocket client small enough to send anything ---------------------

class Ws:
    def __init__(self, port, protocol=None):
        self.s = connect(port)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = ("Sec-WebSocket-Protocol: %s\r\n" % protocol
                 if protocol else "")
        self.s.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n%s\r\n"
                        % (key, extra)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert self.head.startswith(b"HTTP/1.1 101 "), self.head

    def _fill(self):
        self.s.settimeout(5 * SLOW)
        d = self.s.recv(65536)
        if not d:
            raise EOFError("closed")
        self.buf += d

    def raw(self, data):
        self.s.sendall(data)

    def frame(self, op, payload=b"", fin=True, rsv=0, mask=True):
        if isinstance(payload, str):
            payload = payload.encode()
        b0 = (0x80 if fin else 0) | (rsv << 4) | op
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, m | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, m | 126, n)
        else:
            head = struct.pack("!BBQ", b0, m | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
            head += key
        self.raw(head + payload)

    def text(self, t):
        self.frame(1, t)

    def recv(self):
        """The next frame: (opcode, payload)."""
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                assert not (b1 & 0x80), "server frames are not masked"
                n, off = b1 & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
                if n < 126 or off > 2:
                    if len(self.buf) >= off + n:
                        assert b0 & 0x80, "the server sends whole frames"
                        p = self.buf[off:off + n]
                        self.buf = self.buf[off + n:]
                        return b0 & 0x0F, p
            self._fill()

    def expect(self, pattern):
        """Text frames until one matches; return it."""
        while True:
            op, p = self.recv()
            if op == 1 and re.search(pattern, p.decode()):
                return p.decode()

    def closed_with(self, code):
        """The server's close frame carries code, then the socket ends."""
        while True:
            try:
                op, p = self.recv()
            except EOFError:
                raise AssertionError("no close frame")
            if op == 8:
                got = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None
                assert got == code, (got, p)
                break
        with pytest.raises(EOFError):
            while True:
                self._fill()


class Line:
    def __init__(self, port, nick):
        self.s = connect(port)
        self.buf = b""
        self.s.sendall(b"/nick %s\n" % nick.encode())
        self.expect(r"is now known as %s$" % nick)

    def say(self, t):
        self.s.sendall(t.encode() + b"\n")

    def expect(self, pattern):
        rx = re.compile(pattern)
        deadline = time.monotonic() + 5 * SLOW
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if rx.search(line.decode()):
                    return line.decode()
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            d = self.s.recv(65536)
            assert d, "closed"
            self.buf += d


def lobby_ws(port, nick):
    """A line-protocol WebSocket user called nick, in #lobby."""
    w = Ws(port)
    w.expect(r"^Welcome")
    w.text("/nick " + nick)
    w.expect(r"is now known as %s$" % nick)
    return w


# --- HTTP ------------------------------------------------------------------

def test_page_health_and_errors():
    with chatd() as srv:
        page = get(srv.http_port, "/")
        assert page.startswith(b"HTTP/1.1 200 OK\r\n")
        head, body = page.split(b"\r\n\r\n", 1)
        assert b"Content-Type: text/html; charset=utf-8" in head
        assert b"Content-Security-Policy: " in head
        assert int(re.search(rb"Content-Length: (\d+)", head).group(1)) == \
            len(body)
        assert body.startswith(b"<!DOCTYPE html>")
        assert b"<script src=" not in body and b"<link " not in body
        assert get(srv.http_port, "/healthz").endswith(b"\r\n\r\nok\n")
        assert get(srv.http_port, "/nope").startswith(b"HTTP/1.1 404 ")
        assert http(srv.http_port, b"POST / HTTP/1.1\r\n\r\n").startswith(
            b"HTTP/1.1 405 ")
        assert http(srv.http_port, b"GET / HTTP/2.0\r\n\r\n").startswith(
            b"HTTP/1.1 505 ")
        assert http(srv.http_port, b"GET /\x01 HTTP/1.1\r\n\r\n").startswith(
            b"HTTP/1.1 400 ")
        big = b"GET / HTTP/1.1\r\n" + b"X-A: " + b"a" * 9000 + b"\r\n\r\n"
        assert http(srv.http_port, big).startswith(b"HTTP/1.1 431 ")
        # An endless header: refused once past the limit, not stored.
        s = connect(srv.http_port)
        s.sendall(b"GET / HTTP/1.1\r\nX-Long: ")
        for _ in range(200):            # until the answer is there
            if select.select([s], [], [], 0.01)[0]:
                break
            s.sendall(b"y" * 100)
        assert s.recv(4096).startswith(b"HTTP/1.1 431 ")
        # Endless header fields: the 33rd is one too many.
        s = connect(srv.http_port)
        s.sendall(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 40)
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")
        # A plain GET /ws (no upgrade) is told what it needs.
        r = get(srv.http_port, "/ws")
        assert r.startswith(b"HTTP/1.1 426 ") and b"Upgrade: websocket" in r
        r = get(srv.http_port, "/ws", "Upgrade: websocket\r\nConnection: "
                "Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: "
                "dGhlIHNhbXBsZSBub25jZQ==\r\n")
        assert r.startswith(b"HTTP/1.1 426 ")
        assert b"Sec-WebSocket-Version: 13" in r
        assert srv.alive()


def test_handshake_accept_key_from_rfc_6455():
    with chatd() as srv:
        r = get(srv.http_port, "/ws", "Upgrade: websocket\r\nConnection: "
                "keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                until=b"\r\n\r\n")
        assert r.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in r


def test_metrics_parse_with_prometheus_client():
    from prometheus_client.parser import text_string_to_metric_families
    with chatd() as srv:
        a = Line(srv.line_port, "ann")
        w = lobby_ws(srv.http_port, "wes")
        a.say("hello")
        w.expect(r"^ann: hello$")
        body = get(srv.http_port, "/metrics").split(b"\r\n\r\n", 1)[1]
        fams = {f.name: f for f in
                text_string_to_metric_families(body.decode())}
        doors = {s.labels["door"]: s.value
                 for s in fams["chatd_connections"].samples}
        assert doors["web"] >= 2 and doors["chat"] == 1 and doors["irc"] == 0
        for name in ("chatd_connections_accepted", "chatd_deliveries",
                     "chatd_received_bytes", "chatd_sent_bytes",
                     "chatd_messages_received", "chatd_loop_passes"):
            assert fams[name].type == "counter", name
            assert fams[name].samples[0].value > 0, name
        reasons = {s.labels["reason"]
                   for s in fams["chatd_connections_closed"].samples}
        assert {"peer", "idle", "ping_timeout", "overflow"} <= reasons
        assert fams["chatd_users"].samples[0].value == 2
        assert fams["chatd_rooms"].samples[0].value == 1
        assert "chatd_loop_longest_pass_seconds" in fams


# --- WebSocket users among the others --------------------------------------

def test_websocket_line_users_with_nc_and_irc():
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        w = lobby_ws(srv.http_port, "wes")
        line.expect(r"^\*\*\* guest\d+ is now known as wes$")
        irc = socket.create_connection(("127.0.0.1", srv.irc_port))
        irc.sendall(b"NICK ian\r\nUSER ian 0 * :Ian\r\nJOIN #lobby\r\n")
        w.expect(r"^\*\*\* ian joined #lobby$")
        line.say("hi all")
        w.expect(r"^lina: hi all$")
        w.text("hello from the browser")
        line.expect(r"^wes: hello from the browser$")
        w.expect(r"^wes: hello from the browser$")      # its own comes back
        w.text("/me waves")
        line.expect(r"^\* wes waves$")
        data = b""
        while b"ACTION waves" not in data:
            data += irc.recv(65536)
        assert b":wes!wes@127.0.0.1 PRIVMSG #lobby :\x01ACTION waves\x01" \
            in data
        # Two lines in one message are two lines.
        w.text("one\ntwo")
        line.expect(r"^wes: one$")
        line.expect(r"^wes: two$")
        w.text("/quit bye")
        line.expect(r"^\*\*\* wes quit \(bye\)$")


def test_websocket_irc_subprotocol():
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        w = Ws(srv.http_port, "text.ircv3.net")
        assert b"Sec-WebSocket-Protocol: text.ircv3.net" in w.head
        w.text("NICK wirc")
        w.text("USER wirc 0 * :Web IRC")
        w.expect(r" 001 wirc ")
        w.text("JOIN #lobby")
        w.expect(r" 366 wirc #lobby ")
        line.expect(r"^\*\*\* wirc joined #lobby$")
        line.say("hi irc")
        assert w.expect(r"PRIVMSG") == \
            ":lina!lina@127.0.0.1 PRIVMSG #lobby :hi irc"
        w.text("PRIVMSG #lobby :hi line")
        line.expect(r"^wirc: hi line$")
        w.text("PING :x")
        w.expect(r"PONG \S+ :x$")
        w.text("QUIT :done")
        line.expect(r"^\*\*\* wirc quit \(Quit: done\)$")


def test_one_framed_copy_per_websocket_format():
    """Many WebSocket members: each gets the same bytes for a message,
    and the server sends each its frame (nothing re-encoded per client is
    visible, but every copy is identical and whole)."""
    with chatd() as srv:
        ws = [lobby_ws(srv.http_port, "w%d" % i) for i in range(20)]
        line = Line(srv.line_port, "lina")
        line.say("x" * 300)
        for w in ws:
            assert w.expect(r"^lina: ") == "lina: " + "x" * 300


# --- conformance, after the Autobahn case list --------------------------

def test_pings_fragments_and_clean_close():
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        w = lobby_ws(srv.http_port, "wes")
        w.frame(9, b"ping payload")                     # 2.x: ping
        while True:
            op, p = w.recv()
            if op == 10:
                assert p == b"ping payload"
                break
        w.frame(10, b"unsolicited")                      # 2.x: lone pong
        w.frame(1, "frag", fin=False)                    # 5.x: fragments
        w.frame(9, b"in between")                        # with a ping
        w.frame(0, "mented ", fin=False)
        w.frame(0, "text", fin=True)
        line.expect(r"^wes: fragmented text$")
        w.frame(1, "caf\xe9 \u263a")                     # 6.x: valid UTF-8
        line.expect("^wes: caf\u00e9 \u263a$")
        w.frame(8, struct.pack("!H", 1000) + b"bye")     # 7.x: close
        w.closed_with(1000)
        line.expect(r"^\*\*\* wes quit")


@pytest.mark.parametrize("case,code", [
    ("rsv", 1002), ("opcode", 1002), ("unmasked", 1002),
    ("big_control", 1002), ("fragmented_control", 1002),
    ("huge_length", 1002), ("lone_continuation", 1002),
    ("nested_message", 1002), ("bad_utf8", 1007), ("bad_utf8_split", 1007),
    ("too_big", 1009), ("binary", 1003), ("close_1_byte", 1002),
    ("close_bad_code", 1002), ("close_mid_fragment", 1000),
])
def test_bad_frames_close_that_client_alone(case, code):
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        other = lobby_ws(srv.http_port, "ok")
        w = lobby_ws(srv.http_port, "bad")
        if case == "rsv":
            w.frame(1, "x", rsv=1)
        elif case == "opcode":
            w.frame(3, "x")
        elif case == "unmasked":
            w.frame(1, "x", mask=False)
        elif case == "big_control":
            w.frame(9, b"p" * 126)
        elif case == "fragmented_control":
            w.frame(9, b"p", fin=False)
        elif case == "huge_length":
            w.raw(b"\x81\xff" + struct.pack("!Q", 1 << 63) + b"mask")
        elif case == "lone_continuation":
            w.frame(0, "x")
        elif case == "nested_message":
            w.frame(1, "a", fin=False)
            w.frame(1, "b")
        elif case == "bad_utf8":
            w.frame(1, b"ok \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
                    b"\xed\xa0\x80edited")
        elif case == "bad_utf8_split":
            w.frame(1, b"ok \xf0\x90", fin=False)
            w.frame(0, b"\x80", fin=True)                # cut off at the end
        elif case == "too_big":
            w.frame(1, "x" * (16 * 1024 + 1))
        elif case == "binary":
            w.frame(2, b"\x00\x01")
        elif case == "close_1_byte":
            w.frame(8, b"\x03")
        elif case == "close_bad_code":
            w.frame(8, struct.pack("!H", 1005))
        elif case == "close_mid_fragment":
            w.frame(1, "half", fin=False)
            w.frame(8, struct.pack("!H", 1000))
        w.closed_with(code)
        line.expect(r"^\*\*\* bad quit")
        line.say("still here")
        other.expect(r"^lina: still here$")
        assert srv.alive()


def test_many_half_open_upgrades_cost_the_others_nothing():
    """Connections that start a request head and stop: everyone else
    carries on, and the server's memory stays bounded."""
    with chatd() as srv:
        w = lobby_ws(srv.http_port, "wes")
        line = Line(srv.line_port, "lina")
        rss0 = srv.rss_kib()
        half = []
        for _ in range(500):
            s = connect(srv.http_port)
            s.sendall(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n")
            half.append(s)
        line.say("through the crowd")
        w.expect(r"^lina: through the crowd$")
        assert srv.rss_kib() - rss0 < 500 * 8, "over 8 KiB per half-open"
        for s in half:
            s.close()
        assert srv.alive()


# --- a real browser --------------------------------------------------------

def test_the_page_in_chromium_chats_with_nc(tmp_path):
    web_driver = pytest.importorskip("web_driver")
    if web_driver.find_chromium() is None:
        pytest.skip("chromium is not installed")
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        url = "http://127.0.0.1:%d/" % srv.http_port
        with web_driver.Browser(width=1280, height=800) as b, \
                web_driver.Browser(width=390, height=844, mobile=True) as b2:
            b.navigate(url)
            b.type_and_enter("alice", selector="#nick")
            line.expect(r"^\*\*\* alice joined #lobby$")
            b.wait_for_text("lina", selector="#memberlist")
            line.say("hello <img src=x onerror=alert(1)> browser")
            b.wait_for_text("hello <img src=x onerror=alert(1)> browser")
            assert b.evaluate("document.querySelectorAll('#logs img')"
                              ".length") == 0
            b.type_and_enter("hi from chromium")
            line.expect(r"^alice: hi from chromium$")
            b2.navigate(url)
            b2.type_and_enter("bob", selector="#nick")
            b.wait_for_text("bob", selector="#memberlist")
            line.expect(r"^\*\*\* bob joined #lobby$")
            b.screenshot(str(tmp_path / "desktop.png"))
            b2.screenshot(str(tmp_path / "phone.png"))
            assert os.path.getsize(tmp_path / "desktop.png") > 10000
            assert not b.errors and not b2.errors, (b.errors, b2.errors)
