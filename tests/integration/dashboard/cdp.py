"""A minimal DevTools-protocol client for headless Chromium over --remote-debugging-pipe
(Python stdlib only): the browser reads commands on its fd 3 and writes answers and events
on its fd 4, each message a JSON text ended by a NUL byte. One page target, flat sessions.

Every wait is bounded; the browser is started in its own process group and killed by PID."""
import base64
import json
import os
import select
import subprocess
import time


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, binary, profile_dir, log_path, width=1280, height=900):
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()
        self.width, self.height = width, height

        def child_fds():
            # The browser's fd 3 reads our commands, its fd 4 writes to us (copied out of the
            # way first: either end may itself be 3 or 4). 3 and 4 are in pass_fds, so the
            # close_fds pass after this function leaves them open.
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.setsid()

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--ignore-certificate-errors", "--remote-debugging-pipe",
                "--user-data-dir=" + profile_dir, "--window-size=%d,%d" % (width, height),
                "about:blank"]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     pass_fds=(3, 4, to_browser_r, from_browser_w),
                                     preexec_fn=child_fds)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.session = None
        self.fulfil = None

    # ---- wire ----
    def _send(self, method, params=None, session=True):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session is not None:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._w, data)
            data = data[n:]
        return self._id

    def _read_one(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("the browser did not answer in time")
            r, _, _ = select.select([self._r], [], [], left)
            if not r:
                continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise CdpError("the browser closed its pipe (exit %s)" % self.proc.poll())
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, timeout=20, session=True):
        want = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_one(deadline)
            if msg.get("id") == want:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self._event(msg)

    def _event(self, msg):
        self.events.append(msg)
        if msg["method"] == "Fetch.requestPaused" and self.fulfil is not None:
            p = msg["params"]
            status, body = self.fulfil(p["request"]["url"])
            self._send("Fetch.fulfillRequest", {
                "requestId": p["requestId"], "responseCode": status,
                "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
                "body": base64.b64encode(body).decode()})

    def errors(self):
        """Script exceptions and console errors the pages reported so far."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(d.get("exception", {}).get("description") or d.get("text"))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append(" ".join(str(a.get("value", a.get("description")))
                                    for a in p.get("args", [])))
        return out

    def intercept(self, url_pattern, fulfil):
        """Answer requests matching url_pattern with fulfil(url) -> (status, body bytes)
        instead of the network; fulfil None stops."""
        self.fulfil = fulfil
        if fulfil is None:
            self.call("Fetch.disable")
        else:
            self.call("Fetch.enable", {"patterns": [{"urlPattern": url_pattern,
                                                     "requestStage": "Request"}]})

    # ---- page ----
    def open_page(self):
        t = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        a = self.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True},
                      session=False)
        self.session = a["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False})
        # Collected in every document before its own scripts run (not subject to its CSP).
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation', function (e) {"
            "  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")})

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def eval(self, expr, timeout=20):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise CdpError("%s: %s" % (expr[:60], r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait(self, expr, timeout, what, on_wait=None):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                last = self.eval(expr)
                if last:
                    return last
            except CdpError as e:
                last = str(e)
            if on_wait is not None:
                on_wait()
            time.sleep(0.2)
        try:
            footer = self.eval("(document.getElementById('status') || {}).textContent")
        except CdpError:
            footer = None
        raise CdpError("timed out after %ds waiting for %s (last: %r; page errors: %s; footer: "
                       "%r)" % (timeout, what, last, self.errors()[-3:], footer))

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png"}, timeout=30)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except (CdpError, OSError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Its renderer and helper processes share the group it leads (setsid above).
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=5)
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
