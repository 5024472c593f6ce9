#!/usr/bin/env python3
"""The operator dashboard in a real browser: headless Chromium (Debian's chromium) driven over
the DevTools protocol (cdp.py) against a real collector fed by sim agents playing shipped
scenarios and by a test device whose sensor names are hostile HTML.

    dashboard_test.py BUILD_DIR WORK_DIR SIM_AGENT CHROMIUM

Checks, besides each page's DOM (devices, states, sensors, incident rows, the timeline after
the buttons are used): the security headers (CSP, nosniff, frame-ancestors, Referrer-Policy),
the session cookie's flags, ETag revalidation, login refusals, CSRF refusals (no token, wrong
Origin: 403), device strings shown as text (no element made from them, no script run, no CSP
violation on any page), /metrics. The history chart is drawn from the collector's
/v1/devices/{id}/history when it answers, and always from history_fixture.json served in place
of that endpoint by the browser's request interception (the shape docs/history.md gives).
Screenshots (PNG) of every page go to WORK_DIR/dashboard.*/screens.

Exit 77 (skipped) when the sim board's agent or chromium is missing."""
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "collector"))
import harness as H  # noqa: E402
from harness import BOOT_A, Fail, check, wait_for  # noqa: E402
import cdp  # noqa: E402

STORIES = ["failing-fan", "overheating"]
HOSTILE = "<script>window.pwned=1</script>"
HOSTILE2 = "<img src=x onerror=\"window.pwned=2\">"
FIXTURE = os.path.join(HERE, "history_fixture.json")


class Api:
    """HTTPS to the operator listener, checking the collector's certificate."""

    def __init__(self, env, c):
        self.ctx = ssl.create_default_context(cafile=env.ca())
        self.port = c.api_port
        self.origin = "https://localhost:%d" % c.api_port
        self.token = open(env.token_file).read().strip()

    def req(self, method, path, body=None, headers=None):
        k = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=10)
        try:
            k.request(method, path, body=body, headers=headers or {})
            r = k.getresponse()
            return r.status, {n.lower(): v for n, v in r.getheaders()}, r.read()
        finally:
            k.close()

    def bearer(self, path):
        s, _, d = self.req("GET", path, headers={"Authorization": "Bearer " + self.token})
        check(s == 200, "GET %s: %d %r" % (path, s, d[:200]))
        return d

    def login(self, token=None, origin=True):
        h = {"Content-Type": "application/json"}
        if origin:
            h["Origin"] = self.origin
        return self.req("POST", "/ui/login", json.dumps({"token": token or self.token}), h)


def snapshot_sensor(sid, state, severity, value, thresholds=None):
    s = {"id": sid, "state": state, "severity": severity, "kind": "threshold", "value": value,
         "since_ms": 1000, "last_ms": 5000}
    if thresholds:
        s["thresholds"] = thresholds  # not sent by today's agent: the page shows it when present
    return s


def feed_test_devices(env, c):
    """dev-hostile: HTML in sensor names, incidents on them; dev-silent: heard once, then not."""
    sensors = [snapshot_sensor("temp:cpu0", "caution", "low", 84000,
                               {"caution": 80000, "critical": 95000}),
               snapshot_sensor(HOSTILE, "critical", "high", 7),
               snapshot_sensor(HOSTILE2, "ok", "none", 1)]
    events = [H.event(BOOT_A, 1, sensor=HOSTILE, frm="ok", to="critical", severity="high", value=7),
              H.event(BOOT_A, 2, sensor="temp:cpu0", frm="ok", to="caution", severity="low",
                      value=84000)]
    H.post_ok(env, c, "dev-hostile", H.batch("dev-hostile", events=events,
                                             health=H.snapshot("dev-hostile", BOOT_A, sensors)))
    H.post_ok(env, c, "dev-silent", H.batch("dev-silent", interval_ms=1000, events=[]))


def feed_threshold_device(env, c):
    """dev-thr: a full snapshot page whose sensor carries upper and lower thresholds the way
    agents send them ("thr", "thr_below": keyed by the state entered), and one without."""
    cpu = snapshot_sensor("temp:cpu0", "ok", "none", 61000)
    cpu["thr"] = {"caution": 80000, "critical": 95000}
    cpu["thr_below"] = {"caution": 5000}
    fan = snapshot_sensor("fan:cpu", "ok", "none", 3000)
    H.post_ok(env, c, "dev-thr", H.batch("dev-thr", events=[],
                                         health=H.snapshot("dev-thr", BOOT_A, [cpu, fan])))


