"""The chat profile's line door: SPEC.md, profile `chat`.

Real chatd, real sockets, several line clients in several rooms.  Every
line a client receives is checked whole; each Client keeps everything it
received, so a test can scan a session afterwards."""
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from helpers import (BACKENDS, SLOW, Server, Stream, binary, connect,
                     recv_closed)

LINE_MAX = 510          # an IRC line is 512 bytes with its CRLF


class ChatServer(Server):
    """Stopped by SIGTERM at the end of its with block, it must exit 0
    (under valgrind: no error, no leak)."""

    def __exit__(self, exc_type, *exc):
        if self.alive():
            rc = self.stop()
            if exc_type is None:
                assert rc == 0, "chatd exited %d:\n%s" % (
                    rc, self.err.text()[-3000:])


def chatd(*args, backend=None, log=None):
    """A chat-profile chatd on an ephemeral port."""
    a = ["--profile", "chat"] + list(args)
    if backend is not None:
        a += ["--backend", backend]
    if log is not None:
        a += ["--log", log]
    return ChatServer(a)


class Client:
    """A line client of the chat profile.  Lines come back as str (the
    server must send valid UTF-8: decoding is strict) without the LF."""

    def __init__(self, port, motd=0, topic=None, members=None):
        self.s = connect(port)
        self.buf = b""
        self.pos = 0
        self.got = []           # every line received, in order
        welcome = self.line()
        assert welcome.startswith("Welcome"), welcome
        assert "/help" in welcome, welcome
        m = re.search(r"\b(guest\d+)\b", welcome)
        assert m, welcome
        self.nick = m.group(1)
        self.motd = self.lines(motd)
        self.expect("*** %s joined #lobby" % self.nick)
        t = self.line()
        if topic is None:
            assert t == "*** #lobby has no topic", t
        else:
            assert t == "*** topic of #lobby: %s" % topic, t
        n = self.line()
        m = re.fullmatch(r"\*\*\* #lobby has (\d+) members?", n)
        assert m, n
        self.members = int(m.group(1))
        assert n.endswith("member" if self.members == 1 else "members"), n
        if members is not None:
            assert self.members == members, n
        self.greeting_end = len(self.got)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def say(self, *lines):
        self.send("".join(x + "\n" for x in lines))

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("%s: timed out; pending %r; last lines %r"
                                 % (self.nick, self.buf[self.pos:][-300:],
                                    self.got[-5:]))
        self.s.settimeout(left)
        try:
            chunk = self.s.recv(1 << 20)
        except socket.timeout:
            chunk = None
        if chunk == b"":
            raise AssertionError("%s: connection closed; pending %r; last "
                                 "lines %r" % (self.nick, self.buf[self.pos:],
                                               self.got[-5:]))
        if chunk:
            if self.pos > 1 << 16:
                self.buf = self.buf[self.pos:]
                self.pos = 0
            self.buf += chunk

    def raw_line(self, timeout=5.0):
        deadline = time.monotonic() + timeout * SLOW
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                raw = self.buf[self.pos:i]
                self.pos = i + 1
                return raw
            self._fill(deadline)

    def line(self, timeout=5.0):
        raw = self.raw_line(timeout)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError("not UTF-8: %r" % raw)
        self.got.append(text)
        return text

    def lines(self, n, timeout=5.0):
        return [self.line(timeout) for _ in range(n)]

    def expect(self, *want):
        got = self.lines(len(want))
        assert got == list(want), "%s received %r" % (self.nick, got)

    def quiet(self, tag="sync"):
        """Nothing more has arrived: the reply to an unknown command (to
        this client alone) is the very next line."""
        self.say("/" + tag)
        self.expect("*** error: unknown command /%s (try /help)" % tag)

    def until_sync(self, tag="sync"):
        """The lines that arrive before the reply to an unknown command."""
        self.say("/" + tag)
        out = []
        while True:
            x = self.line()
            if x == "*** error: unknown command /%s (try /help)" % tag:
                return out
            out.append(x)

    def closed(self):
        """Everything up to the server's close, as lines."""
        rest = self.buf[self.pos:] + recv_closed(self.s)
        self.pos = len(self.buf)
        return [x.decode("utf-8") for x in rest.split(b"\n")[:-1]]

    def rename(self, nick, *others):
        """/nick: self and each of others see it once."""
        old = self.nick
        self.say("/nick " + nick)
        for c in (self,) + others:
            c.expect("*** %s is now known as %s" % (old, nick))
        self.nick = nick

    def join(self, room, *members):
        """/join a room self is not in: the members there see it."""
        self.say("/join " + room)
        for c in (self,) + members:
            c.expect("*** %s joined %s" % (self.nick, room))
        self.lines(2)                       # its topic and member count

    def close(self):
        self.s.close()


def crowd(srv, n, **kw):
    """n clients in #lobby, each having seen the later ones join."""
    cs = []
    for _ in range(n):
        c = Client(srv.port, **kw)
        for o in cs:
            o.expect("*** %s joined #lobby" % c.nick)
        cs.append(c)
    return cs


def all_quiet(*cs):
    for c in cs:
        c.quiet()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


