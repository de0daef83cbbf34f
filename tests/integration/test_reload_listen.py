"""SIGHUP changes the listeners: a door added to the --config file opens,
one removed closes (its port refuses) while the clients that came through
it stay and chat, one unchanged keeps its very socket.  A reload whose
new listener cannot be opened changes nothing at all.  Sockets passed by
the service manager stay open, and --listen on the command line wins
over the file's lines."""
import os
import re
import signal
import socket

import pytest

from helpers import Proc, binary, connect, free_port, recv_until
from test_activation import launch, listening_socket
from test_tls import make_cert, tls_connect


def until(sock, needle):
    return recv_until(sock, lambda d: needle in d)


def refused(port):
    """True if a connection to port is refused (nothing listens there)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except ConnectionRefusedError:
        return True
    s.close()
    return False


def listening_inode(port):
    """The inode of the socket listening on 127.0.0.1:port (or 0.0.0.0),
    from /proc/net/tcp; None if there is none."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                return inode
    return None


def start(conf, *args):
    """chatd --config conf; returns it and the addresses it listens on."""
    srv = Proc([binary("chatd"), "--config", str(conf)] + list(args))
    srv.err.wait_for(r"listening on .*\n")
    return srv


def ports_listening(srv, count):
    srv.err.wait_for(r"(listening on 127\.0\.0\.1:\d+.*\n.*){%d}" % count)
    return [int(p) for p in
            re.findall(r"listening on 127\.0\.0\.1:(\d+)", srv.err.text())]


def hup(srv, expect):
    """SIGHUP; wait for the line matching expect written after it."""
    mark = len(srv.err.text())
    srv.p.send_signal(signal.SIGHUP)
    return srv.err.wait_for(expect, start=mark)


def line_user(port, nick):
    s = connect(port)
    until(s, b"joined #lobby\n")
    s.sendall(b"/nick %s\n" % nick.encode())
    until(s, b"is now known as %s\n" % nick.encode())
    return s


def irc_user(port, nick):
    s = connect(port)
    s.sendall(("NICK %s\r\nUSER %s 0 * :%s\r\n" % (nick, nick, nick))
              .encode())
    until(s, (" 001 %s " % nick).encode())
    s.sendall(b"JOIN #lobby\r\n")
    until(s, (" 366 %s #lobby " % nick).encode())
    return s


@pytest.fixture
def stop():
    """Stops every chatd a test started, whatever the test's end."""
    procs = []
    yield procs.append
    for p in procs:
        if p.alive():
            assert p.stop() == 0


def test_doors_open_and_close_and_clients_stay(tmp_path, stop):
    gone, new = free_port(), free_port()
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\nlisten 127.0.0.1:0\n"
                    "listen 127.0.0.1:%d\n" % gone)
    srv = start(conf)
    stop(srv)
    kept = ports_listening(srv, 2)[0]
    kept_inode = listening_inode(kept)
    assert kept_inode is not None
    bob = line_user(gone, "bob")
    conf.write_text("profile chat\nlisten 127.0.0.1:0\n"
                    "listen irc://127.0.0.1:%d\n" % new)
    hup(srv, r"reloaded the configuration from ")
    err = srv.err.text()
    assert "reload: listening on 127.0.0.1:%d (irc://127.0.0.1:%d)" % (
        new, new) in err
    assert ("reload: closed 127.0.0.1:%d (127.0.0.1:%d); its clients stay "
            "(1 now)" % (gone, gone)) in err
    # The new door speaks IRC; bob, who came through the closed one,
    # chats with its user both ways.
    ann = irc_user(new, "ann")
    bob.sendall(b"hello from the closed door\n")
    got = until(ann, b" PRIVMSG #lobby :hello from the closed door\r\n")
    assert b":bob!" in got.splitlines()[-1]
    ann.sendall(b"PRIVMSG #lobby :hello from the new door\r\n")
    until(bob, b"ann: hello from the new door\n")
    # The removed port refuses; the unchanged one is the same socket.
    assert refused(gone)
    assert listening_inode(kept) == kept_inode
    carl = line_user(kept, "carl")
    carl.sendall(b"still here\n")
    until(bob, b"carl: still here\n")
    until(ann, b" PRIVMSG #lobby :still here\r\n")
    for s in (bob, ann, carl):
        s.close()
    assert srv.stop() == 0


