"""--config FILE and SIGHUP: options from a file between the profile's
defaults and the command line, clear errors naming the file and line, and
a reload that changes what can change with every client staying."""
import os
import signal
import subprocess

from helpers import SLOW, Server, binary, connect, recv_until


def until(sock, needle):
    return recv_until(sock, lambda d: needle in d)


def run_chatd(*args):
    return subprocess.run([binary("chatd")] + list(args), capture_output=True,
                          text=True, timeout=10 * SLOW)


def write(path, text):
    path.write_text(text)
    return str(path)


def greeted(port):
    """Connect to a chat-profile line door; return the socket and what
    came before the join line (the Welcome and the MOTD)."""
    s = connect(port)
    got = until(s, b"joined #lobby\n")
    return s, got.decode()


def test_options_come_from_the_file_and_flags_win(tmp_path):
    motd = write(tmp_path / "motd", "from the file\n")
    conf = write(tmp_path / "chatd.conf",
                 "# chatd.conf\n"
                 "profile chat        # the full server\n"
                 "\n"
                 "   motd %s\n"
                 "queue-limit 64K\n"
                 "greeting \"a # kept, in quotes\"\n"
                 "listen 127.0.0.1:1\n" % motd)
    # The flag's --listen replaces the file's (port 1 would need root and
    # be refused: the server would not start).
    with Server(["--config", conf], listen="127.0.0.1:0") as srv:
        assert "profile chat" in srv.err.text()
        s, got = greeted(srv.port)
        assert "from the file" in got
        s.close()


def test_the_profile_flag_beats_the_file(tmp_path):
    conf = write(tmp_path / "c.conf", "profile chat\n")
    with Server(["--config", conf, "--profile", "line"]) as srv:
        assert "profile line" in srv.err.text()


def test_unknown_option_names_file_and_line(tmp_path):
    conf = write(tmp_path / "c.conf", "profile chat\n\n# x\nbogus 1\n")
    r = run_chatd("--config", conf)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == \
        "chatd: %s:4: unknown option 'bogus'" % conf


def test_bad_value_names_file_and_line(tmp_path):
    conf = write(tmp_path / "c.conf", "queue-limit lots\n")
    r = run_chatd("--config", conf, "--listen", "127.0.0.1:0")
    assert r.returncode == 2
    assert r.stderr.startswith("chatd: %s:1: bad --queue-limit 'lots'" % conf)


def test_config_cannot_name_another_config(tmp_path):
    conf = write(tmp_path / "c.conf", "config /etc/passwd\n")
    r = run_chatd("--config", conf)
    assert r.returncode == 2
    assert "unknown option 'config'" in r.stderr


def test_missing_file_and_unclosed_quote(tmp_path):
    r = run_chatd("--config", str(tmp_path / "nope"))
    assert r.returncode == 2
    assert "cannot read %s" % (tmp_path / "nope") in r.stderr
    conf = write(tmp_path / "q.conf", "greeting \"open\n")
    r = run_chatd("--config", conf)
    assert r.returncode == 2
    assert "%s:1: no closing quote" % conf in r.stderr


def test_sighup_reloads_the_motd_and_keeps_clients(tmp_path):
    motd = tmp_path / "motd"
    motd.write_text("first motd\n")
    conf = write(tmp_path / "c.conf", "profile chat\nmotd %s\n" % motd)
    with Server(["--config", conf]) as srv:
        a, got = greeted(srv.port)
        assert "first motd" in got
        motd.write_text("second motd\n")
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"reloaded the configuration from ")
        b, got = greeted(srv.port)
        assert "second motd" in got
        # a stayed, and hears b.
        b.sendall(b"hello after reload\n")
        until(a, b"hello after reload\n")
        a.close()
        b.close()


def test_sighup_with_a_broken_file_changes_nothing(tmp_path):
    motd = tmp_path / "motd"
    motd.write_text("the motd\n")
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\nmotd %s\n" % motd)
    with Server(["--config", str(conf)]) as srv:
        a, _ = greeted(srv.port)
        conf.write_text("profile chat\nmotd %s\nnonsense here\n" % motd)
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"reload: .*c\.conf:3: unknown option 'nonsense': "
                         r"the running configuration stays")
        b, got = greeted(srv.port)
        assert "the motd" in got
        a.close()
        b.close()
        assert srv.alive()


def test_sighup_says_what_takes_a_restart(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("profile chat\n")
    with Server(["--config", str(conf)]) as srv:
        a, _ = greeted(srv.port)
        conf.write_text("profile line\n")
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"reload: profile changed: that takes a restart")
        srv.err.wait_for(r"reloaded the configuration")
        b, got = greeted(srv.port)           # still the chat profile
        assert got.startswith("Welcome")
        a.close()
        b.close()


def test_sighup_without_a_file_is_harmless():
    with Server(["--profile", "chat"]) as srv:
        a, _ = greeted(srv.port)
        srv.p.send_signal(signal.SIGHUP)
        srv.err.wait_for(r"reloaded the configuration\n")
        a.sendall(b"/who\n")
        until(a, b"*** #lobby:")
        a.close()


def test_the_example_config_is_valid():
    """etc/chatd.conf, as installed, with its MOTD and a free port."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    conf = os.path.join(root, "etc", "chatd.conf")
    motd = os.path.join(root, "etc", "motd")
    with Server(["--config", conf, "--motd", motd]) as srv:
        assert "profile chat" in srv.err.text()
        s, got = greeted(srv.port)
        s.close()