# --- connecting -----------------------------------------------------------

def test_welcome_join_topic_and_count(backend):
    with chatd(backend=backend) as srv:
        a = Client(srv.port, members=1)
        assert a.nick == "guest1"
        assert a.got[0].startswith("Welcome") and "guest1" in a.got[0]
        assert a.got[1:] == ["*** guest1 joined #lobby",
                             "*** #lobby has no topic",
                             "*** #lobby has 1 member"]
        b = Client(srv.port, members=2)
        assert b.nick == "guest2"
        assert b.got[1:] == ["*** guest2 joined #lobby",
                             "*** #lobby has no topic",
                             "*** #lobby has 2 members"]
        a.expect("*** guest2 joined #lobby")
        all_quiet(a, b)


def test_motd_after_welcome_with_controls_removed(tmp_path):
    motd = tmp_path / "motd"
    motd.write_bytes(b"Welcome to the \x1b[31mtest\x1b[0m chat\r\n"
                     b"bell\x07 and nul\x00 gone, \ttab kept\n"
                     b"\n"
                     b"\x02bold\x02 \x0304,12colour\x03 \xc2\x9bc1 bad\xff\n"
                     b"last line without LF")
    with chatd("--motd", str(motd)) as srv:
        a = Client(srv.port, motd=5)
        assert a.motd == ["Welcome to the [31mtest[0m chat",
                          "bell and nul gone, \ttab kept",
                          "",
                          "bold colour c1 bad\ufffd",
                          "last line without LF"]
        b = Client(srv.port, motd=5)
        assert b.motd == a.motd
        a.expect("*** guest2 joined #lobby")    # the MOTD is the joiner's
        all_quiet(a, b)


def test_missing_motd_is_an_error(tmp_path):
    path = str(tmp_path / "no-such-motd")
    r = subprocess.run([binary("chatd"), "--profile", "chat", "--listen",
                        "127.0.0.1:0", "--motd", path],
                       capture_output=True, text=True, timeout=10 * SLOW)
    assert r.returncode == 1
    assert path in r.stderr and "No such file or directory" in r.stderr
    assert "MOTD" in r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr


# --- plain lines ------------------------------------------------------------

def test_plain_lines_current_and_away(backend):
    with chatd(backend=backend) as srv:
        a, b, c = crowd(srv, 3)
        b.join("#side")
        a.say("hello all")
        for x in (a, c):
            x.expect("guest1: hello all")
        b.expect("[#lobby] guest1: hello all")
        b.say("on the side")
        b.expect("guest2: on the side")
        c.join("#side", b)
        b.say("two here")
        b.expect("guest2: two here")
        c.expect("guest2: two here")
        a.say("lobby again")
        a.expect("guest1: lobby again")
        b.expect("[#lobby] guest1: lobby again")
        c.expect("[#lobby] guest1: lobby again")
        all_quiet(a, b, c)


def test_own_lines_come_back_in_order_lf_and_crlf(backend):
    with chatd(backend=backend) as srv:
        a, b = crowd(srv, 2)
        a.send(b"one\ntwo\r\nthree\r\n")
        a.send(b"fo")
        time.sleep(0.05)
        a.send(b"ur\r")
        time.sleep(0.05)
        a.send(b"\n")
        for x in (a, b):
            x.expect("guest1: one", "guest1: two", "guest1: three",
                     "guest1: four")
            assert b"\r" not in x.buf
        all_quiet(a, b)


# --- /nick ------------------------------------------------------------------

def test_nick_rules():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.rename("alice", b)
        bad = [
            ("/nick ALICE", "*** error: nickname ALICE is taken"),
            ("/nick Alice", "*** error: nickname Alice is taken"),
            ("/nick " + "x" * 31, "*** error: bad nickname '%s': a nickname "
             "has at most 30 characters" % ("x" * 31)),
            ("/nick 9lives", "*** error: bad nickname '9lives': a nickname "
             "cannot start with a digit or '-'"),
            ("/nick -dash", "*** error: bad nickname '-dash': a nickname "
             "cannot start with a digit or '-'"),
            ("/nick a.b", "*** error: bad nickname 'a.b': a nickname has only "
             "letters, digits and - _ [ ] \\ ` ^ { } |"),
            ("/nick caf\u00e9", "*** error: bad nickname 'caf\u00e9': a "
             "nickname has only letters, digits and - _ [ ] \\ ` ^ { } |"),
            ("/nick a@b", "*** error: bad nickname 'a@b': a nickname has only "
             "letters, digits and - _ [ ] \\ ` ^ { } |"),
            ("/nick", "*** error: usage: /nick NAME"),
        ]
        for cmd, err in bad:
            b.say(cmd)
            b.expect(err)
        a.quiet()
        b.say("/who")
        b.expect("*** #lobby: @alice guest2")      # nothing changed
        b.rename("x" * 30, a)                      # 30 is fine
        b.rename("_[]\\`^{}|-9", a)                # every special character
        a.rename("ALICE", b)                       # case only: allowed
        b.say("/nick alice")
        b.expect("*** error: nickname alice is taken")
        a.say("/who")
        a.expect("*** #lobby: @ALICE _[]\\`^{}|-9")
        all_quiet(a, b)