def test_a_listener_that_cannot_open_refuses_the_whole_reload(tmp_path,
                                                               stop):
    held = listening_socket()
    busy = held.getsockname()[1]
    other, new = free_port(), free_port()
    motd = tmp_path / "motd"
    motd.write_text("first motd\n")
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\nmotd %s\nlisten 127.0.0.1:%d\n"
                    % (motd, other))
    srv = start(conf)
    stop(srv)
    a = line_user(other, "amy")
    motd.write_text("second motd\n")
    second = tmp_path / "motd2"
    second.write_text("second motd\n")
    conf.write_text("profile chat\nmotd %s\nlisten irc://127.0.0.1:%d\n"
                    "listen irc://127.0.0.1:%d\n" % (second, new, busy))
    hup(srv, r"reload: cannot listen on 127\.0\.0\.1:%d: Address already "
             r"in use: the running configuration stays\n" % busy)
    # Nothing changed: the new door that could open was closed again, the
    # old one still serves (with the old MOTD), nobody was dropped.
    assert refused(new)
    b = connect(other)
    got = until(b, b"joined #lobby\n")
    assert b"first motd" in got and b"second motd" not in got
    b.sendall(b"/nick ben\nafter the refused reload\n")
    until(a, b"ben: after the refused reload\n")
    assert "reloaded the configuration" not in srv.err.text()
    # Once the port is free, the same file loads.
    held.close()
    hup(srv, r"reloaded the configuration from ")
    assert refused(other)
    c = irc_user(busy, "cat")
    d = irc_user(new, "dan")
    a.sendall(b"amy stays\n")
    until(c, b" PRIVMSG #lobby :amy stays\r\n")
    until(d, b" PRIVMSG #lobby :amy stays\r\n")
    for s in (a, b, c, d):
        s.close()
    assert srv.stop() == 0


def test_a_new_door_on_the_same_port_takes_its_socket(tmp_path, stop):
    port = free_port()
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\nlisten 127.0.0.1:%d\n" % port)
    srv = start(conf)
    stop(srv)
    inode = listening_inode(port)
    liz = line_user(port, "liz")
    conf.write_text("profile chat\nlisten irc://127.0.0.1:%d\n" % port)
    hup(srv, r"reloaded the configuration from ")
    assert "a new door takes over 127.0.0.1:%d" % port in srv.err.text()
    assert listening_inode(port) == inode
    ian = irc_user(port, "ian")
    liz.sendall(b"the line client stays\n")
    until(ian, b" PRIVMSG #lobby :the line client stays\r\n")
    liz.close()
    ian.close()
    assert srv.stop() == 0


def test_tls_and_unix_doors_come_and_go(tmp_path, stop):
    cert, key = make_cert(str(tmp_path), "srv", "localhost")
    path = str(tmp_path / "chat.sock")
    port, tls = free_port(), free_port()
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\ntls-cert %s\ntls-key %s\n"
                    "listen 127.0.0.1:%d\nlisten unix:%s\n"
                    % (cert, key, port, path))
    srv = start(conf)
    stop(srv)
    srv.err.wait_for(r"listening on unix:")
    assert os.path.exists(path)
    conf.write_text("profile chat\ntls-cert %s\ntls-key %s\n"
                    "listen 127.0.0.1:%d\nlisten tls://127.0.0.1:%d\n"
                    % (cert, key, port, tls))
    hup(srv, r"reloaded the configuration from ")
    assert "reload: listening on 127.0.0.1:%d (tls://127.0.0.1:%d, TLS)" % (
        tls, tls) in srv.err.text()
    assert not os.path.exists(path)     # the socket file went with it
    s = tls_connect(tls)
    until(s, b"joined #lobby\n")
    s.close()
    assert srv.stop() == 0


def test_the_command_line_listen_wins_over_the_file(tmp_path, stop):
    filed = free_port()
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\n")
    srv = start(conf, "--listen", "127.0.0.1:0")
    stop(srv)
    port = ports_listening(srv, 1)[0]
    conf.write_text("profile chat\nlisten irc://127.0.0.1:%d\n" % filed)
    hup(srv, r"reload: the listen lines of %s are not used: --listen on "
             r"the command line wins\n" % re.escape(str(conf)))
    srv.err.wait_for(r"reloaded the configuration")
    assert refused(filed)
    s = line_user(port, "flo")
    s.close()
    assert srv.stop() == 0


def test_a_passed_socket_stays_open(tmp_path, stop):
    passed = listening_socket()
    port = passed.getsockname()[1]
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\nlisten 127.0.0.1:%d\n"
                    "listen irc://127.0.0.1:0\n" % port)
    srv = launch([passed], ["--config", str(conf)])
    stop(srv)
    passed.close()                      # chatd holds its own copy
    srv.err.wait_for(r"listening on 127\.0\.0\.1:%d .*passed by the "
                     r"service manager" % port)
    a = line_user(port, "pat")
    conf.write_text("profile chat\nlisten irc://127.0.0.1:0\n")
    hup(srv, r"reloaded the configuration from ")
    assert ("reload: 127.0.0.1:%d (127.0.0.1:%d) was passed by the service "
            "manager: it stays open; closing it takes a restart of the "
            "socket unit" % (port, port)) in srv.err.text()
    b = line_user(port, "pia")
    b.sendall(b"through the passed socket\n")
    until(a, b"pia: through the passed socket\n")
    a.close()
    b.close()
    assert srv.stop() == 0