def check_live(env, c, b, base, shot):
    """The fleet page goes live over GET /v1/stream, and a device that reports after it loaded
    shows up without a reload (polling is once a minute while live: this is the stream)."""
    b.navigate(base + "/ui/")
    b.wait("document.body.dataset.live === 'live' && "
           "document.querySelectorAll('#devices tr.device-row').length > 0", 20,
           "the fleet page's event stream")
    b.eval("window.__loaded_once = 1; true")
    t0 = time.monotonic()
    feed_threshold_device(env, c)
    b.wait("!!document.querySelector('#devices tr.device-row[data-device=\"dev-thr\"]')", 5,
           "the new device on the live fleet page")
    print("live: the fleet page showed a new device %.0f ms after its batch"
          % ((time.monotonic() - t0) * 1000))
    check(b.eval("window.__loaded_once === 1"), "the fleet page reloaded")
    page_ok(b, "fleet (live)")
    shot("fleet-live")


def check_threshold_lines(b, base, fixture, shot):
    """The device page draws the stored snapshot's thr / thr_below as lines, one per state,
    and nothing for a sensor without thresholds."""
    b.intercept("*/v1/devices/*/history*", lambda url: (200, fixture))
    b.navigate(base + "/ui/device.html?id=dev-thr&sensor=temp%3Acpu0")
    got = b.wait("(() => { const c = document.getElementById('chart');"
                 " return c && c.dataset.thresholdsDrawn ? [...document.querySelectorAll("
                 "'#chart-thresholds li')].map(l => [l.dataset.state, l.dataset.value,"
                 " l.dataset.dir, l.className]) : null; })()", 20, "the threshold lines")
    check(sorted(map(tuple, got)) == sorted([("caution", "80000", "above", "thr thr-caution"),
                                             ("critical", "95000", "above", "thr thr-critical"),
                                             ("caution", "5000", "below", "thr thr-caution")]),
          "threshold lines: %s" % got)
    check(b.eval("document.getElementById('chart').dataset.thresholdsDrawn") == "3",
          "the chart drew %s lines" % b.eval("document.getElementById('chart').dataset"
                                             ".thresholdsDrawn"))
    cell = b.eval("document.querySelector('#sensor-table tr[data-sensor=\"temp:cpu0\"]')"
                  ".cells[5].textContent")
    check(cell == "caution 80000, critical 95000, caution below 5000", "table: %r" % cell)
    time.sleep(0.5)
    page_ok(b, "device dev-thr")
    shot("device-thr")
    b.eval("const p = document.getElementById('chart-sensor'); p.value = 'fan:cpu';"
           "p.dispatchEvent(new Event('change')); true")
    b.wait("document.getElementById('chart').dataset.thresholdsDrawn === '0' && "
           "document.querySelectorAll('#chart-thresholds li').length === 0", 15,
           "no threshold lines for a sensor without thresholds")
    b.intercept(None, None)


def check_http(api):
    """Headers, caching, login and CSRF refusals, without a browser."""
    s, h, body = api.req("GET", "/ui/")
    check(s == 200 and h["content-type"].startswith("text/html"), "GET /ui/: %d %s" % (s, h))
    csp = h.get("content-security-policy", "")
    for part in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                 "object-src 'none'"):
        check(part in csp, "CSP lacks %s: %r" % (part, csp))
    check("unsafe-inline" not in csp and "unsafe-eval" not in csp, "CSP too loose: " + csp)
    check(h.get("x-content-type-options") == "nosniff", "nosniff: %s" % h)
    check(h.get("referrer-policy") == "no-referrer", "Referrer-Policy: %s" % h)
    check(b"<script>" not in body and b"style=" not in body, "inline script or style in /ui/")
    s2, _, b2 = api.req("GET", "/ui/", headers={"If-None-Match": h["etag"]})
    check(s2 == 304 and b2 == b"", "revalidation: %d" % s2)
    s, h, js = api.req("GET", "/ui/lib/dygraph.min.js")
    check(s == 200 and h["content-type"].startswith("text/javascript") and
          js == open("/usr/share/javascript/dygraphs/dygraph.min.js", "rb").read(),
          "the embedded dygraphs differs from Debian's file")
    check(api.req("GET", "/ui/nope.html")[0] == 404, "an unknown page is not 404")

    s, _, d = api.login(token="not-a-token")
    check(s == 401, "a wrong token logged in: %d %r" % (s, d))
    s, _, d = api.login(origin=False)
    check(s == 403, "a login without Origin was accepted: %d %r" % (s, d))
    s, h, d = api.login()
    check(s == 200, "login refused: %d %r" % (s, d))
    cookie = h.get("set-cookie", "")
    attrs = [a.strip() for a in cookie.split(";")]
    check(attrs[0].startswith("__Host-ward_session=") and len(attrs[0]) == 20 + 64,
          "cookie: " + cookie)
    for a in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        check(a in attrs, "cookie without %s: %s" % (a, cookie))
    sess = {"Cookie": attrs[0]}
    csrf = json.loads(d)["csrf"]
    check(api.req("GET", "/v1/devices", headers=sess)[0] == 200, "the cookie opens no GET")
    return sess, csrf