def test_rename_seen_once_by_users_sharing_several_rooms():
    with chatd() as srv:
        a, b, c, d = crowd(srv, 4)
        for room in ("#one", "#two"):
            a.join(room)
            b.join(room, a)
        d.join("#far")
        d.say("/part #lobby")
        for x in (a, b, c, d):
            x.expect("*** guest4 left #lobby")
        a.rename("alice", b, c)       # b shares three rooms, c one, d none
        all_quiet(a, b, c, d)
        a.say("/who #two")
        a.expect("*** #two: @alice guest2")


# --- /join ------------------------------------------------------------------

def test_join_creates_and_switches():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.say("/join #new")
        a.expect("*** guest1 joined #new", "*** #new has no topic",
                 "*** #new has 1 member")
        a.say("/who")
        a.expect("*** #new: @guest1")
        b.say("/join new")                          # '#' added
        b.expect("*** guest2 joined #new", "*** #new has no topic",
                 "*** #new has 2 members")
        a.expect("*** guest2 joined #new")
        b.say("/who #new")
        b.expect("*** #new: @guest1 guest2")
        b.say("/join #lobby")
        b.expect("*** now talking in #lobby")
        a.quiet()                                   # not news to anyone
        b.say("back in the lobby")
        b.expect("guest2: back in the lobby")
        a.expect("[#lobby] guest2: back in the lobby")
        b.say("/JOIN #NEW")                         # names ignore case
        b.expect("*** now talking in #new")
        b.say("new again")
        a.expect("guest2: new again")
        b.expect("guest2: new again")
        ok = "#" + "r" * 49                          # 50 bytes: the longest
        a.say("/join " + ok)
        a.expect("*** guest1 joined " + ok, "*** %s has no topic" % ok,
                 "*** %s has 1 member" % ok)
        a.say("/join " + "s" * 49)
        a.expect("*** guest1 joined #" + "s" * 49)
        a.lines(2)
        a.say("/join #\u65e5\u672c")                # UTF-8 is fine
        a.expect("*** guest1 joined #\u65e5\u672c")
        a.lines(2)
        all_quiet(a, b)


@pytest.mark.parametrize("name", ["#a,b", "#a:b", "#a\tb", "#", "#" + "x" * 50,
                                  ",", ":x"])
def test_join_bad_room_names(name):
    with chatd() as srv:
        a, b = crowd(srv, 2)
        shown = name if name.startswith("#") else "#" + name
        a.say("/join " + name)
        a.expect("*** error: bad room name '%s' (# and 1-49 characters, "
                 "no spaces, commas or colons)" % shown)
        a.say("/rooms")
        a.expect("*** #lobby (2)")
        a.say("still in the lobby")
        a.expect("guest1: still in the lobby")
        b.expect("guest1: still in the lobby")
        all_quiet(a, b)


def test_join_never_makes_a_room_with_a_space_or_control():
    """A space ends the word on the line door; a control character other
    than TAB never reaches the name (it is removed from the line)."""
    with chatd() as srv:
        a = Client(srv.port)
        a.say("/join #a b")
        first = a.line()
        assert first in ("*** guest1 joined #a",) or \
            first.startswith("*** error: "), first
        if not first.startswith("*** error: "):
            a.lines(2)
        a.send(b"/join #c\x07d\x1b\n")
        first = a.line()
        assert first in ("*** guest1 joined #cd",) or \
            first.startswith("*** error: "), first
        if not first.startswith("*** error: "):
            a.lines(2)
        a.quiet()
        a.say("/rooms")
        rooms = a.until_sync()
        for x in rooms:
            name = re.fullmatch(r"\*\*\* (#\S+) \(\d+\)", x)
            assert name, x
            assert not re.search(r"[\x00-\x20\x7f,:]", name.group(1)), x


def test_join_usage():
    with chatd() as srv:
        a = Client(srv.port)
        a.say("/join")
        a.expect("*** error: usage: /join #room [key]")
        a.quiet()


# --- /part ------------------------------------------------------------------

def test_part():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.join("#x")
        b.join("#x", a)
        a.say("/part")                              # the current room: #x
        a.expect("*** guest1 left #x")
        b.expect("*** guest1 left #x")
        a.say("/who")
        a.expect("*** #lobby: @guest1 guest2")      # current is #lobby now
        a.say("/part #x")
        a.expect("*** error: you are not in #x")
        a.say("/part #nope")
        a.expect("*** error: no such room #nope")
        b.say("/part #x bye for now")               # leaves #x empty
        b.expect("*** guest2 left #x (bye for now)")
        b.say("/rooms")
        b.expect("*** #lobby (2)")
        b.say("/part #X")
        b.expect("*** error: no such room #X")
        a.say("/part see you later")                # reason, current room
        a.expect("*** guest1 left #lobby (see you later)")
        b.expect("*** guest1 left #lobby (see you later)")
        a.say("/part")
        a.expect("*** error: you are in no room (try /join #lobby)")
        a.say("anyone?")
        a.expect("*** error: you are in no room (try /join #lobby)")
        all_quiet(a, b)


