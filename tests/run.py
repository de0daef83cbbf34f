#!/usr/bin/env python3
"""Run chatd's unit and integration tests and print one closing line.

Unit tests are the cmocka programs in BUILD/tests/; integration tests are
pytest files in tests/integration/.  The last line printed is always
`N passed, M failed` over both, and the exit status is non-zero on any
failure (or if nothing ran)."""
import argparse
import glob
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_unit(build):
    passed = failed = 0
    progs = sorted(glob.glob(os.path.join(build, "tests", "test_*")))
    progs = [p for p in progs if os.access(p, os.X_OK) and not p.endswith(".d")]
    for prog in progs:
        proc = subprocess.run([prog], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              errors="replace", timeout=300)
        out = proc.stdout
        ok = len(re.findall(r"^\[       OK \]", out, re.M))
        bad = len(re.findall(r"^\[  (?:FAILED|ERROR) \]", out, re.M))
        if proc.returncode != 0 and bad == 0:
            bad = 1     # crashed before cmocka could report
        name = os.path.basename(prog)
        print(f"unit {name}: {ok} passed, {bad} failed")
        if bad:
            sys.stdout.write(out)
        passed += ok
        failed += bad
    return passed, failed


def run_integration(build, extra):
    xml = os.path.join(build, "pytest.xml")
    env = dict(os.environ, CHATD_BUILD=os.path.abspath(build))
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--junitxml={xml}", os.path.join(ROOT, "tests", "integration")]
    cmd += extra
    if os.path.exists(xml):
        os.unlink(xml)
    proc = subprocess.run(cmd, env=env, cwd=ROOT)
    if not os.path.exists(xml):
        return 0, 1
    root = ET.parse(xml).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    if proc.returncode not in (0, 5) and bad == 0:
        bad = 1
    return total - bad - skipped, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("--integration-only", action="store_true")
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("pytest_args", nargs="*")
    a = ap.parse_args()
    passed = failed = 0
    if not a.integration_only:
        p, f = run_unit(a.build)
        passed += p
        failed += f
    if not a.unit_only:
        extra = list(a.pytest_args)
        if a.sanitize:
            os.environ["CHATD_SANITIZE"] = "1"
        p, f = run_integration(a.build, extra)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
