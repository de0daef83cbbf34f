"""Cluster: three chatd nodes on one redis-server, on loopback.

Users on every node chat in one room and see one order; nicknames are
unique across nodes; /who lists everyone; a node killed with SIGKILL loses
its users everywhere (--cluster-expiry 3, a hidden option, so that takes
seconds, not the default 15-30); Redis killed, stalled (SIGSTOP) or
dropping the subscribers: clients are told, chat stays local, and it all
comes back."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from helpers import (BACKENDS, SLOW, VALGRIND, Proc, Server, connect,
                     free_port)

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None,
                                reason="redis-server is not installed")


class Redis:
    def __init__(self, port):
        self.port = port
        self.start()

    def start(self):
        self.p = Proc([REDIS, "--port", str(self.port), "--bind", "127.0.0.1",
                       "--save", "", "--appendonly", "no"])
        self.p.out.wait_for(r"Ready to accept connections", timeout=10)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True,
                              timeout=10).stdout

    def stop(self):
        if self.p.alive():
            os.kill(self.p.pid, signal.SIGCONT)
            self.p.kill()


class Client:
    """A line client: send lines, wait for what arrives."""

    def __init__(self, port):
        self.s = connect(port)
        self.buf = ""
        self.wait(r"Welcome to chatd, (\S+)!")

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")

    def wait(self, pattern, timeout=5.0):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} in {self.buf[-800:]!r}")
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError(f"closed; no {pattern!r}")
            self.buf += data.decode("utf-8", "replace")

    def who(self, names, timeout=5.0):
        """Ask /who until every one of names is listed."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            self.send("/who")
            m = self.wait(r"^\*\*\* #lobby: (.*)$")
            listed = set(n.lstrip("@+") for n in m.group(1).split())
            if set(names) <= listed or time.monotonic() > deadline:
                return listed
            time.sleep(0.2)


# Under valgrind a node runs ten times slower than the 3 s heartbeat
# expiry these tests use, so the nodes take each other for dead.
heartbeat_bound = pytest.mark.skipif(
    VALGRIND, reason="the 3 s node expiry is shorter than valgrind's slowdown")


@pytest.fixture
def cluster():
    redis = Redis(free_port())
    url = f"redis://127.0.0.1:{redis.port}"
    # Each node on another backend: every test runs on all three.
    nodes = [Server(["--profile", "chat", "--cluster", url, "--node-name",
                     f"n{i + 1}", "--cluster-expiry", "3",
                     "--backend", BACKENDS[i % len(BACKENDS)]])
             for i in range(3)]
    for n in nodes:
        n.err.wait_for(r"cluster: link up", timeout=10)
    yield redis, nodes
    redis.stop()
    for n in nodes:
        if n.alive():
            # A clean exit, and no report from ASan or UBSan on the way.
            assert n.stop() == 0, n.err.text()[-2000:]
        assert not re.search(r"Sanitizer|runtime error:", n.err.text()), \
            n.err.text()[-2000:]


def users(nodes, names):
    cs = []
    for i, name in enumerate(names):
        c = Client(nodes[i % len(nodes)].port)
        # At once: the join is still on its way through Redis.
        c.send(f"/nick {name}")
        c.wait(rf"is now known as {name}")
        cs.append(c)
    for c in cs:
        assert set(names) <= c.who(names), "every node lists every user"
    return cs


def test_rename_before_join_returns(cluster):
    """Users who rename while their join is still on its way through
    Redis are listed under their new names everywhere, never as guests."""
    _, nodes = cluster
    names = [f"r{i}" for i in range(9)]
    cs = users(nodes, names)
    for c in cs:
        listed = c.who(names)
        strangers = [n for n in listed if n.startswith("guest")]
        assert not strangers, f"listed under old names: {strangers}"
    cs[4].send("hello all")
    for c in cs:
        c.wait(r"^r4: hello all$")


def test_one_room_everywhere(cluster):
    """Each node makes a room of its own when its first member joins; the
    oldest one wins everywhere: its topic, and its operators alone."""
    _, nodes = cluster
    alice = users(nodes[:1], ["alice"])[0]
    alice.send("/topic cats only")
    alice.wait(r"set the topic of #lobby: cats only$")
    bob, carol = users(nodes[1:], ["bob", "carol"])
    for c in (bob, carol):
        c.send("/topic")
        c.wait(r"^\*\*\* topic of #lobby: cats only$")
    for c in (alice, bob, carol):
        c.send("/who")
        got = c.wait(r"^\*\*\* #lobby: (.*)$").group(1).split()
        assert sorted(got) == ["@alice", "bob", "carol"], got