def test_current_room_after_part_is_the_newest_other():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.join("#a")
        a.join("#b")
        a.join("#c")
        a.say("/join #a")
        a.expect("*** now talking in #a")
        a.say("/part")
        a.expect("*** guest1 left #a")
        a.say("/who")
        a.expect("*** #c: @guest1")                 # the newest of c, b, lobby
        a.say("/part #c")
        a.expect("*** guest1 left #c")
        a.say("hi b")
        a.expect("guest1: hi b")
        a.say("/part #b")
        a.expect("*** guest1 left #b")
        a.say("hi lobby")
        a.expect("guest1: hi lobby")
        b.expect("guest1: hi lobby")
        a.say("/rooms")
        a.expect("*** #lobby (2)")
        all_quiet(a, b)


# --- /msg, /me --------------------------------------------------------------

def test_msg():
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        b.join("#elsewhere")
        b.say("/part #lobby")
        for x in (a, b, c):
            x.expect("*** guest2 left #lobby")
        a.say("/msg guest2 psst, a secret")       # no room in common
        a.expect("-> *guest2* psst, a secret")
        b.expect("*guest1* psst, a secret")
        b.rename("Bob")
        a.say("/msg BOB  two  spaces ")
        a.expect("-> *Bob* two  spaces ")
        b.expect("*guest1* two  spaces ")
        a.say("/msg nobody hello")
        a.expect("*** error: no such nick nobody")
        a.say("/msg Bob")
        a.expect("*** error: usage: /msg NICK text")
        a.say("/msg")
        a.expect("*** error: usage: /msg NICK text")
        all_quiet(a, b, c)


def test_me():
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        c.join("#other")
        a.say("/me waves at everyone")
        a.expect("* guest1 waves at everyone")
        b.expect("* guest1 waves at everyone")
        c.expect("[#lobby] * guest1 waves at everyone")
        a.say("/me")
        a.expect("*** error: usage: /me text")
        all_quiet(a, b, c)


# --- /who, /rooms, /topic ---------------------------------------------------

def test_who():
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        c.join("#c")
        b.join("#c", c)
        for x in (a, b):
            x.say("/who #lobby")
            x.expect("*** #lobby: @guest1 guest2 guest3")
        a.say("/who #C")
        a.expect("*** #c: @guest3 guest2")
        b.say("/who")
        b.expect("*** #c: @guest3 guest2")
        a.say("/who c")
        a.expect("*** #c: @guest3 guest2")
        a.say("/who #nope")
        a.expect("*** error: no such room #nope")
        all_quiet(a, b, c)


def test_who_wraps_a_long_list():
    with chatd(log="quiet") as srv:
        cs = crowd(srv, 24)
        for i, c in enumerate(cs):
            c.rename("n%02d" % i + "x" * 27, *[o for o in cs if o is not c])
        cs[0].say("/who")
        lines = cs[0].until_sync()
        assert len(lines) >= 2
        names = []
        for line in lines:
            assert len(line) + 1 <= LINE_MAX and line.startswith("*** #lobby: ")
            names += line[len("*** #lobby: "):].split(" ")
        assert names == ["@" + cs[0].nick] + [c.nick for c in cs[1:]]


def test_rooms_sorted_with_counts_and_topics():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        for room in ("#zeta", "#Mid", "#alpha"):
            a.join(room)
        b.join("#alpha", a)
        a.say("/topic #alpha the first room")
        for x in (a, b):
            x.expect("*** guest1 set the topic of #alpha: the first room")
        for x in (a, b):
            x.say("/rooms")
            x.expect("*** #alpha (2) the first room", "*** #lobby (2)",
                     "*** #Mid (1)", "*** #zeta (1)")
        all_quiet(a, b)


def test_topic():
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        a.join("#t")
        b.join("#t", a)
        a.say("/topic")
        a.expect("*** #t has no topic")
        a.say("/topic  Friday: \u00e9t\u00e9 party ")
        for x in (a, b):
            x.expect("*** guest1 set the topic of #t: Friday: \u00e9t\u00e9 "
                     "party ")
        b.say("/topic")
        b.expect("*** topic of #t: Friday: \u00e9t\u00e9 party ")
        c.say("/topic #t")                          # anyone may look
        c.expect("*** topic of #t: Friday: \u00e9t\u00e9 party ")
        c.say("/topic #t hijacked")
        c.expect("*** error: you are not in #t")
        c.say("/topic #nope x")
        c.expect("*** error: no such room #nope")
        b.say("/topic #lobby lobby topic")           # by name, from elsewhere
        for x in (a, b, c):
            x.expect("*** guest2 set the topic of #lobby: lobby topic")
        c.join("#t", a, b)
        assert c.got[-2:] == ["*** topic of #t: Friday: \u00e9t\u00e9 party ",
                              "*** #t has 3 members"]
        d = Client(srv.port, topic="lobby topic")
        for x in (a, b, c):
            x.expect("*** %s joined #lobby" % d.nick)
        d.say("/rooms")
        d.expect("*** #lobby (4) lobby topic", "*** #t (3) Friday: "
                 "\u00e9t\u00e9 party ")
        all_quiet(a, b, c, d)


