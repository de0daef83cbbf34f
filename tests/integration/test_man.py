"""The manual pages: mandoc -Tlint reports nothing (scripts/man-check.sh),
every option a program's --help lists is in its page, and chatd(1) and the
example configuration hold every option SPEC gives chatd."""
import os
import re
import shutil
import subprocess

import pytest

from helpers import BUILD, ROOT, binary

PAGES = ["chatd", "chat", "echod", "chatbench"]
# SPEC's options, beside those --help lists today.
SPEC_ONLY = ["config", "tls-cert", "tls-key", "cluster", "flood-burst",
             "flood-rate"]


def page(name):
    return open(os.path.join(ROOT, "man", name + ".1")).read()


def help_options(name):
    out = subprocess.run([binary(name), "--help"], stdout=subprocess.PIPE,
                         text=True, timeout=10).stdout
    return sorted(set(re.findall(r"--([a-z][a-z-]*)", out)))


@pytest.mark.skipif(shutil.which("mandoc") is None,
                    reason="mandoc is not installed")
def test_mandoc_lint_is_clean():
    r = subprocess.run(["sh", "scripts/man-check.sh", BUILD], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("name", PAGES)
def test_page_has_every_help_option(name):
    text = page(name)
    for opt in help_options(name):
        assert re.search(r"Fl -%s\b" % re.escape(opt), text), \
            "%s.1 lacks --%s" % (name, opt)


def test_chatd_page_and_config_have_spec_options():
    text = page("chatd")
    conf = open(os.path.join(ROOT, "etc", "chatd.conf")).read()
    for opt in SPEC_ONLY + help_options("chatd"):
        assert re.search(r"Fl -%s\b" % re.escape(opt), text), opt
        if opt not in ("help", "version", "config"):
            assert re.search(r"^#?%s " % re.escape(opt), conf, re.M), \
                "etc/chatd.conf lacks %s" % opt
    for profile in ["line", "chat", "sink-seq", "sink", "echo", "relay",
                    "packet", "select-chat"]:
        assert re.search(r"^\.It Cm %s$" % re.escape(profile), text, re.M)
    for scheme in ["tcp", "irc", "http", "tls", "ircs", "https"]:
        assert ".It Li %s://" % scheme in text