def test_irc_client_sees_the_netjoin(cluster):
    """An IRC client first on its node in a room hears of the members of
    other nodes as they are named: each one's JOIN, then its +o."""
    redis, nodes = cluster
    alice = users(nodes[:1], ["alice"])[0]
    # "z": n1's room is the older even if both began in the same second.
    irc = door_node(redis, "z", "irc")
    try:
        c = connect(irc.door_port)
        c.sendall(b"NICK ivy\r\nUSER i 0 * :I\r\nJOIN #lobby\r\n")
        c.settimeout(5 * SLOW)
        got = b""
        while not re.search(rb"MODE #lobby \+o alice\r\n", got):
            try:
                got += c.recv(4096)
            except socket.timeout:
                raise AssertionError(got)
        assert re.search(rb"^:alice!\S+ JOIN #lobby\r\n.*MODE #lobby \+o alice",
                         got, re.M | re.S), got
        alice.send("/quit")
    finally:
        irc.stop()


def test_private_to_a_user_sharing_no_room(cluster):
    """A private message reaches a user on another node that no room
    here shares, through its nickname's claim; a nickname nobody holds
    is answered."""
    _, nodes = cluster
    alice, bob = users(nodes[:2], ["alice", "bob"])
    bob.send("/part #lobby")
    alice.wait(r"^\*\*\* bob left #lobby")
    assert "bob" not in alice.who([])
    alice.send("/msg bob psst")
    alice.wait(r"^-> \*bob\* psst$")
    bob.wait(r"^\*alice\* psst$")
    bob.send("/msg alice and back")
    alice.wait(r"^\*bob\* and back$")
    alice.send("/msg nobody hello?")
    alice.wait(r"^\*\*\* no such nick nobody$")


def test_rooms_lists_every_nodes_rooms(cluster):
    """/rooms shows rooms that have members on other nodes only, with the
    members of every node counted."""
    _, nodes = cluster
    a1, a2, b2 = users(nodes[:2] + nodes[1:2], ["a1", "a2", "b2"])
    for c in (a2, b2):
        c.send("/join #cats")
        c.wait(r"joined #cats$")
    a2.send("/topic #cats purr")
    a2.wait(r"set the topic of #cats: purr$")
    deadline = time.monotonic() + 10 * SLOW
    while True:
        a1.send("/rooms")
        listed = [a1.wait(r"^\*\*\* (#\S+ \(\d+\).*)$").group(1)]
        while not listed[-1].startswith("#lobby"):     # sorted: the last
            listed.append(a1.wait(r"^\*\*\* (#\S+ \(\d+\).*)$").group(1))
        if "#cats (2) purr" in listed or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert listed == ["#cats (2) purr", "#lobby (3)"], listed


def chat_lines(c, n):
    lines = []
    for _ in range(n):
        lines.append(c.wait(r"^(a\d: m\d+)$").group(1))
    return lines


def test_one_order_across_nodes(cluster):
    _, nodes = cluster
    cs = users(nodes, ["a1", "a2", "a3"])
    for i in range(10):
        for j, c in enumerate(cs):
            c.send(f"m{i * 3 + j}")
    seen = [chat_lines(c, 30) for c in cs]
    assert seen[0] == seen[1] == seen[2], "one order for all"
    assert sorted(seen[0]) == sorted(f"a{j + 1}: m{i * 3 + j}"
                                     for i in range(10) for j in range(3))


def test_nickname_taken_on_another_node(cluster):
    _, nodes = cluster
    a1, a2, a3 = users(nodes, ["alice", "bob", "carol"])
    a2.send("/nick alice")
    a2.wait(r"^\*\*\* error: .*alice")
    # Not sharing a room, the node cannot know: Redis refuses the claim.
    a2.send("/part #lobby")
    a2.wait(r"left #lobby")
    a2.send("/nick Alice")
    a2.wait(r"nickname Alice is taken on another server; you are now bob")
    a1.send("still me")
    a1.wait(r"^alice: still me$")
    a1.send("/quit gone fishing")
    a3.wait(r"^\*\*\* alice quit \(gone fishing\)$")