# --- /quit, /help, the rest -------------------------------------------------

def test_quit(backend):
    with chatd(backend=backend) as srv:
        a, b, c = crowd(srv, 3)
        a.join("#x")
        b.join("#x", a)
        a.say("/quit going home")
        rest = a.closed()
        assert rest and all(x.startswith("*** ") for x in rest), rest
        for x in (b, c):
            x.expect("*** guest1 quit (going home)")   # b once, for 2 rooms
        b.say("/who #x")
        b.expect("*** #x: guest2")
        b.say("/QUIT")
        b.closed()
        line = c.line()
        assert re.fullmatch(r"\*\*\* guest2 quit( \(.*\))?", line), line
        c.rename("guest1")                          # free again
        c.quiet()


def test_help():
    with chatd() as srv:
        a = Client(srv.port)
        a.say("/help")
        lines = a.until_sync()
        assert len(lines) > 1
        assert all(x.startswith("*** ") for x in lines), lines
        text = "\n".join(lines)
        for cmd in ("/nick", "/join", "/part", "/msg", "/me", "/who",
                    "/rooms", "/topic", "/quit", "/help"):
            assert cmd + " " in text, cmd
        a.say("/HeLp")
        assert a.lines(len(lines)) == lines


def test_unknown_command_case_and_slash_slash():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.say("/frobnicate now")
        a.expect("*** error: unknown command /frobnicate (try /help)")
        a.say("/NICK alice")
        for x in (a, b):
            x.expect("*** guest1 is now known as alice")
        a.say("//text")
        for x in (a, b):
            x.expect("alice: /text")
        a.say("// two slashes")
        for x in (a, b):
            x.expect("alice: / two slashes")
        a.say("/Me /bows")
        for x in (a, b):
            x.expect("* alice /bows")
        all_quiet(a, b)


ERRORS = [
    ("/nick guest2", "*** error: nickname guest2 is taken"),
    ("/nick 0x", "*** error: bad nickname '0x': a nickname cannot start with "
     "a digit or '-'"),
    ("/join #a:b", "*** error: bad room name '#a:b' (# and 1-49 characters, "
     "no spaces, commas or colons)"),
    ("/part #nope", "*** error: no such room #nope"),
    ("/part #x", "*** error: you are not in #x"),
    ("/msg nobody hi", "*** error: no such nick nobody"),
    ("/msg guest2", "*** error: usage: /msg NICK text"),
    ("/me", "*** error: usage: /me text"),
    ("/who #nope", "*** error: no such room #nope"),
    ("/topic #x mine", "*** error: you are not in #x"),
    ("/topic #nope t", "*** error: no such room #nope"),
    ("/bogus", "*** error: unknown command /bogus (try /help)"),
    ("/", "*** error: unknown command / (try /help)"),
]


def test_errors_go_to_that_client_alone_and_change_nothing():
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        c.join("#x")
        c.say("/topic the x topic")
        c.expect("*** guest3 set the topic of #x: the x topic")

        def state():
            b.say("/rooms", "/who #lobby", "/who #x", "/topic #x")
            return b.until_sync()

        before = state()
        for cmd, err in ERRORS:
            a.say(cmd)
            a.expect(err)
            a.say("/who")                           # still connected
            a.expect("*** #lobby: @guest1 guest2 guest3")
        assert state() == before
        all_quiet(a, b, c)


def test_after_the_greeting_every_server_line_is_marked(tmp_path):
    """A whole session: every line that is not chat text starts "*** "
    (or "* " for /me)."""
    motd = tmp_path / "motd"
    motd.write_text("motd line one\nmotd: line two\n")
    with chatd("--motd", str(motd)) as srv:
        a, b, c = crowd(srv, 3, motd=2)
        b.join("#b")
        script = [
            (a, "/help"), (a, "/nick alice"), (a, "hello"), (b, "hi there"),
            (a, "/join #b"), (a, "/join #c"), (a, "/topic the c topic"),
            (a, "/topic"), (a, "/topic #b"), (a, "/who"), (a, "/who #b"),
            (a, "/rooms"), (a, "/me dances"), (b, "/me claps"),
            (a, "/msg guest2 private words"), (b, "/msg alice words back"),
            (c, "/nick carol"), (c, "/join #c"), (c, "/part #c ciao"),
            (a, "/join #lobby"), (a, "/part #b"), (a, "/bogus"),
            (a, "/nick 1"), (a, "/join #a,b"), (a, "/part #nope"),
            (a, "//slash"), (b, "/topic #b bees"), (c, "/quit gone"),
        ]
        for who, text in script:
            who.say(text)
            if text.startswith("/quit"):
                who.closed()
            else:
                who.until_sync()
        for x in (a, b):
            x.until_sync()
        # Chat text: what users said, in the forms the SPEC gives it
        # ("[#room] " before text from another room, /msg's two sides).
        chat_text = {
            "alice: hello", "[#lobby] alice: hello", "guest2: hi there",
            "[#b] guest2: hi there", "alice: /slash", "[#lobby] alice: /slash",
            "[#b] * guest2 claps",
            "-> *guest2* private words", "*guest2* words back",
            "*alice* private words", "-> *alice* words back",
        }
        for x in (a, b):
            for line in x.got[x.greeting_end:]:
                if line in chat_text:
                    continue
                assert line.startswith("*** ") or line.startswith("* "), \
                    (x.nick, line)
        assert "alice: hello" in a.got and "guest2: hi there" in b.got


