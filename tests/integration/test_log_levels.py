"""Log lines with a priority.  When stdout and stderr are the journal
(JOURNAL_STREAM names their DEV:INO, as systemd sets it), every line
starts <N> (3 err, 4 warning, 5 notice, 6 info, 7 debug) and drops the
program name; on a console the exercises' lines stay as they were and the
chat profile's warnings say "warning:"."""
import os
import signal
import socket
import subprocess

from helpers import SLOW, Stream, Server, binary, connect, recv_until


class Journaled:
    """chatd with stdout and stderr on one pipe, as systemd's journal
    stream, and JOURNAL_STREAM set to that pipe's DEV:INO (or to another
    file's, when mismatched)."""

    def __init__(self, args, mismatched=False):
        r, w = os.pipe()
        st = os.fstat(os.open(os.devnull, os.O_RDONLY) if mismatched else w)
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev,
                                                          st.st_ino))
        self.p = subprocess.Popen([binary("chatd")] + list(args), env=env,
                                  stdin=subprocess.DEVNULL, stdout=w,
                                  stderr=w)
        os.close(w)
        self.out = Stream(os.fdopen(r, "rb", buffering=0))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(10 * SLOW)


def test_journal_lines_carry_priorities(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\n")
    j = Journaled(["--config", str(conf), "--listen", "127.0.0.1:0"])
    try:
        m = j.out.wait_for(r"(?m)^<5>listening on 127\.0\.0\.1:(\d+) "
                           r"\(profile chat")
        s = connect(int(m.group(1)))
        recv_until(s, lambda d: b"joined #lobby\n" in d)
        j.out.wait_for(r"(?m)^<6>accepted connection from 127\.0\.0\.1:")
        conf.write_text("profile line\n")
        j.p.send_signal(signal.SIGHUP)
        j.out.wait_for(r"(?m)^<4>reload: profile changed: that takes a "
                       r"restart$")
        j.out.wait_for(r"(?m)^<5>reloaded the configuration from ")
        s.close()
        assert j.stop() == 0
        # Every line has its priority; none names the program.
        lines = j.out.text().splitlines()
        assert lines and all(line[:1] == "<" and line[2:3] == ">"
                             for line in lines), lines
        assert "chatd:" not in j.out.text()
    finally:
        j.p.kill()


def test_journal_fatal_error_is_err():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    j = Journaled(["--listen", "127.0.0.1:%d" % port])
    try:
        assert j.p.wait(10 * SLOW) == 1
        j.out.wait_for(r"(?m)^<3>cannot listen on 127\.0\.0\.1:%d: Address "
                       r"already in use$" % port)
    finally:
        j.p.kill()
        taken.close()


def test_journal_debug_is_7():
    j = Journaled(["--profile", "chat", "--listen", "127.0.0.1:0",
                   "--log", "trace"])
    try:
        j.out.wait_for(r"<5>listening on")
        j.p.send_signal(signal.SIGUSR1)
        j.out.wait_for(r"(?m)^<7>signal %d ignored$" % signal.SIGUSR1)
        assert j.stop() == 0
    finally:
        j.p.kill()


def test_another_stream_is_not_the_journal():
    """JOURNAL_STREAM left over from a parent, naming another file: the
    console stays a console."""
    j = Journaled(["--profile", "chat", "--listen", "127.0.0.1:0"],
                  mismatched=True)
    try:
        j.out.wait_for(r"(?m)^chatd: listening on 127\.0\.0\.1:")
        assert "<5>" not in j.out.text()
        assert j.stop() == 0
    finally:
        j.p.kill()


def test_console_warnings_say_so_in_the_chat_profile_only(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\n")
    with Server(["--config", str(conf)]) as srv:
        conf.write_text("profile line\n")
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"(?m)^chatd: warning: reload: profile changed: "
                         r"that takes a restart$")
        srv.err.wait_for(r"(?m)^chatd: reloaded the configuration from ")
    # The echo exercise's stderr is as it always was.
    with Server(["--profile", "echo", "--max-clients", "1"]) as srv:
        a = connect(srv.port)
        b = connect(srv.port)
        srv.err.wait_for(r"(?m)^chatd: refused 127\.0\.0\.1:\d+: server full "
                         r"\(1 clients\)$")
        assert "warning" not in srv.err.text()
        a.close()
        b.close()