@heartbeat_bound
def test_dead_node_users_vanish(cluster):
    _, nodes = cluster
    a1, a2, _ = users(nodes, ["a1", "a2", "a3"])
    t0 = time.monotonic()
    nodes[2].kill()
    for c in (a1, a2):
        c.wait(r"^\*\*\* a3 quit \(node gone\)$", timeout=30)
    took = time.monotonic() - t0
    assert took < 30
    assert "a3" not in a1.who([])
    assert "a3" not in a2.who([])
    print(f"dead node's users gone after {took:.1f} s")


def across(a, b, text):
    a.send(text)
    b.wait(rf": {text}$")


@heartbeat_bound
def test_redis_killed_and_restarted(cluster):
    redis, nodes = cluster
    a1, a2, _ = users(nodes, ["a1", "a2", "a3"])
    local = Client(nodes[0].port)
    t0 = time.monotonic()
    redis.p.kill()
    a1.wait(r"^\*\*\* cluster link lost; messages reach this server only$")
    print(f"loss seen after {time.monotonic() - t0:.1f} s")
    a1.send("only here")
    local.wait(r"^a1: only here$")
    redis.start()
    t0 = time.monotonic()
    a1.wait(r"^\*\*\* cluster link back$", timeout=15)
    a2.wait(r"^\*\*\* cluster link back$", timeout=15)
    print(f"link back after {time.monotonic() - t0:.1f} s")
    across(a1, a2, "again")
    across(a2, a1, "and back")
    assert "a2" in a1.who(["a2"]), "membership written again"


@heartbeat_bound
def test_outage_leavers_leave(cluster):
    """Who left during a Redis outage leaves the other nodes' lists once
    the link is back."""
    redis, nodes = cluster
    a1, a2, a3 = users(nodes, ["a1", "a2", "a3"])
    b3 = users(nodes[2:], ["b3"])[0]
    for c in (a1, a2):
        assert "b3" in c.who(["b3"])
    redis.p.kill()
    for c in (a1, a2, a3):
        c.wait(r"^\*\*\* cluster link lost")
    a3.send("/quit bye")            # its node cannot tell the others
    b3.send("/part #lobby")
    b3.wait(r"left #lobby")
    redis.start()
    for c in (a1, a2):
        c.wait(r"^\*\*\* cluster link back$", timeout=15)
    t0 = time.monotonic()
    for c in (a1, a2):
        gone = {c.wait(r"^\*\*\* (\S+) left #lobby \(left during a cluster "
                       r"outage\)$", timeout=15).group(1) for _ in (1, 2)}
        assert gone == {"a3", "b3"}, gone
    print(f"leavers gone {time.monotonic() - t0:.1f} s after the link")
    for c in (a1, a2):
        listed = c.who([])
        assert "a3" not in listed and "b3" not in listed, listed


def metrics(node):
    """node's /metrics, as {series: value}."""
    s = connect(node.http_port)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1].decode()
    return {k: float(v) for k, v in
            (ln.rsplit(" ", 1) for ln in body.splitlines()
             if ln and not ln.startswith("#"))}


def door_node(redis, name, scheme):
    """A fourth node, with a line door and a scheme:// door (door_port)."""
    node = Server(["--profile", "chat", "--cluster",
                   f"redis://127.0.0.1:{redis.port}", "--node-name", name,
                   "--cluster-expiry", "3",
                   "--listen", f"{scheme}://127.0.0.1:0"])
    node.err.wait_for(r"listening on 127\.0\.0\.1:\d+.*\n.*"
                      r"listening on 127\.0\.0\.1:(\d+)", start=0)
    node.door_port = int(re.findall(r"listening on 127\.0\.0\.1:(\d+)",
                                    node.err.text())[1])
    node.err.wait_for(r"cluster: link up", timeout=10)
    return node