# --- text -------------------------------------------------------------------

TEXT_CASES = [
    (b"\x1b[2Jcleared?", "[2Jcleared?"),
    (b"\x1b]0;title\x07 osc", "]0;title osc"),
    (b"\xc2\x9b2J c1", "2J c1"),
    (b"bad \xff utf \x80 end \xc3", "bad \ufffd utf \ufffd end \ufffd"),
    (b"nul\x00 bell\x07 bs\x08 del\x7f cr\rx vt\x0b\x0c ok",
     "nul bell bs del crx vt ok"),
    (b"tab\there", "tab\there"),
    (b"\x02bold\x02 \x0304,12red on blue\x03 \x1funder\x1f \x1ditalic\x1d "
     b"\x16rev\x16 \x0399 \x04ff00aahex\x04 \x11mono\x1e strike\x0f plain",
     "bold red on blue under italic rev  hex mono strike plain"),
    ("caf\u00e9 \u65e5\u672c \U0001f600".encode(),
     "caf\u00e9 \u65e5\u672c \U0001f600"),
]


def test_text_is_cleaned_for_everyone():
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        c.join("#away")
        for data, want in TEXT_CASES:
            a.send(data + b"\n")
            for x in (a, b):
                x.expect("guest1: " + want)
            c.expect("[#lobby] guest1: " + want)
        all_quiet(a, b, c)
        for x in (a, b, c):
            assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]",
                                 x.buf.replace(b"\n", b"")), x.nick


@pytest.mark.parametrize("ch,count", [("\u00e9", 1000), ("\u65e5", 667),
                                      ("\U0001f600", 500), ("a\u00e9", 700)])
def test_long_line_is_cut_on_character_boundaries(ch, count):
    text = ch * count
    assert len(text.encode()) >= 2000
    with chatd() as srv:
        a, b, c = crowd(srv, 3)
        c.join("#away")
        a.say(text)
        a.say("after")
        for x, prefix in ((a, "guest1: "), (b, "guest1: "),
                          (c, "[#lobby] guest1: ")):
            pieces = []
            while True:
                raw = x.raw_line()
                assert len(raw) + 1 <= LINE_MAX, len(raw)
                line = raw.decode("utf-8")          # each one valid UTF-8
                assert line.startswith(prefix), line[:40]
                if line == prefix + "after":
                    break
                pieces.append(line[len(prefix):])
            assert len(pieces) >= 4
            assert all(pieces), "an empty piece"
            assert "".join(pieces) == text
        all_quiet(a, b, c)


def read_pieces(x, prefix, end):
    """The texts of the lines x receives before prefix + end, each line
    checked: valid UTF-8, starting with prefix, no longer than an IRC
    line."""
    pieces = []
    while True:
        raw = x.raw_line()
        assert len(raw) + 1 <= LINE_MAX, len(raw)
        line = raw.decode("utf-8")
        assert line.startswith(prefix), line[:60]
        if line == prefix + end:
            return pieces
        pieces.append(line[len(prefix):])


def test_long_lines_with_the_longest_names():
    nick, room = "N" * 30, "#" + "r" * 49
    text = "\u65e5\u00e9a" * 300                   # 1800 bytes
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.rename(nick, b)
        a.join(room)
        b.join(room, a)
        b.say("/join #lobby")
        b.expect("*** now talking in #lobby")
        for cmd, mine, away in (
                ("", nick + ": ", "[%s] %s: " % (room, nick)),
                ("/me ", "* %s " % nick, "[%s] * %s " % (room, nick))):
            a.say(cmd + text)
            a.say(cmd + "end")
            assert "".join(read_pieces(a, mine, "end")) == text
            assert "".join(read_pieces(b, away, "end")) == text
        all_quiet(a, b)


def test_long_private_message_is_cut_alike_on_both_sides():
    text = "\u00e9" * 1000 + " the end"
    with chatd() as srv:
        a, b = crowd(srv, 2)
        b.rename("B" * 30, a)
        a.say("/msg %s %s" % (b.nick, text))
        a.say("/msg %s end" % b.nick)
        mine = read_pieces(a, "-> *%s* " % b.nick, "end")
        theirs = read_pieces(b, "*guest1* ", "end")
        assert "".join(theirs) == text
        assert mine == theirs
        all_quiet(a, b)