def check_csrf(api, sess, csrf, inc_id):
    path = "/v1/incidents/%d/note" % inc_id
    body = json.dumps({"text": "from the test"})
    ok_h = dict(sess, Origin=api.origin, **{"Content-Type": "application/json"})
    s, _, d = api.req("POST", path, body, ok_h)
    check(s == 403, "POST without X-CSRF-Token: %d %r" % (s, d))
    s, _, d = api.req("POST", path, body, dict(ok_h, **{"X-CSRF-Token": "0" * 64}))
    check(s == 403, "POST with a wrong X-CSRF-Token: %d %r" % (s, d))
    s, _, d = api.req("POST", path, body, dict(ok_h, **{"X-CSRF-Token": csrf,
                                                         "Origin": "https://evil.example"}))
    check(s == 403, "POST from another Origin: %d %r" % (s, d))
    s, _, d = api.req("POST", path, body, dict(ok_h, **{"X-CSRF-Token": csrf}))
    check(s == 200, "POST with the session's token refused: %d %r" % (s, d))
    s, _, _ = api.req("POST", "/ui/logout", "{}", dict(ok_h, **{"X-CSRF-Token": csrf}))
    check(s == 200, "logout: %d" % s)
    check(api.req("GET", "/v1/devices", headers=sess)[0] == 401, "the session outlived logout")


def check_revoked_token_ends_session(env, c, api):
    """A session lives only as long as the token it was opened with: take the token out of
    the tokens file, reload, and the session's next request is refused."""
    env.run_pki("token", "temp")
    tok = open(os.path.join(env.pki, "tokens", "temp.token")).read().strip()
    c.signal(signal.SIGHUP)
    wait_for(lambda: api.req("GET", "/v1/health", headers={"Authorization": "Bearer " + tok})[0]
             == 200, 10, "the new token after SIGHUP")
    s, h, _ = api.login(token=tok)
    check(s == 200, "login with the new token: %d" % s)
    sess = {"Cookie": h["set-cookie"].split(";")[0]}
    check(api.req("GET", "/v1/devices", headers=sess)[0] == 200, "the temp session")
    path = os.path.join(env.pki, "api-tokens")
    lines = open(path).read().splitlines(True)
    with open(path, "w") as f:
        f.writelines(x for x in lines if not x.startswith("temp "))
    c.signal(signal.SIGHUP)
    wait_for(lambda: api.req("GET", "/v1/devices", headers=sess)[0] == 401, 10,
             "the session of a removed token to be refused")


PASSWORD = "dashboard pass phrase"


