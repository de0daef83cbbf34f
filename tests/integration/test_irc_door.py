"""The chat profile's IRC door: IRC clients in the same rooms as line
clients.  Registration, the commands a client needs and their error
numerics, and every event crossing between the doors both ways; then a
real client (sic) chatting with nc."""
import os
import re
import socket
import subprocess
import time

import pytest

from helpers import BACKENDS, SLOW, Server, binary, connect, recv_until

CRLF = b"\r\n"


def chatd(extra=()):
    srv = Server(["--profile", "chat", "--listen", "irc://127.0.0.1:0"]
                 + list(extra))
    m = srv.err.wait_for(r"listening on 127\.0\.0\.1:(\d+) \(profile chat",
                         start=0)
    srv.err.wait_for(r"listening on 127\.0\.0\.1:\d+ .*\n.*listening on "
                     r"127\.0\.0\.1:(\d+)")
    ports = re.findall(r"listening on 127\.0\.0\.1:(\d+)", srv.err.text())
    srv.line_port, srv.irc_port = int(ports[0]), int(ports[1])
    del m
    return srv


class Irc:
    """An IRC client on a socket: send lines, wait for lines."""

    def __init__(self, port):
        self.s = connect(port)
        self.buf = b""

    def send(self, *lines):
        self.s.sendall(b"".join(l.encode() + CRLF for l in lines))

    def expect(self, pattern, timeout=5.0):
        """Read lines until one matches pattern (a regex); return it and
        drop what came before."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            while CRLF in self.buf:
                line, self.buf = self.buf.split(CRLF, 1)
                text = line.decode("utf-8", "replace")
                if rx.search(text):
                    return text
            left = deadline - time.monotonic()
            assert left > 0, "no line matching %r" % pattern
            self.s.settimeout(left)
            d = self.s.recv(65536)
            assert d, "closed while waiting for %r" % pattern
            self.buf += d

    def quiet(self, wait=0.2):
        """Nothing more arrives (besides the answer to a PING of ours)."""
        self.send("PING :quiet")
        self.expect(r"PONG chatd :quiet")
        assert self.buf == b"", self.buf

    def register(self, nick):
        self.send("NICK " + nick, "USER %s 0 * :Real %s" % (nick, nick))
        self.expect(r" 001 %s " % nick)
        self.expect(r" (376|422) %s " % nick)
        return self


class Line:
    def __init__(self, port, nick=None):
        self.s = connect(port)
        self.buf = b""
        self.expect(r"^Welcome")
        if nick:
            self.s.sendall(b"/nick %s\n" % nick.encode())
            self.expect(r"is now known as %s$" % nick)

    def say(self, text):
        self.s.sendall(text.encode() + b"\n")

    def expect(self, pattern, timeout=5.0):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if rx.search(text):
                    return text
            left = deadline - time.monotonic()
            assert left > 0, "no line matching %r" % pattern
            self.s.settimeout(left)
            d = self.s.recv(65536)
            assert d, "closed while waiting for %r" % pattern
            self.buf += d


def test_registration_numerics_and_isupport():
    with chatd() as srv:
        c = Irc(srv.irc_port)
        c.send("NICK ann", "USER ann 0 * :Ann Example")
        assert "Welcome" in c.expect(r" 001 ann ")
        c.expect(r" 002 ann ")
        c.expect(r" 003 ann ")
        assert re.search(r" 004 ann chatd \S+ [a-zA-Z]+ [a-zA-Z]+",
                         c.expect(r" 004 ann "))
        isupport = c.expect(r" 005 ann ")
        for token in ("CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=30",
                      "CHANNELLEN=50", "PREFIX=(ov)@+", "CHANMODES=b,k,l,imnst",
                      "NETWORK="):
            assert token in isupport, token
        c.expect(r" 251 ann ")
        c.expect(r" 422 ann ")


def test_motd_is_375_372_376(tmp_path):
    motd = tmp_path / "motd"
    motd.write_text("first line\nsecond \x1b[2Jline\n")
    with chatd(["--motd", str(motd)]) as srv:
        c = Irc(srv.irc_port)
        c.send("NICK ann", "USER ann 0 * :Ann")
        c.expect(r" 375 ann ")
        assert c.expect(r" 372 ann ").endswith(":- first line")
        assert c.expect(r" 372 ann ").endswith(":- second [2Jline")
        c.expect(r" 376 ann ")


def test_cap_ls_holds_registration_until_cap_end():
    """irssi sends CAP LS 302 and a bogus JOIN, then waits for a CAP reply
    or a 451 before registering."""
    with chatd() as srv:
        c = Irc(srv.irc_port)
        c.send("CAP LS 302", "JOIN :")
        c.expect(r"^:chatd CAP \* LS :$")
        c.expect(r" 451 \* ")
        c.send("NICK ann", "USER ann 0 * :Ann", "CAP REQ :multi-prefix")
        c.expect(r"CAP ann NAK :multi-prefix")
        c.send("CAP END")
        c.expect(r" 001 ann ")


def test_commands_before_registration_get_451():
    with chatd() as srv:
        c = Irc(srv.irc_port)
        for cmd in ("JOIN #x", "PRIVMSG #x :hi", "WHO #x", "BOGUS"):
            c.send(cmd)
            c.expect(r" 451 \* :You have not registered")


@pytest.mark.parametrize("nick,code", [("1abc", 432), ("a b", None),
                                       ("x" * 31, 432), ("-ab", 432)])
def test_bad_nicknames(nick, code):
    with chatd() as srv:
        c = Irc(srv.irc_port)
        c.send("NICK " + nick)
        if code:
            c.expect(r" %d \* " % code)
        c.send("NICK")
        c.expect(r" 431 ")


def test_nickname_in_use_any_case_across_doors():
    with chatd() as srv:
        bob = Line(srv.line_port, "Bob")
        c = Irc(srv.irc_port)
        c.send("NICK bob")
        c.expect(r" 433 \* bob :Nickname is already in use")
        c.register("bobby")
        c.send("NICK BOB")
        c.expect(r" 433 bobby BOB ")
        bob.say("still here")

@pytest.mark.parametrize("backend", BACKENDS)
def test_messages_cross_doors_both_ways(backend):
    with chatd(["--backend", backend]) as srv:
        line = Line(srv.line_port, "lina")
        irc = Irc(srv.irc_port).register("ircy")
        irc.send("JOIN #lobby")
        irc.expect(r"^:ircy!ircy@127\.0\.0\.1 JOIN #lobby$")
        names = irc.expect(r" 353 ircy = #lobby :")
        assert names.endswith(":@guest1 ircy") or "lina" in names
        irc.expect(r" 366 ircy #lobby ")
        line.expect(r"^\*\*\* ircy joined #lobby$")
        line.say("hello from nc")
        irc.expect(r"^:lina!lina@127\.0\.0\.1 PRIVMSG #lobby :hello from nc$")
        line.say("/me waves")
        irc.expect("^:lina!lina@127\\.0\\.0\\.1 PRIVMSG #lobby :"
                   "\x01ACTION waves\x01$")
        irc.send("PRIVMSG #lobby :hello from irc",
                 "PRIVMSG #lobby :\x01ACTION dances\x01",
                 "NOTICE #lobby :a notice")
        line.expect(r"^ircy: hello from irc$")
        line.expect(r"^\* ircy dances$")
        line.expect(r"^-ircy- a notice$")
        irc.quiet()                     # no echo of its own PRIVMSG
        irc.send("PRIVMSG lina :psst")
        line.expect(r"^\*ircy\* psst$")
        line.say("/msg ircy back")
        irc.expect(r"^:lina!lina@127\.0\.0\.1 PRIVMSG ircy :back$")


def test_nick_topic_part_quit_cross_doors():
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        irc = Irc(srv.irc_port).register("ircy")
        irc.send("JOIN #lobby")
        line.expect(r"ircy joined #lobby")
        irc.send("NICK ircz")
        irc.expect(r"^:ircy!ircy@127\.0\.0\.1 NICK :ircz$")
        line.expect(r"^\*\*\* ircy is now known as ircz$")
        line.say("/nick lena")
        irc.expect(r"^:lina!lina@127\.0\.0\.1 NICK :lena$")
        irc.send("TOPIC #lobby :plans")
        irc.expect(r"^:ircz!ircy@127\.0\.0\.1 TOPIC #lobby :plans$")
        line.expect(r"^\*\*\* ircz set the topic of #lobby: plans$")
        line.say("/topic better plans")
        irc.expect(r"TOPIC #lobby :better plans$")
        irc.send("TOPIC #lobby")
        irc.expect(r" 332 ircz #lobby :better plans$")
        irc.expect(r" 333 ircz #lobby lena \d+$")
        irc.send("PART #lobby :later")
        irc.expect(r"^:ircz!ircy@127\.0\.0\.1 PART #lobby :later$")
        line.expect(r"^\*\*\* ircz left #lobby \(later\)$")
        irc.send("JOIN #lobby")
        line.expect(r"ircz joined")
        irc.send("QUIT :gone fishing")
        irc.expect(r"^ERROR :Closing Link: 127\.0\.0\.1 \(Quit: gone "
                   r"fishing\)$")
        line.expect(r"^\*\*\* ircz quit \(Quit: gone fishing\)$")
        irc.s.settimeout(5 * SLOW)
        assert irc.s.recv(100) == b""   # and closed


def test_error_numerics():
    with chatd() as srv:
        lina = Line(srv.line_port, "lina")
        c = Irc(srv.irc_port).register("ann")
        for cmd, want in [
                ("PRIVMSG", r" 411 ann "),
                ("PRIVMSG #lobby", r" 412 ann "),
                ("PRIVMSG nobody :x", r" 401 ann nobody "),
                ("PRIVMSG #lobby :x", r" 404 ann #lobby "),
                ("PART #lobby", r" 442 ann #lobby "),
                ("PART #nowhere", r" 403 ann #nowhere "),
                ("TOPIC #lobby :x", r" 442 ann #lobby "),
                ("JOIN", r" 461 ann JOIN "),
                ("USER a b c :d", r" 462 ann "),
                ("WHOIS nobody", r" 401 ann nobody "),
                ("MODE #lobby +o lina", r" 442 ann #lobby "),
                ("MODE lina +i", r" 502 ann "),
                ("FROBNICATE x", r" 421 ann FROBNICATE "),
                ("JOIN bad,name", r" 403 ann bad "),
        ]:
            c.send(cmd)
            c.expect(want)
        c.quiet()
        lina.say("/who")
        lina.expect(r"^\*\*\* #lobby: @lina$")


def test_operators_and_topic_lock():
    with chatd() as srv:
        op = Irc(srv.irc_port).register("op")
        op.send("JOIN #ops")
        op.expect(r" 353 op = #ops :@op$")
        line = Line(srv.line_port, "lina")
        line.say("/join #ops")
        op.expect(r"lina!lina@\S+ JOIN #ops")
        op.send("MODE #ops +t")
        op.expect(r"^:op!op@\S+ MODE #ops \+t$")
        line.expect(r"^\*\*\* op sets mode \+t on #ops$")
        line.say("/topic #ops mine")
        line.expect(r"^\*\*\* error: only operators may set the topic")
        op.send("MODE #ops +o lina")
        op.expect(r"MODE #ops \+o lina$")
        line.say("/topic #ops mine now")
        op.expect(r"TOPIC #ops :mine now$")
        op.send("MODE #ops")
        op.expect(r" 324 op #ops \+nt$")
        op.send("MODE #ops b")
        op.expect(r" 368 op #ops ")
        op.send("MODE #ops +z")
        op.expect(r" 472 op ")
        other = Irc(srv.irc_port).register("other")
        other.send("JOIN #ops", "MODE #ops -o op")
        other.expect(r" 482 other #ops ")


def test_kick_reaches_both_doors_and_takes_the_member_out():
    with chatd() as srv:
        op = Irc(srv.irc_port).register("op")
        op.send("JOIN #k")
        op.expect(r" 366 op #k ")
        line = Line(srv.line_port, "lina")
        line.say("/join #k")
        victim = Irc(srv.irc_port).register("vic")
        victim.send("JOIN #k")
        op.expect(r"vic!vic@\S+ JOIN #k")
        victim.send("KICK #k op :no")
        victim.expect(r" 482 vic #k ")
        op.send("KICK #k vic :enough")
        victim.expect(r"^:op!op@\S+ KICK #k vic :enough$")
        op.expect(r"^:op!op@\S+ KICK #k vic :enough$")
        line.expect(r"^\*\*\* vic was kicked from #k by op \(enough\)$")
        victim.send("PRIVMSG #k :still here?")
        victim.expect(r" 404 vic #k ")              # +n: not a member now
        op.send("KICK #k vic", "KICK #nope vic", "KICK #k nobody")
        op.expect(r" 441 op vic #k ")
        op.expect(r" 403 op #nope ")
        op.expect(r" 401 op nobody ")
        op.send("KICK #k lina")                      # a line user, default
        line.expect(r"^\*\*\* lina was kicked from #k by op \(op\)$")
        line.say("/who #k")
        line.expect(r"^\*\*\* #k: @op$")


def test_invite_only_room_and_invitations_across_doors():
    with chatd() as srv:
        op = Irc(srv.irc_port).register("op")
        op.send("JOIN #club", "MODE #club +i")
        op.expect(r"MODE #club \+i$")
        guest = Irc(srv.irc_port).register("guest")
        guest.send("JOIN #club")
        guest.expect(r" 473 guest #club ")
        line = Line(srv.line_port, "lina")
        line.say("/join #club")
        line.expect(r"^\*\*\* error: #club is invite-only$")
        op.send("INVITE guest #club", "INVITE lina #club")
        op.expect(r" 341 op guest #club$")
        op.expect(r" 341 op lina #club$")
        guest.expect(r"^:op!op@\S+ INVITE guest #club$")
        line.expect(r"^\*\*\* op invites you to #club \(/join #club\)$")
        guest.send("INVITE")
        guest.expect(r" 336 guest #club$")
        guest.expect(r" 337 guest ")
        guest.send("JOIN #club")
        op.expect(r"guest!guest@\S+ JOIN #club")
        line.say("/join #club")
        op.expect(r"lina!lina@\S+ JOIN #club")
        op.send("INVITE guest #club")
        op.expect(r" 443 op guest #club ")
        guest.send("INVITE someone #club")
        guest.expect(r" 401 guest someone ")


def test_key_limit_ban_moderation_and_secrecy():
    with chatd() as srv:
        op = Irc(srv.irc_port).register("op")
        op.send("JOIN #m", "MODE #m +kl sesame 3")
        op.expect(r"MODE #m \+k sesame$")
        op.expect(r"MODE #m \+l 3$")
        op.send("MODE #m")
        op.expect(r" 324 op #m \+nkl sesame 3$")
        a = Irc(srv.irc_port).register("ann")
        a.send("JOIN #m", "JOIN #m wrong", "MODE #m")
        a.expect(r" 475 ann #m ")
        a.expect(r" 475 ann #m ")
        a.expect(r" 324 ann #m \+nkl \* 3$")     # the key is for members
        a.send("JOIN #m sesame")
        op.expect(r"ann!ann@\S+ JOIN #m")
        line = Line(srv.line_port, "lina")
        line.say("/join #m")
        line.expect(r"^\*\*\* error: #m needs its key")
        line.say("/join #m sesame")
        op.expect(r"lina!lina@\S+ JOIN #m")
        third = Irc(srv.irc_port).register("third")
        third.send("JOIN #m sesame")
        third.expect(r" 471 third #m ")
        # +m: only the voiced and operators are heard.
        op.send("MODE #m +m", "MODE #m +v ann")
        op.expect(r"MODE #m \+v ann$")
        line.say("muted?")
        line.expect(r"^\*\*\* error: you cannot speak in #m \(it is "
                    r"moderated\)$")
        a.send("PRIVMSG #m :voiced")
        line.expect(r"^ann: voiced$")
        # +b: a ban keeps the banned out and quiet.
        op.send("MODE #m -m", "MODE #m +b lina", "MODE #m +b")
        op.expect(r" 367 op #m lina!\*@\* op \d+$")
        op.expect(r" 368 op #m ")
        line.say("banned?")
        line.expect(r"^\*\*\* error: you cannot speak in #m \(banned\)$")
        # +s: hidden from outsiders' LIST, NAMES and WHOIS.
        op.send("MODE #m +s")
        op.expect(r"MODE #m \+s$")
        third.send("LIST", "NAMES #m", "WHOIS op")
        third.expect(r" 321 third ")
        assert "#m" not in third.expect(r" 323 third ")
        third.expect(r" 366 third #m ")
        whois = third.expect(r" (319|318) third op ")
        assert " 319 " not in whois
        line.say("/rooms")
        line.expect(r"^\*\*\* #m \(3\)")               # a member sees it
        op.send("MODE #m +x", "MODE #m +o", "MODE #m +k :has space")
        op.expect(r" 472 op x ")
        op.expect(r" 461 op MODE ")
        op.expect(r" 696 op #m k \* ")


def test_whowas_remembers_quits_and_nick_changes():
    with chatd() as srv:
        a = Irc(srv.irc_port).register("asker")
        b = Irc(srv.irc_port)
        b.send("NICK bee", "USER beeuser 0 * :Bee Real")
        b.expect(r" 001 bee ")
        b.send("NICK bea")
        b.expect(r"NICK :bea")
        b.send("QUIT :bye")
        line = Line(srv.line_port, "lina")
        line.say("/quit")
        a.send("WHOWAS bee")
        a.expect(r" 314 asker bee beeuser 127\.0\.0\.1 \* :Bee Real$")
        a.expect(r" 312 asker bee ")
        a.expect(r" 369 asker bee ")
        a.send("WHOWAS lina,nobody")
        a.expect(r" 314 asker lina lina 127\.0\.0\.1 \* :lina$")
        a.expect(r" 406 asker nobody ")
        a.expect(r" 369 asker lina,nobody ")


def test_oper_and_wallops():
    with chatd(["--oper", "boss:s3cret"]) as srv:
        a = Irc(srv.irc_port).register("ann")
        b = Irc(srv.irc_port).register("bob")
        c = Irc(srv.irc_port).register("cid")
        b.send("MODE bob +w")
        b.expect(r" 221 bob \+w$")
        a.send("WALLOPS :hi")
        a.expect(r" 481 ann ")
        a.send("OPER boss wrong")
        a.expect(r" 464 ann ")
        a.send("OPER boss s3cret")
        a.expect(r" 381 ann ")
        a.send("WALLOPS :hello operators")
        b.expect(r"^:ann!ann@\S+ WALLOPS :hello operators$")
        a.expect(r"^:ann!ann@\S+ WALLOPS :hello operators$")
        c.quiet()
        c.send("WHOIS ann")
        c.expect(r" 313 cid ann ")
        c.send("OPER boss s3cret", "MODE cid -o")
        c.expect(r" 381 cid ")
        c.expect(r" 221 cid \+w$")


def test_no_oper_configured():
    with chatd() as srv:
        a = Irc(srv.irc_port).register("ann")
        a.send("OPER x y", "ADMIN", "LINKS")
        a.expect(r" 491 ann ")
        a.expect(r" 256 ann ")
        a.expect(r" 365 ann \* ")


def test_who_whois_list_names_ison_userhost_away():
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        c = Irc(srv.irc_port).register("ann")
        c.send("JOIN #lobby", "AWAY :lunch")
        c.expect(r" 306 ann ")
        c.send("WHO #lobby")
        assert c.expect(r" 352 ann #lobby lina ").endswith(":0 lina")
        c.expect(r" 352 ann #lobby ann 127\.0\.0\.1 chatd ann G ")
        c.expect(r" 315 ann #lobby ")
        c.send("WHOIS ann")
        assert c.expect(r" 311 ann ann ").endswith(":Real ann")
        c.expect(r" 319 ann ann :#lobby$")
        c.expect(r" 301 ann ann :lunch$")
        c.expect(r" 318 ann ann ")
        c.send("LIST")
        c.expect(r" 321 ann ")
        c.expect(r" 322 ann #lobby 2 :")
        c.expect(r" 323 ann ")
        c.send("ISON lina nobody ANN", "USERHOST lina")
        c.expect(r" 303 ann :lina ann$")
        c.expect(r" 302 ann :lina=\+lina@127\.0\.0\.1$")
        line.say("/msg ann are you there")
        c.expect(r"PRIVMSG ann :are you there")
        c.send("AWAY")
        c.expect(r" 305 ann ")


def test_names_are_split_under_512_bytes():
    with chatd() as srv:
        c = Irc(srv.irc_port).register("ann")
        c.send("JOIN #big")
        c.expect(r" 366 ann #big ")
        others = [Irc(srv.irc_port).register("n%02d%s" % (i, "x" * 25))
                  for i in range(40)]
        for o in others:
            o.send("JOIN #big")
        for o in others:
            o.expect(r" 366 ")
        c.buf = b""
        c.send("NAMES #big")
        got = []
        while True:
            line = c.expect(r" (353|366) ann ")
            if " 366 " in line:
                break
            assert len(line.encode()) + 2 <= 512
            got += line.split(" :", 1)[1].split()
        assert len(got) == 41


def test_overlong_line_is_cut_and_handled():
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        c = Irc(srv.irc_port).register("ann")
        c.send("JOIN #lobby")
        line.expect("ann joined")
        c.send("PRIVMSG #lobby :" + "y" * 2000, "PRIVMSG #lobby :after")
        got = line.expect(r"^ann: y+$")
        assert 400 < len(got) < 512
        line.expect(r"^ann: after$")     # the excess was dropped


def test_ping_pong_and_no_ping_needed_when_busy():
    with chatd() as srv:
        c = Irc(srv.irc_port).register("ann")
        c.send("PING :abc", "PING")
        c.expect(r"^:chatd PONG chatd :abc$")
        c.expect(r" 409 ann ")


def test_irc_scheme_only_for_the_chat_profile():
    p = subprocess.run([binary("chatd"), "--profile", "line", "--listen",
                        "irc://127.0.0.1:0"], capture_output=True,
                       timeout=10)
    assert p.returncode == 2
    assert b"cannot serve 'irc://'" in p.stderr


def test_sic_chats_with_nc():
    """sic, a real IRC client, and nc in #lobby, both ways."""
    if not os.path.exists("/usr/bin/sic"):
        pytest.skip("sic is not installed")
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        sic = subprocess.Popen(["sic", "-h", "127.0.0.1", "-p",
                                str(srv.irc_port), "-n", "sicky"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        try:
            sic.stdin.write(b":j #lobby\n")
            sic.stdin.flush()
            line.expect(r"^\*\*\* sicky joined #lobby$", timeout=10)
            sic.stdin.write(b"hello from sic\n")
            sic.stdin.flush()
            line.expect(r"^sicky: hello from sic$")
            line.say("hello sic")
            out = recv_until_proc(sic, b"hello sic")
            assert b"lina" in out
            sic.stdin.write(b":QUIT :bye now\n")    # sent raw by sic
            sic.stdin.flush()
            line.expect(r"^\*\*\* sicky quit \(Quit: bye now\)$")
        finally:
            sic.kill()
            sic.wait()


def test_ii_chats_with_nc(tmp_path):
    """ii, a real IRC client (a tree of FIFOs and files), and nc in #lobby:
    join, talk both ways, change nick, leave."""
    if not os.path.exists("/usr/bin/ii"):
        pytest.skip("ii is not installed")
    with chatd() as srv:
        line = Line(srv.line_port, "lina")
        ii = subprocess.Popen(["ii", "-s", "127.0.0.1", "-p",
                               str(srv.irc_port), "-n", "iiuser", "-i",
                               str(tmp_path)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        server_in = tmp_path / "127.0.0.1" / "in"
        room = tmp_path / "127.0.0.1" / "#lobby"
        try:
            wait_for_path(server_in)
            write_fifo(server_in, "/j #lobby\n")
            line.expect(r"^\*\*\* iiuser joined #lobby$", timeout=10)
            wait_for_path(room / "in")
            write_fifo(room / "in", "hello from ii\n")
            line.expect(r"^iiuser: hello from ii$")
            line.say("hello ii")
            wait_for_text(room / "out", "<lina> hello ii")
            line.say("/me waves")
            wait_for_text(room / "out", "lina")
            write_fifo(server_in, "/n iinew\n")
            line.expect(r"^\*\*\* iiuser is now known as iinew$")
            write_fifo(server_in, "/q leaving\n")
            line.expect(r"^\*\*\* iinew quit \(Quit: leaving\)$")
        finally:
            ii.kill()
            ii.wait()


def wait_for_path(path, timeout=10.0):
    deadline = time.monotonic() + timeout * SLOW
    while not path.exists():
        assert time.monotonic() < deadline, "no %s" % path
        time.sleep(0.02)


def write_fifo(path, text):
    with open(path, "w") as f:
        f.write(text)


def wait_for_text(path, text, timeout=5.0):
    deadline = time.monotonic() + timeout * SLOW
    while not (path.exists() and text in path.read_text(errors="replace")):
        assert time.monotonic() < deadline, "no %r in %s" % (text, path)
        time.sleep(0.02)


def recv_until_proc(p, needle, timeout=5.0):
    """Read p's stdout until needle shows up."""
    os.set_blocking(p.stdout.fileno(), False)
    out = b""
    deadline = time.monotonic() + timeout * SLOW
    while needle not in out:
        assert time.monotonic() < deadline, out
        try:
            d = p.stdout.read(4096)
        except BlockingIOError:
            d = None
        if d:
            out += d
        else:
            time.sleep(0.02)
    return out


IRC_WORDS = ["NICK", "USER", "JOIN", "PART", "PRIVMSG", "NOTICE", "TOPIC",
             "MODE", "WHO", "WHOIS", "NAMES", "LIST", "AWAY", "ISON",
             "USERHOST", "PING", "PONG", "CAP", "PASS", "QUIT", "KICK", "0",
             ":x", "@t=1", "#lobby", "#a,#b,,#c", "+o", "-t", "+ot", "*",
             "\x01ACTION", "\x00", "\xff\xfe", "\x1b[2J", " ", ":"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_irc_garbage_never_hurts_the_room(backend):
    """Random commands with absurd parameters, bytes and overlong lines
    from several IRC clients at once, while a line canary pair chats."""
    import random
    rng = random.Random(6667)
    with chatd(["--backend", backend, "--log", "quiet"]) as srv:
        a, b = Line(srv.line_port, "canary_a"), Line(srv.line_port,
                                                     "canary_b")
        vandals = []
        for round_ in range(40):
            if len(vandals) < 5:
                v = Irc(srv.irc_port)
                if rng.randrange(2):
                    v.register("v%d" % round_)
                vandals.append(v)
            v = rng.choice(vandals)
            lines = []
            for _ in range(10):
                words = [rng.choice(IRC_WORDS) for _ in range(
                    rng.randrange(1, 8))]
                if rng.randrange(8) == 0:
                    words.append("z" * rng.randrange(400, 3000))
                lines.append(" ".join(words).encode("utf-8",
                                                    "surrogateescape"))
            try:
                v.s.sendall(b"\r\n".join(lines) + b"\r\n")
            except OSError:
                vandals.remove(v)
            a.say("canary %d" % round_)
        for i in range(40):
            b.expect(r"^canary_a: canary %d$" % i)
        assert srv.alive()
        for v in vandals:
            v.s.close()
