"""Drive headless Chromium over the DevTools protocol, for web door tests.

Standard library only (its own small WebSocket client), so it runs under
/usr/bin/python3 with nothing from PyPI.  Needs Debian's `chromium`.

    from web_driver import Browser
    with Browser(width=1280, height=800) as b:
        b.navigate("http://127.0.0.1:8080/")
        b.type_and_enter("alice", selector="#nick")      # the nickname prompt
        b.wait_for_text("You joined #lobby")
        b.type_and_enter("hello")                        # the message input
        b.screenshot("/tmp/desktop.png")
        assert not b.errors                              # no uncaught JS errors

Every wait is bounded: a wait that does not succeed raises TimeoutError.
Chromium is started with its own throwaway profile and killed (by its PID)
on close().  Set CHATD_CHROMIUM to use another binary."""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request


def find_chromium():
    """The Chromium binary to use, or None when there is none."""
    for c in (os.environ.get("CHATD_CHROMIUM"), "chromium", "chromium-browser",
              "google-chrome", "chrome"):
        if c and shutil.which(c):
            return shutil.which(c)
    return None


class _WebSocket:
    """The client side of RFC 6455, enough for the DevTools protocol."""

    def __init__(self, url, timeout=10.0):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)$", url)
        if not m:
            raise ValueError("not a ws:// URL: " + url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError("DevTools handshake refused: %r" % head[:200])

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("DevTools connection closed")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text, opcode=1):
        data = text.encode() if isinstance(text, str) else text
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def recv(self, timeout):
        """One text message (fragments joined); None if none came in time."""
        self.sock.settimeout(timeout)
        msg = b""
        try:
            while True:
                b0, b1 = self._take(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._take(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._take(8))[0]
                mask = self._take(4) if b1 & 0x80 else None
                data = self._take(n)
                if mask:
                    data = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
                op = b0 & 0x0F
                if op == 9:                      # ping
                    self.send(data, opcode=10)
                    continue
                if op == 8:
                    raise ConnectionError("DevTools connection closed")
                if op in (0, 1, 2):
                    msg += data
                    if b0 & 0x80:
                        return msg.decode("utf-8", "replace")
        except socket.timeout:
            return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Browser:
    """A headless Chromium with one page, driven over DevTools.

    Attributes: events (every DevTools event seen, as dicts), console (the
    page's console.* lines, as strings), errors (uncaught exceptions)."""

    def __init__(self, width=1280, height=800, mobile=False, chromium=None,
                 timeout=20.0, extra_args=()):
        self.binary = chromium or find_chromium()
        if not self.binary:
            raise FileNotFoundError("no chromium: apt-get install chromium")
        self.timeout = timeout
        self.events, self.console, self.errors = [], [], []
        self._id = 0
        self.profile = tempfile.mkdtemp(prefix="chatd-chromium-")
        args = [self.binary, "--headless=new", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--remote-allow-origins=*",
                "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (width, height)]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        args += list(extra_args) + ["about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.ws = None
        try:
            self._attach()
            self.set_viewport(width, height, mobile)
        except BaseException:
            self.close()
            raise

    def _attach(self):
        deadline = time.monotonic() + self.timeout
        port = None
        seen = b""
        while port is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TimeoutError("chromium did not start: %r" % seen[-500:])
            line = self.proc.stderr.readline()
            seen += line
            m = re.search(rb"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        # Keep draining stderr so chromium never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stderr],
                         daemon=True).start()
        while True:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                        timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("chromium has no page")
            time.sleep(0.1)
        self.ws = _WebSocket(pages[0]["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime"):
            self.call(domain + ".enable")

    # -- the protocol ---------------------------------------------------
    def call(self, method, **params):
        """Send one DevTools command and return its result (a dict)."""
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            msg = self.ws.recv(max(left, 0.01)) if left > 0 else None
            if msg is None:
                raise TimeoutError("no answer to " + method)
            d = json.loads(msg)
            if d.get("id") == my:
                if "error" in d:
                    raise RuntimeError("%s: %s" % (method, d["error"]))
                return d.get("result", {})
            self._event(d)

    def _event(self, d):
        if "method" not in d:
            return
        self.events.append(d)
        p = d.get("params", {})
        if d["method"] == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", a.get("description", "")))
                                         for a in p.get("args", [])))
        elif d["method"] == "Runtime.exceptionThrown":
            ex = p.get("exceptionDetails", {})
            self.errors.append(ex.get("exception", {}).get("description")
                               or ex.get("text", "exception"))

    def pump(self, seconds=0.0):
        """Read pending events for up to `seconds` (console, errors, ...)."""
        deadline = time.monotonic() + seconds
        while True:
            msg = self.ws.recv(max(deadline - time.monotonic(), 0.01))
            if msg is None:
                return
            self._event(json.loads(msg))

    # -- the page -------------------------------------------------------
    def navigate(self, url, timeout=None):
        """Load url and wait until the document has loaded."""
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'",
                      timeout)

    def evaluate(self, expression, await_promise=False):
        """Evaluate JS in the page; return its value (JSON-able values only)."""
        r = self.call("Runtime.evaluate", expression=expression,
                      returnByValue=True, awaitPromise=await_promise,
                      userGesture=True)
        if "exceptionDetails" in r:
            ex = r["exceptionDetails"]
            raise RuntimeError("JS error: %s" % (ex.get("exception", {}).get(
                "description") or ex.get("text")))
        return r.get("result", {}).get("value")

    def wait_for(self, expression, timeout=None, interval=0.1):
        """Poll a JS expression until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            v = self.evaluate(expression)
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("still false: " + expression)
            self.pump(interval)

    def text(self, selector="body"):
        """The visible text (innerText) of the first element matching selector."""
        return self.evaluate("(e => e ? e.innerText : null)(document.querySelector(%s))"
                             % json.dumps(selector))

    def wait_for_text(self, needle, selector="body", timeout=None):
        """Wait until `needle` appears in text(selector); return that text."""
        return self.wait_for("(e => e && e.innerText.includes(%s) && e.innerText)"
                             "(document.querySelector(%s))"
                             % (json.dumps(needle), json.dumps(selector)), timeout)

    def click(self, selector):
        """Click the first element matching selector (element.click())."""
        if not self.evaluate("(e => e ? (e.click(), true) : false)(document.querySelector(%s))"
                             % json.dumps(selector)):
            raise LookupError("no element " + selector)

    def type_text(self, text, selector="#input"):
        """Focus the element and type text into it, as a user would."""
        if not self.evaluate("(e => e ? (e.focus(), true) : false)(document.querySelector(%s))"
                             % json.dumps(selector)):
            raise LookupError("no element " + selector)
        self.call("Input.insertText", text=text)

    def press(self, key="Enter"):
        """Press and release a key (Enter, Tab, Escape, ArrowUp, ArrowDown)."""
        codes = {"Enter": (13, "\r"), "Tab": (9, ""), "Escape": (27, ""),
                 "ArrowUp": (38, ""), "ArrowDown": (40, ""), "Backspace": (8, "")}
        vk, txt = codes.get(key, (0, key if len(key) == 1 else ""))
        down = dict(type="keyDown", key=key, code=key if vk else "",
                    windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)
        if txt:
            down.update(type="keyDown", text=txt, unmodifiedText=txt)
        self.call("Input.dispatchKeyEvent", **down)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=key,
                  code=down["code"], windowsVirtualKeyCode=vk,
                  nativeVirtualKeyCode=vk)

    def type_and_enter(self, text, selector="#input"):
        """type_text, then Enter."""
        self.type_text(text, selector)
        self.press("Enter")

    def set_viewport(self, width, height, mobile=False, scale=None):
        """Emulate a screen: e.g. (1280, 800) or (390, 844, mobile=True)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=scale or (3 if mobile else 1), mobile=mobile)
        self.call("Emulation.setTouchEmulationEnabled", enabled=bool(mobile))

    def screenshot(self, path, width=None, height=None, mobile=False):
        """Write a PNG of the viewport to path (resizing it first if asked)."""
        if width and height:
            self.set_viewport(width, height, mobile, scale=1)
            self.pump(0.3)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        """Kill this chromium (by PID) and remove its profile."""
        if self.ws:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    # Smoke use: web_driver.py URL [PNG [WIDTHxHEIGHT]] prints the page's text.
    import sys
    if len(sys.argv) < 2:
        sys.exit("usage: web_driver.py URL [PNG [WIDTHxHEIGHT]]")
    w, h = map(int, (sys.argv[3] if len(sys.argv) > 3 else "1280x800").split("x"))
    with Browser(w, h, mobile=w < 600) as b:
        b.navigate(sys.argv[1])
        print(b.text())
        if len(sys.argv) > 2:
            b.screenshot(sys.argv[2])
        b.pump(0.2)
        for e in b.errors:
            print("JS error:", e, file=sys.stderr)