def add_account(env, name):
    """An operator account made offline (ward-collector user add); returns its TOTP secret."""
    pw = os.path.join(env.dir, "pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    os.makedirs(env.state, exist_ok=True)
    p = subprocess.run([env.collector_bin, "user", "add", name, "--role", "operator", "--state",
                        env.state, "--password-file", pw], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0 and "secret=" in p.stdout, "user add: %r %r" % (p.stdout, p.stderr))
    return p.stdout.split("secret=")[1].split("&")[0]


def check_account_session(api, name, secret):
    """Password + TOTP (POST /v1/login, as the login page does) opens a dashboard session;
    logging out of the account ends the dashboard session too."""
    code = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                          check=True).stdout.strip()
    s, _, d = api.req("POST", "/v1/login", json.dumps({"user": name, "password": PASSWORD,
                                                       "totp": code}),
                      {"Content-Type": "application/json"})
    check(s == 200, "account login: %d %r" % (s, d))
    tok = json.loads(d)["token"]
    s, h, d = api.login(token=tok)
    check(s == 200, "dashboard session from the account's login: %d %r" % (s, d))
    sess = {"Cookie": h["set-cookie"].split(";")[0]}
    s, _, d = api.req("GET", "/v1/devices", headers=sess)
    check(s == 200, "the account's dashboard session: %d" % s)
    s, _, d = api.req("GET", "/v1/whoami", headers=sess)
    check(s == 200 and json.loads(d).get("role") == "operator", "whoami: %d %r" % (s, d))
    s, _, _ = api.req("POST", "/v1/logout", "{}", {"Authorization": "Bearer " + tok,
                                                    "Content-Type": "application/json"})
    check(s == 200, "account logout: %d" % s)
    check(api.req("GET", "/v1/devices", headers=sess)[0] == 401,
          "the dashboard session outlived the account's logout")


def page_ok(b, name):
    """No script from device data ran, and the page broke no CSP rule."""
    check(b.eval("window.pwned === undefined"), "%s: a device string ran as script" % name)
    v = b.eval("window.__csp")
    check(v == [], "%s: CSP violations %s" % (name, v))


