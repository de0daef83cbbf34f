"""The chat client against chatd: SPEC.md, section chat."""
import subprocess
import time

import pytest

from helpers import Server, binary, wait_until


@pytest.mark.parametrize("backend", ["poll", "select", "epoll"])
def test_piped_line_shows_its_echo(backend):
    with Server([]) as srv:
        r = subprocess.run([binary("chat"), "--backend", backend,
                            "127.0.0.1:%d" % srv.port], input=b"hi\n",
                           capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith(b"Welcome")
        assert lines[1:] == [b"hi"]
        srv.out.wait_for(r"connection terminated.*closed by peer")


def test_two_clients_over_pipes():
    with Server([]) as srv:
        listener = subprocess.Popen([binary("chat"), "127.0.0.1:%d" % srv.port],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        srv.out.wait_for(r"accepted connection")
        r = subprocess.run([binary("chat"), "127.0.0.1:%d" % srv.port],
                           input=b"one\ntwo\n", capture_output=True, timeout=10)
        assert r.stdout.splitlines()[1:] == [b"one", b"two"]
        listener.stdin.close()          # EOF: half-close, then the server closes
        out = listener.stdout.read()
        assert listener.wait(5) == 0
        assert out.splitlines()[1:] == [b"one", b"two"]


@pytest.mark.parametrize("backend", ["poll", "epoll"])
def test_stdin_from_dev_null_and_file(tmp_path, backend):
    """epoll cannot watch a file or /dev/null: chat reads them anyway."""
    f = tmp_path / "lines"
    f.write_bytes(b"from a file\n")
    with Server([]) as srv:
        for src in ("/dev/null", str(f)):
            with open(src, "rb") as fh:
                r = subprocess.run([binary("chat"), "--backend", backend,
                                    "127.0.0.1:%d" % srv.port],
                                   stdin=fh, capture_output=True, timeout=10)
            assert r.returncode == 0
        assert r.stdout.splitlines()[1:] == [b"from a file"]


def test_linger_ends_after_two_seconds_if_server_stays():
    with Server(["--framing", "raw", "--route", "none"]) as srv:
        t0 = time.monotonic()
        r = subprocess.run([binary("chat"), "127.0.0.1:%d" % srv.port],
                           input=b"x\n", capture_output=True, timeout=10)
        took = time.monotonic() - t0
        assert r.returncode == 0
        assert took < 8


def test_cannot_connect():
    r = subprocess.run([binary("chat"), "127.0.0.1:1"], input=b"",
                       capture_output=True, timeout=10)
    assert r.returncode == 1
    assert b"cannot connect to 127.0.0.1:1" in r.stderr


@pytest.mark.parametrize("args", [["--bogus"], ["--backend", "bogus"],
                                  ["--packet"], ["--nick", "x"], ["a", "b"]])
def test_usage_errors(args):
    r = subprocess.run([binary("chat")] + args, capture_output=True, timeout=10)
    assert r.returncode == 2
    assert b"usage: chat" in r.stderr