def test_invitation_opens_the_room_on_another_node(cluster):
    """An operator's INVITE lets a user of another node into a +i room."""
    redis, nodes = cluster
    irc = door_node(redis, "i", "irc")
    try:
        carol, bob = users(nodes[:1] * 2, ["carol", "bob"])
        op = connect(irc.door_port)
        op.sendall(b"NICK oper\r\nUSER o 0 * :O\r\nJOIN #club\r\n")
        got = b""
        while b"JOIN #club" not in got:
            got += op.recv(4096)
        # carol's node has #club (and learns its +i) before bob asks.
        carol.send("/join #club")
        carol.wait(r"^\*\*\* oper joined #club$")
        # The topic after the +i: a node whose list shows the topic has
        # the +i too (both travel in one record).
        op.sendall(b"MODE #club +i\r\nTOPIC #club :members only\r\n")
        carol.wait(r"sets mode \+i on #club$")
        carol.wait(r"set the topic of #club: members only$")
        bob.send("/join #club")
        bob.wait(r"^\*\*\* error: .*#club")
        op.sendall(b"INVITE bob #club\r\n")
        bob.wait(r"^\*\*\* oper invites you to #club")
        bob.send("/join #club")
        bob.wait(r"^\*\*\* bob joined #club$")
        op.settimeout(5 * SLOW)
        while not re.search(rb"^:bob!\S+ JOIN #club", got, re.M):
            got += op.recv(4096)       # the operator sees bob come in
        # dan's node has no member in #club: it knows the room from the
        # other nodes' lists, and holds their +i too.
        dan = users(nodes[1:2], ["dan"])[0]
        deadline = time.monotonic() + 10 * SLOW
        while True:
            dan.send("/rooms")
            if dan.wait(r"^\*\*\* (#\S+ \(\d+\).*)$").group(1).endswith(
                    "members only"):
                break
            assert time.monotonic() < deadline, "#club listed on n2"
            time.sleep(0.3)
        dan.send("/join #club")
        dan.wait(r"^\*\*\* error: #club is invite-only$")
        op.sendall(b"INVITE dan #club\r\n")
        dan.wait(r"^\*\*\* oper invites you to #club")
        dan.send("/join #club")
        dan.wait(r"^\*\*\* dan joined #club$")
    finally:
        irc.stop()


@heartbeat_bound
def test_metrics_follow_the_link(cluster):
    redis, nodes = cluster
    web = door_node(redis, "w", "http")
    web.http_port = web.door_port
    try:
        cs = users(nodes + [web], ["m1", "m2", "m3", "m4"])
        m = metrics(web)
        assert m["chatd_cluster_link_up"] == 1
        assert m["chatd_cluster_remote_users"] == 3
        assert m['chatd_cluster_messages_total{direction="published"}'] > 0
        assert m['chatd_cluster_messages_total{direction="received"}'] > 0
        assert m["chatd_cluster_reconnects_total"] == 0
        redis.p.kill()
        web.err.wait_for(r"local delivery only", timeout=10)
        m = metrics(web)
        assert m["chatd_cluster_link_up"] == 0
        assert m["chatd_cluster_reconnects_total"] >= 1
        assert len(cs) == 4
    finally:
        web.stop()


def test_redis_stalled(cluster):
    redis, nodes = cluster
    a1, a2, _ = users(nodes, ["a1", "a2", "a3"])
    t0 = time.monotonic()
    os.kill(redis.p.pid, signal.SIGSTOP)
    try:
        a1.send("into the void")
        a1.wait(r"^\*\*\* cluster link lost", timeout=10)
        detected = time.monotonic() - t0
        assert 3 < detected < 8, detected
        time.sleep(max(0, 7 - (time.monotonic() - t0)))
    finally:
        os.kill(redis.p.pid, signal.SIGCONT)
    t1 = time.monotonic()
    a1.wait(r"^\*\*\* cluster link back$", timeout=15)
    a2.wait(r"^\*\*\* cluster link back$", timeout=15)
    print(f"stall detected after {detected:.1f} s, "
          f"recovered {time.monotonic() - t1:.1f} s after SIGCONT")
    across(a1, a2, "after the stall")


def test_subscribers_killed(cluster):
    redis, nodes = cluster
    a1, a2, a3 = users(nodes, ["a1", "a2", "a3"])
    assert redis.cli("CLIENT", "KILL", "TYPE", "pubsub").strip() == "3"
    for c in (a1, a2, a3):
        c.wait(r"^\*\*\* cluster link back$", timeout=10)
    deadline = time.monotonic() + 5 * SLOW
    while redis.cli("PUBSUB", "NUMSUB", "chatd:room:#lobby").split()[1:] \
            != ["3"]:
        assert time.monotonic() < deadline, "subscribed again"
        time.sleep(0.1)
    across(a3, a1, "re-subscribed")