def test_long_topic_fits_one_line():
    text = "\u65e5" * 400
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.say("/topic " + text)
        for x in (a, b):
            raw = x.raw_line()
            assert len(raw) + 1 <= LINE_MAX
            line = raw.decode("utf-8")
            head = "*** guest1 set the topic of #lobby: "
            assert line.startswith(head) and len(line) > len(head) + 50
            topic = line[len(head):]
            assert text.startswith(topic)
        for cmd, head in (("/topic", "*** topic of #lobby: "),
                          ("/rooms", "*** #lobby (2) ")):
            b.say(cmd)
            raw = b.raw_line()
            assert len(raw) + 1 <= LINE_MAX
            assert raw.decode("utf-8") == head + topic
        all_quiet(a, b)


def test_line_longer_than_max_message_is_cut_on_character_boundaries():
    """SPEC, chat, Text: messages are cut on character boundaries, never
    inside a character; the client sent valid UTF-8, so no U+FFFD."""
    text = "\u65e5" * 3000                          # 9000 bytes
    with chatd() as srv:
        a, b = crowd(srv, 2)
        a.say(text)
        a.say("after")
        pieces = []
        while True:
            line = b.line()
            if line == "guest1: after":
                break
            pieces.append(line[len("guest1: "):])
        assert "\ufffd" not in "".join(pieces)
        assert "".join(pieces) == text


# --- leaving without /quit --------------------------------------------------

def test_reset_or_close_without_quit(backend):
    with chatd(backend=backend) as srv:
        a, b, c, d = crowd(srv, 4)
        b.join("#x")
        a.join("#x", b)
        b.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
        b.close()                                   # a reset
        line = a.line()
        assert re.fullmatch(r"\*\*\* guest2 quit \(.+\)", line), line
        for x in (c, d):
            assert x.line() == line
        c.close()                                   # an orderly close
        line = a.line()
        assert re.fullmatch(r"\*\*\* guest3 quit \(.+\)", line), line
        assert d.line() == line
        all_quiet(a, d)
        a.rename("guest2", d)                       # both nicknames free
        d.rename("GUEST3", a)
        a.say("/who #x")
        a.expect("*** #x: guest2")
        all_quiet(a, d)


# --- order ------------------------------------------------------------------

