"""Socket activation: chatd serves on listening sockets a service manager
passes in LISTEN_FDS, by FileDescriptorName= (LISTEN_FDNAMES) or, unnamed,
by the address they are bound to, and opens none of its own for those
doors.  systemd-socket-activate (Debian's systemd package) plays systemd;
a small shell launcher passes sockets without it."""
import fcntl
import os
import shutil
import signal
import socket
import subprocess

import pytest

from helpers import SLOW, Proc, binary, connect, free_port, recv_until

SSA = shutil.which("systemd-socket-activate")


def until(sock, needle, timeout=5.0):
    return recv_until(sock, lambda d: needle in d, timeout)


def listening_socket(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s


def launch(socks, args, names=None):
    """Start chatd with socks passed as descriptors 3, 4, ... and LISTEN_*
    set for its pid, as a service manager does: the child puts them in
    place, and sh execs chatd, which keeps sh's pid ($$)."""
    fds = [s.fileno() for s in socks]
    env = dict(os.environ, LISTEN_FDS=str(len(socks)))
    if names is not None:
        env["LISTEN_FDNAMES"] = ":".join(names)

    def into_place():
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
        for i, h in enumerate(high):
            os.dup2(h, 3 + i)
            os.close(h)
        for fd in fds:                  # only the copies at 3, 4, ...
            if fd >= 3 + len(fds):
                os.close(fd)

    return Proc(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', binary("chatd")]
                + list(args), env=env, valgrind=False, preexec_fn=into_place,
                pass_fds=fds + [3 + i for i in range(len(fds))])


def nick_join_say(port):
    """A line client: nickname, a room, a message that comes back."""
    s = connect(port)
    until(s, b"joined #lobby\n")
    s.sendall(b"/nick alice\n")
    until(s, b"is now known as alice\n")
    s.sendall(b"/join #ops\n")
    until(s, b"alice joined #ops\n")
    s.sendall(b"hello from a passed socket\n")
    until(s, b"alice: hello from a passed socket\n")
    return s


def irc_register(port, nick="ann"):
    s = connect(port)
    s.sendall(("NICK %s\r\nUSER %s 0 * :Ann\r\n" % (nick, nick)).encode())
    until(s, (" 001 %s " % nick).encode())
    return s


@pytest.fixture
def ssa():
    if SSA is None:
        pytest.skip("systemd-socket-activate not installed (Debian: systemd)")
    return SSA


def test_systemd_socket_activate_named_doors(ssa):
    """--fdname=line:irc: the line door on the first socket (in place of
    the --listen one), and an IRC door on the second (no IRC door was
    configured: the socket names one)."""
    line, irc = free_port(), free_port()
    p = Proc([ssa, "-l", "127.0.0.1:%d" % line, "-l", "127.0.0.1:%d" % irc,
              "--fdname=line:irc", binary("chatd"), "--profile", "chat",
              "--listen", "127.0.0.1:0"], valgrind=False)
    try:
        p.err.wait_for(r"Listening on 127\.0\.0\.1:%d as 4" % irc)
        # The first connection starts chatd (systemd-socket-activate waits).
        s = nick_join_say(line)
        err = p.err.wait_for(
            r"chatd: listening on 127\.0\.0\.1:%d \(profile chat, backend "
            r"\w+, passed by the service manager\)" % irc)
        text = p.err.text()
        assert ("chatd: listening on 127.0.0.1:%d (profile chat, backend"
                % line) in text
        # It opened nothing of its own: two doors, both passed.
        assert text.count("listening on") == 2, text
        assert err is not None
        i = irc_register(irc)
        i.sendall(b"JOIN #ops\r\n")
        until(i, b" 366 ann #ops ")
        s.sendall(b"to irc\n")
        until(i, b":alice!alice@")
        s.close()
        i.close()
        assert p.stop() == 0
    finally:
        p.kill()


def test_systemd_socket_activate_unnamed_by_address(ssa):
    """No FileDescriptorName=: the socket bound where --listen says is that
    door's (chatd would fail to bind it itself: it is taken)."""
    port = free_port()
    p = Proc([ssa, "-l", "127.0.0.1:%d" % port, binary("chatd"),
              "--profile", "chat", "--listen", "127.0.0.1:%d" % port],
             valgrind=False)
    try:
        p.err.wait_for(r"Listening on 127\.0\.0\.1:%d as 3" % port)
        nick_join_say(port).close()
        assert "passed by the service manager" in p.err.text()
        assert p.stop() == 0
    finally:
        p.kill()


def test_passed_by_address_and_the_rest_closed():
    """Without systemd: one unnamed socket bound at the --listen address is
    taken; another, bound nowhere chatd was told, is closed with a
    warning (connecting to it is then refused)."""
    mine, stray = listening_socket(), listening_socket()
    port, stray_port = mine.getsockname()[1], stray.getsockname()[1]
    p = launch([mine, stray], ["--profile", "chat",
                               "--listen", "127.0.0.1:%d" % port])
    mine.close()
    stray.close()
    try:
        p.err.wait_for(r"chatd: warning: socket activation: descriptor 4 "
                       r"\(unnamed\) on 127\.0\.0\.1:%d not used: no door is "
                       r"configured there; closed" % stray_port)
        p.err.wait_for(r"listening on 127\.0\.0\.1:%d \(profile chat, "
                       r"backend \w+, passed" % port)
        nick_join_say(port).close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", stray_port), timeout=5)
        assert p.stop() == 0
    finally:
        p.kill()


def test_unknown_name_falls_back_to_the_address():
    s = listening_socket()
    port = s.getsockname()[1]
    p = launch([s], ["--profile", "chat", "--listen", "127.0.0.1:%d" % port],
               names=["chatd.socket"])
    s.close()
    try:
        nick_join_say(port).close()
        assert p.stop() == 0
    finally:
        p.kill()


def test_not_for_this_pid_is_left_alone():
    """LISTEN_PID of another process: the sockets are not ours, and chatd
    binds its own (which the passed socket, still listening, prevents)."""
    s = listening_socket()
    port = s.getsockname()[1]
    env = dict(os.environ, LISTEN_PID="1", LISTEN_FDS="1")
    r = subprocess.run([binary("chatd"), "--profile", "chat", "--listen",
                        "127.0.0.1:%d" % port], env=env, capture_output=True,
                       text=True, timeout=10 * SLOW)
    s.close()
    assert r.returncode == 1
    assert r.stderr == ("chatd: cannot listen on 127.0.0.1:%d: Address "
                        "already in use\n" % port)


def test_a_datagram_socket_is_a_clear_error():
    u = listening_socket(socket.SOCK_DGRAM)
    p = launch([u], ["--profile", "chat", "--listen", "127.0.0.1:0"],
               names=["line"])
    u.close()
    assert p.p.wait(10 * SLOW) == 1
    p.err.wait_for(r"chatd: socket activation: descriptor 3 is not a stream "
                   r"socket \(a datagram socket\) \(FileDescriptorName=line\)")


def test_a_connected_socket_is_a_clear_error():
    lst = listening_socket()
    c = socket.create_connection(lst.getsockname())
    p = launch([c], ["--profile", "chat", "--listen", "127.0.0.1:0"])
    c.close()
    lst.close()
    assert p.p.wait(10 * SLOW) == 1
    p.err.wait_for(r"descriptor 3 is a stream socket that is not listening")


def test_bad_listen_fdnames_is_a_clear_error():
    s = listening_socket()
    p = launch([s], ["--profile", "chat", "--listen", "127.0.0.1:0"],
               names=["line", "irc"])
    s.close()
    assert p.p.wait(10 * SLOW) == 1
    p.err.wait_for(r"chatd: socket activation: LISTEN_FDNAMES has more "
                   r"names than the 1 descriptors")


def test_a_door_the_profile_lacks_is_closed():
    """The line profile has no IRC door: a socket named irc is not used."""
    s = listening_socket()
    port = s.getsockname()[1]
    p = launch([s], ["--profile", "line", "--listen", "127.0.0.1:0"],
               names=["irc"])
    s.close()
    try:
        p.err.wait_for(r"chatd: socket activation: descriptor 3 \(irc\) on "
                       r"127\.0\.0\.1:%d not used: the line profile cannot "
                       r"serve 'irc://'" % port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        assert p.stop(signal.SIGINT) == 0
    finally:
        p.kill()
