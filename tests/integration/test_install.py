"""make install and uninstall, into a DESTDIR: the tree SPEC's "Operation"
asks for (binaries, manual pages, /etc/chatd, systemd units), an installed
chatd that runs, an administrator's configuration never overwritten, and
an uninstall that takes back what install put."""
import os
import subprocess

from helpers import BUILD, ROOT

UNITDIR = "usr/lib/systemd/system"
TREE = [
    "usr/bin/chatd", "usr/bin/chatsrv", "usr/bin/chat", "usr/bin/echod",
    "usr/bin/chatbench",
    "usr/share/man/man1/chatd.1", "usr/share/man/man1/chatsrv.1",
    "usr/share/man/man1/chat.1", "usr/share/man/man1/echod.1",
    "usr/share/man/man1/chatbench.1",
    "etc/chatd/chatd.conf", "etc/chatd/motd",
    UNITDIR + "/chatd.service", UNITDIR + "/chatd.socket",
    UNITDIR + "/chatd-irc.socket", UNITDIR + "/chatd-http.socket",
]


def make(*args):
    # Not the outer make's jobserver: this make is a child of pytest.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    b = os.path.relpath(BUILD, ROOT)
    return subprocess.run(["make", "--no-print-directory", "B=" + b] +
                          list(args), cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=300)


def files(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def test_install_tree_and_uninstall(tmp_path):
    dest = str(tmp_path / "root")
    r = make("install", "DESTDIR=" + dest, "PREFIX=/usr")
    assert r.returncode == 0, r.stdout
    assert files(dest) == set(TREE)
    assert os.readlink(os.path.join(dest, "usr/bin/chatsrv")) == "chatd"

    v = subprocess.run([os.path.join(dest, "usr/bin/chatd"), "--version"],
                       stdout=subprocess.PIPE, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("chatd "), v.stdout
    for name in ("chat", "echod", "chatbench"):
        v = subprocess.run([os.path.join(dest, "usr/bin", name), "--version"],
                           stdout=subprocess.PIPE, text=True, timeout=10)
        assert v.returncode == 0 and v.stdout.startswith(name + " ")

    # The units name the installed binary and configuration.
    unit = open(os.path.join(dest, UNITDIR, "chatd.service")).read()
    assert "ExecStart=/usr/bin/chatd --config /etc/chatd/chatd.conf" in unit
    assert open(os.path.join(dest, "etc/chatd/chatd.conf")).read() == \
        open(os.path.join(ROOT, "etc/chatd.conf")).read()

    # A second install keeps the administrator's edits.
    conf = os.path.join(dest, "etc/chatd/chatd.conf")
    with open(conf, "a") as f:
        f.write("max-clients 5\n")
    r = make("install", "DESTDIR=" + dest, "PREFIX=/usr")
    assert r.returncode == 0, r.stdout
    assert "keeping" in r.stdout
    assert open(conf).read().endswith("max-clients 5\n")

    # Uninstall takes back the rest and leaves the edited file.
    r = make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
    assert r.returncode == 0, r.stdout
    assert files(dest) == {"etc/chatd/chatd.conf"}


def test_install_prefix_rewrites_units(tmp_path):
    dest = str(tmp_path / "root")
    r = make("install", "DESTDIR=" + dest, "PREFIX=/opt/chatd",
             "SYSCONFDIR=/opt/chatd/etc", "SYSTEMDUNITDIR=/opt/chatd/units")
    assert r.returncode == 0, r.stdout
    got = files(dest)
    assert "opt/chatd/bin/chatd" in got
    assert "opt/chatd/share/man/man1/chatd.1" in got
    assert "opt/chatd/etc/chatd/chatd.conf" in got
    unit = open(os.path.join(dest, "opt/chatd/units/chatd.service")).read()
    assert ("ExecStart=/opt/chatd/bin/chatd --config "
            "/opt/chatd/etc/chatd/chatd.conf") in unit
