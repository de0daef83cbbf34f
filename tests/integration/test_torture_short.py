"""The short form of the torture suite, for `make test`: one quick case of
each attack family from tests/torture/ (mostly on the epoll backend, at the
scaled-down sizes), about 30 seconds in all.  `make torture` runs every
case on every backend at full size."""
import importlib.util
import os
import sys

import pytest

from helpers import VALGRIND

TORTURE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "torture")
sys.path.insert(0, TORTURE)
os.environ.setdefault("TORTURE_FULL", "0")


def family(name):
    """tests/torture/test_<name>.py under a name of its own, so it cannot
    clash with an integration test of the same file name."""
    spec = importlib.util.spec_from_file_location(
        f"torture_{name}", os.path.join(TORTURE, f"test_{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Too slow under valgrind (make valgrind runs this file too).
heavy = pytest.mark.skipif(VALGRIND, reason="too slow under valgrind")

inp = family("input")
slow = family("slow")
conns = family("conns")
races = family("races")
sigs = family("signals")
lies = family("packet_lies")


@heavy
def test_10mb_without_newline():
    inp.test_10mb_without_newline("epoll")


def test_coalesced_equals_trickled():
    inp.test_coalesced_equals_trickled("epoll")


@pytest.mark.parametrize("profile,backend", [("line", "epoll"),
                                             ("packet", "poll"),
                                             ("echo", "epoll"),
                                             ("select-chat", "select")])
def test_binary_garbage(profile, backend, tmp_path):
    inp.test_binary_garbage_into_every_profile(profile, backend, tmp_path)


@heavy
def test_stalled_reader():
    slow.test_stalled_reader_while_100mb_published("epoll", "disconnect")


@heavy
def test_ordering():
    slow.test_ordering_many_senders_many_receivers("poll")


def test_descriptor_exhaustion():
    conns.test_descriptor_exhaustion("epoll")


@heavy
def test_churn():
    conns.test_connect_send_close_cycles("epoll")


@heavy
def test_select_past_fd_setsize():
    conns.test_select_past_fd_setsize("line")


def test_receiver_resets_while_others_send():
    races.test_receiver_resets_while_others_send("epoll")


def test_descriptor_reused_in_one_batch():
    races.test_descriptor_reused_in_one_batch("select", "reset")


def test_half_the_receivers_reset():
    races.test_half_the_receivers_reset_during_a_broadcast("epoll")


@heavy
def test_sigterm_under_load(tmp_path):
    sigs.test_sigterm_under_full_load("epoll", tmp_path)


def test_idle_timeout():
    sigs.test_idle_timeout("poll")


@pytest.mark.parametrize("lie", ["length 2^64-1", "negative type"])
def test_lying_packet_header(lie, tmp_path):
    lies.test_lying_header_is_refused_for_free("epoll", lie, tmp_path)


def test_packet_chunking(tmp_path):
    lies.test_whole_bytewise_and_random_chunks_agree("epoll", tmp_path)


def test_signal_storm():
    sigs.test_signal_storm_during_traffic("epoll")