def test_same_order_for_everyone(backend):
    n = 200
    with chatd(backend=backend, log="quiet") as srv:
        cs = crowd(srv, 5)
        senders = cs[:3]

        def blast(k, s):
            for i in range(0, n, 10):
                s.send(b"".join(b"s%d m%d\n" % (k, j)
                                for j in range(i, i + 10)))

        threads = [threading.Thread(target=blast, args=(k, s))
                   for k, s in enumerate(senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seqs = [x.lines(3 * n, timeout=20) for x in cs]
        for seq in seqs[1:]:
            assert seq == seqs[0]
        for k, s in enumerate(senders):
            mine = [x for x in seqs[0] if x.startswith(s.nick + ": ")]
            assert mine == ["%s: s%d m%d" % (s.nick, k, j) for j in range(n)]
        all_quiet(*cs)


# --- console ----------------------------------------------------------------

def test_console():
    with chatd() as srv:
        a, b = crowd(srv, 2)
        srv.out.wait_for(r"accepted connection")
        a.rename("alice", b)
        srv.out.wait_for(r"guest1\b.*\balice")
        a.say("/join #kitchen")
        a.lines(3)
        srv.out.wait_for(r"#kitchen.*created|created.*#kitchen")
        a.say("the kettle is on")
        a.expect("alice: the kettle is on")
        m = srv.out.wait_for(r".*the kettle is on.*")
        assert "alice" in m.group(0) and "#kitchen" in m.group(0)
        b.say("/quit")
        b.closed()
        srv.out.wait_for(r"connection terminated")
        assert "the kettle" not in srv.err.text()


# --- real clients -----------------------------------------------------------

def test_nc_and_socat_in_the_lobby():
    with chatd() as srv:
        obs = Client(srv.port)
        port = str(srv.port)
        nc = subprocess.Popen(["nc", "-N", "127.0.0.1", port],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        nc_out = Stream(nc.stdout)
        obs.expect("*** guest2 joined #lobby")
        so = subprocess.Popen(["socat", "-", "TCP:127.0.0.1:" + port],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        so_out = Stream(so.stdout)
        obs.expect("*** guest3 joined #lobby")
        try:
            nc.stdin.write(b"/nick netcat\nhello from nc\n")
            nc.stdin.flush()
            obs.expect("*** guest2 is now known as netcat",
                       "netcat: hello from nc")
            so.stdin.write(b"/nick socat\r\nhello from socat\r\n")
            so.stdin.flush()
            obs.expect("*** guest3 is now known as socat",
                       "socat: hello from socat")
            nc_out.wait_for(r"(?m)^socat: hello from socat\n")
            so_out.wait_for(r"(?m)^netcat: hello from nc\n")
            nc.stdin.close()
            so.stdin.close()
            assert nc.wait(10 * SLOW) == 0
            assert so.wait(10 * SLOW) == 0
        finally:
            for p in (nc, so):
                if p.poll() is None:
                    p.kill()
                    p.wait()
        got = sorted(obs.lines(2))
        assert re.fullmatch(r"\*\*\* netcat quit \(.+\)", got[0]), got
        assert re.fullmatch(r"\*\*\* socat quit \(.+\)", got[1]), got
        nc_lines = nc_out.text().splitlines()
        assert nc_lines[0].startswith("Welcome") and "guest2" in nc_lines[0]
        assert nc_lines[1:9] == [
            "*** guest2 joined #lobby", "*** #lobby has no topic",
            "*** #lobby has 2 members", "*** guest3 joined #lobby",
            "*** guest2 is now known as netcat", "netcat: hello from nc",
            "*** guest3 is now known as socat", "socat: hello from socat"]
        for x in nc_lines[9:]:                      # socat may leave first
            assert re.fullmatch(r"\*\*\* socat quit \(.+\)", x), x
        obs.quiet()


@pytest.mark.parametrize("client_backend", ["poll", "select"])
def test_chat_client_piped(client_backend):
    with chatd() as srv:
        obs = Client(srv.port)
        r = subprocess.run([binary("chat"), "--backend", client_backend,
                            "127.0.0.1:%d" % srv.port],
                           input=b"/nick x\nhi\n", capture_output=True,
                           timeout=10 * SLOW)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.decode().splitlines()
        assert lines[0].startswith("Welcome") and "guest2" in lines[0]
        assert lines[1:] == ["*** guest2 joined #lobby",
                             "*** #lobby has no topic",
                             "*** #lobby has 2 members",
                             "*** guest2 is now known as x", "x: hi"]
        obs.expect("*** guest2 joined #lobby", "*** guest2 is now known as x",
                   "x: hi")
        line = obs.line()
        assert re.fullmatch(r"\*\*\* x quit \(.+\)", line), line


# --- a client that never reads ----------------------------------------------

def test_slow_client_is_disconnected_others_unaffected(backend):
    with chatd("--queue-limit", "64K", backend=backend, log="quiet") as srv:
        fast, sender = crowd(srv, 2)
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", srv.port))       # never reads
        for x in (fast, sender):
            x.expect("*** guest3 joined #lobby")
        pad = "x" * 400
        batch, sent, cap = 100, 0, 30000            # cap: 12 MB
        got = {fast: 0, sender: 0}
        quits = {fast: [], sender: []}

        def take(x, upto):
            while got[x] < upto:
                line = x.line(timeout=10)
                if line.startswith("*** "):
                    quits[x].append(line)
                    continue
                assert line == "guest2: %d %s" % (got[x], pad), line[:60]
                got[x] += 1

        while sent < cap:
            sender.say(*("%d %s" % (i, pad) for i in range(sent,
                                                           sent + batch)))
            sent += batch
            for x in got:
                take(x, sent - 300)
            if "output queue over its limit" in srv.err.text():
                break
        assert sent < cap, "the slow client was never disconnected"
        sender.say(*("%d %s" % (i, pad) for i in range(sent, sent + batch)))
        sent += batch
        for x in got:
            take(x, sent)
        all_quiet(fast, sender)
        for x in got:
            assert quits[x] == ["*** guest3 quit (output queue over its "
                                "limit)"], quits[x]
        data = recv_closed(slow, timeout=10)
        assert data.count(b"\n") < sent
        assert srv.alive()


# --- limits, as in the line profile -----------------------------------------

def test_max_clients():
    with chatd("--max-clients", "2") as srv:
        a, b = crowd(srv, 2)
        extra = connect(srv.port)
        assert recv_closed(extra) == b""
        srv.err.wait_for(r"server full")
        a.say("/who")
        a.expect("*** #lobby: @guest1 guest2")
        all_quiet(a, b)


def test_idle_timeout_is_a_quit():
    with chatd("--idle-timeout", "2") as srv:
        busy, idle = crowd(srv, 2)
        deadline = time.monotonic() + 10 * SLOW
        while True:                 # busy keeps talking; idle does not
            assert time.monotonic() < deadline, "idle was never closed"
            busy.say("/who")
            line = busy.line()
            if line == "*** guest2 quit (idle timeout)":
                busy.expect("*** #lobby: @guest1")
                break
            assert line == "*** #lobby: @guest1 guest2", line
            time.sleep(0.25)
        assert idle.closed() == []
        busy.quiet()


# --- the command line -------------------------------------------------------

def run_chatd(*args):
    return subprocess.run([binary("chatd")] + list(args), capture_output=True,
                          text=True, timeout=10 * SLOW)


def test_help_exits_0():
    r = run_chatd("--profile", "chat", "--help")
    assert r.returncode == 0
    assert "usage: chatd" in r.stdout and "chat" in r.stdout


def test_unknown_profile_names_chat():
    r = run_chatd("--profile", "nope")
    assert r.returncode == 2
    assert "nope" in r.stderr
    assert re.search(r"\bchat\b", r.stderr.splitlines()[0]), r.stderr
    assert "usage: chatd" in r.stderr


def test_a_scheme_the_profile_cannot_serve_is_a_usage_error():
    r = run_chatd("--profile", "echo", "--listen", "irc://127.0.0.1:0")
    assert r.returncode == 2
    assert "irc://" in r.stderr.splitlines()[0], r.stderr
    assert "usage: chatd" in r.stderr