def browse(env, c, api, chromium, screens, wait_sim):
    b = cdp.Browser(chromium, os.path.join(env.dir, "chromium-profile"),
                    os.path.join(env.dir, "chromium.log"))
    base = api.origin
    shot = lambda name: b.screenshot(os.path.join(screens, name + ".png"))  # noqa: E731
    try:
        b.open_page()
        # Login: a page without a session goes to the login form.
        b.navigate(base + "/ui/")
        b.wait("location.pathname === '/ui/login.html' && !!document.getElementById('token')",
               15, "the redirect to the login page")
        shot("login")
        b.eval("document.getElementById('token').value = %s;"
               "document.getElementById('login-form').requestSubmit(); true"
               % json.dumps(api.token))
        # Fleet.
        want = STORIES + ["dev-hostile", "dev-silent"]
        rows = b.wait("(() => { const r = [...document.querySelectorAll('#devices tr.device-row')]"
                      ".map(e => [e.dataset.device, e.dataset.state]);"
                      " return r.length >= %d ? r : null; })()" % len(want), 20,
                      "the fleet's device rows")
        check(sorted(d for d, _ in rows) == sorted(want), "fleet rows: %s" % rows)
        check(dict(rows)["dev-silent"] == "silent", "dev-silent not shown silent: %s" % rows)
        b.wait("document.querySelector('#silent tr.device-row') !== null", 10, "the silent list")
        high = b.eval("document.querySelector('#by-severity .tile[data-key=high] .n')"
                      ".textContent")
        check(int(high) >= 1, "open high incidents shown: %s" % high)
        cookies = b.call("Network.getCookies", {"urls": [base + "/"]})["cookies"]
        ck = [x for x in cookies if x["name"] == "__Host-ward_session"]
        check(len(ck) == 1 and ck[0]["httpOnly"] and ck[0]["secure"] and
              ck[0]["sameSite"] == "Strict", "the browser's cookie: %s" % cookies)
        check(b.eval("document.cookie.indexOf('ward_session') < 0"), "the cookie is readable "
              "from script")
        page_ok(b, "fleet")
        shot("fleet")
        check_live(env, c, b, base, shot)

        # The hostile device: names shown as text, nothing made of them. The history request
        # is answered with the fixture, so the chart and its threshold lines are drawn.
        fixture = open(FIXTURE, "rb").read()
        b.intercept("*/v1/devices/*/history*", lambda url: (200, fixture))
        b.navigate(base + "/ui/device.html?id=dev-hostile&sensor=temp%3Acpu0")
        b.wait("document.querySelectorAll('tr.sensor-row').length === 3", 20, "hostile sensors")
        names = b.eval("[...document.querySelectorAll('tr.sensor-row')]"
                       ".map(r => r.cells[0].textContent)")
        check(sorted(names) == sorted(["temp:cpu0", HOSTILE, HOSTILE2]), "names: %s" % names)
        check(b.eval("document.querySelectorAll('main script, main img').length === 0"),
              "an element was made from a device string")
        b.wait("!!document.querySelector('#chart canvas')", 15, "the chart's canvas")
        note = b.eval("document.getElementById('chart-note').textContent")
        check("caution 80000" in note and "critical 95000" in note, "threshold note: %r" % note)
        unit = b.eval("document.getElementById('chart-unit').textContent")
        check("288 points" in unit, "chart points: %r" % unit)
        check(b.eval("document.querySelector('#sensor-table tr[data-sensor=\"temp:cpu0\"]')"
                     ".cells[5].textContent") == "caution 80000, critical 95000",
              "thresholds in the sensor table")
        asked = [e["params"]["request"]["url"] for e in b.events
                 if e["method"] == "Fetch.requestPaused"]
        check(asked, "the fixture was never asked for")
        # The query as docs/history.md has it: from/to in ms since the epoch, step a duration.
        check(re.search(r"/v1/devices/dev-hostile/history\?sensor=temp%3Acpu0&from=\d{13}"
                        r"&to=\d{13}&step=\d+s$", asked[0]), "history query: %s" % asked[0])
        time.sleep(0.5)  # the chart's first paint
        page_ok(b, "device dev-hostile")
        shot("device")
        b.intercept(None, None)
        check_threshold_lines(b, base, fixture, shot)

        # Incidents.
        b.navigate(base + "/ui/incidents.html")
        rows = b.wait("(() => { const r = [...document.querySelectorAll('tr.incident-row')];"
                      " return r.length >= 2 ? r.map(e => [e.dataset.id, e.cells[1].textContent,"
                      " e.cells[2].textContent, e.dataset.severity]) : null; })()", 20,
                      "incident rows")
        hostile = [r for r in rows if r[1] == "dev-hostile" and r[2] == HOSTILE]
        check(len(hostile) == 1 and hostile[0][3] == "high", "hostile incident row: %s" % rows)
        page_ok(b, "incidents")
        shot("incidents")

        # One incident: acknowledge and assign through the buttons (session + CSRF header).
        b.navigate(base + "/ui/incident.html?id=" + hostile[0][0])
        b.wait("!!document.getElementById('act-ack')", 15, "the incident's actions")
        b.eval("document.getElementById('act-ack').click(); true")
        b.wait("[...document.querySelectorAll('tr.timeline-row')].some(r => "
               "r.cells[2].textContent === 'ack' && r.cells[1].textContent === 'ops')", 15,
               "the ack in the timeline")
        b.eval("document.getElementById('action-text').value = 'alice';"
               "document.getElementById('act-assign').click(); true")
        b.wait("[...document.querySelectorAll('tr.timeline-row')].some(r => "
               "r.cells[2].textContent === 'assign' && r.cells[3].textContent === 'alice')", 15,
               "the assignment in the timeline")
        x = json.loads(api.bearer("/v1/incidents/" + hostile[0][0]))
        check(x["state"] == "acknowledged" and x["assignee"] == "alice", "after the buttons: %s"
              % {k: x[k] for k in ("state", "assignee")})
        page_ok(b, "incident")
        shot("incident")

        # Trends.
        b.navigate(base + "/ui/trends.html")
        t = b.wait("document.getElementById('trends-unavailable') ? 'unavailable' : "
                   "document.getElementById('trends-none') ? 'none' : "
                   "document.getElementById('trends') ? 'table' : null", 15, "the trends page")
        print("trends page: %s" % t)
        page_ok(b, "trends")
        shot("trends")

        # A sim device's page: its sensors from the scenario (its first snapshot with sensors
        # comes ~30 s after the agent starts).
        wait_sim()
        b.navigate(base + "/ui/device.html?id=failing-fan")
        n = b.wait("document.querySelectorAll('tr.sensor-row').length", 20, "fan sensors")
        check(b.eval("[...document.querySelectorAll('tr.sensor-row')]"
                     ".some(r => r.dataset.sensor.indexOf('fan') >= 0)"),
              "no fan sensor among %d" % n)
        note = b.wait("document.getElementById('chart-note').textContent || "
                      "(document.querySelector('#chart canvas') ? 'chart' : '')", 15,
                      "the history chart or its note")
        if "not available" in note:
            print("SKIP history from the collector: /v1/devices/{id}/history answers 404 "
                  "(history not merged yet); the chart is checked with the fixture below")
        else:
            drawn = b.eval("!!document.querySelector('#chart canvas')")
            check((drawn and ("Thresholds" in note or "no thresholds" in note)) or
                  "No history" in note, "history from the collector: %r" % note)
            print("history from the collector: %s" % (
                b.eval("document.getElementById('chart-unit').textContent") if drawn else note))
        page_ok(b, "device failing-fan")
        shot("device-sim")

        # Logout ends the session at the server too.
        b.eval("document.getElementById('logout').click(); true")
        b.wait("location.pathname === '/ui/login.html'", 10, "the login page after logout")
    except cdp.CdpError:
        shot("failure")
        raise
    finally:
        b.close()


def main():
    build, work, agent, chromium = sys.argv[1:5]
    if not os.access(agent, os.X_OK):
        print("SKIP browser: %s is not built (cmake -B build/sim -DBOARD=sim)" % agent)
        sys.exit(77)
    if not shutil.which(chromium):
        print("SKIP browser: %s not found (tools/bootstrap installs chromium)" % chromium)
        sys.exit(77)
    env = H.Env(os.path.abspath(build), os.path.abspath(work), "dashboard")
    screens = os.path.join(env.dir, "screens")
    os.makedirs(screens)
    t0 = time.monotonic()
    try:
        env.make_pki(devices=STORIES + ["dev-hostile", "dev-silent", "dev-thr"])
        conf = os.path.join(env.dir, "alerting.conf")
        with open(conf, "w") as f:
            f.write("hold-down 3s\n")
        secret = add_account(env, "olivia")
        c = env.start("--alerting", conf, "--check-interval", "100")
        for s in STORIES:
            H.start_sim_agent(env, c, agent, s, 120)
        feed_test_devices(env, c)
        api = Api(env, c)
        sess, csrf = check_http(api)

        def ready():
            devs = json.loads(api.bearer("/v1/devices"))["devices"]
            return {d["id"] for d in devs} >= set(STORIES) and all(
                (json.loads(api.bearer("/v1/devices/" + s))["snapshot"] or {}).get("sensors")
                for s in STORIES)
        incs = json.loads(api.bearer("/v1/incidents?device=dev-hostile"))["incidents"]
        check(len(incs) >= 1, "no incident on dev-hostile")
        check_csrf(api, sess, csrf, incs[0]["id"])
        check_revoked_token_ends_session(env, c, api)
        wait_for(lambda: json.loads(api.bearer("/v1/devices/dev-silent"))["state"] == "silent",
                 15, "dev-silent to go silent", step=0.3)
        def wait_sim():
            wait_for(ready, 60, "the sim agents' snapshots", step=0.5)
            print("sim agents' snapshots after %.1f s" % (time.monotonic() - t0))
        browse(env, c, api, chromium, screens, wait_sim)
        m = api.bearer("/metrics").decode()
        for line in ("ward_dashboard_logins_total{result=\"refused\"} 1",
                     "ward_dashboard_csrf_refused_total 4",
                     "ward_dashboard_sessions_ended_total{how=\"logout\"} 2",
                     "ward_dashboard_sessions_ended_total{how=\"expired\"} 1"):
            check(line in m, "/metrics lacks %r: %s" % (line, [x for x in m.split("\n")
                                                                if "dashboard" in x]))
        check("ward_dashboard_logins_total{result=\"ok\"} 3" in m, "three logins ok")
        h = json.loads(api.bearer("/v1/health"))["dashboard"]
        check(h["logins"] == 3 and h["logins_refused"] == 1 and h["csrf_refused"] == 4 and
              h["sessions"] == 0, "/v1/health dashboard: %s" % h)
        out = env.wardctl(c, "health").stdout
        check("dashboard: sessions=0 logins=3" in out, "wardctl health: %r" % out)
        check_account_session(api, "olivia", secret)
        c.stop()
    except (Fail, cdp.CdpError, OSError, KeyError, ValueError) as e:
        print("FAIL browser: %s (logs in %s)" % (e, env.dir))
        sys.exit(1)
    print("screenshots: %s" % screens)
    print("PASS browser (%.1f s)" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
