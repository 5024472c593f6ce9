/*
 * Shared by every dashboard page: the session (its CSRF token), JSON calls to the /v1 API,
 * DOM building with textContent only (device-supplied strings are never parsed as HTML),
 * the navigation bar, and live updates (server-sent events, polling when they fail).
 */
"use strict";

const ward = (() => {
    let csrf = null;
    let who = null;

    function toLogin() {
        window.location.replace("/ui/login.html");
    }

    /* el("td", {className: "x", dataset: {id: 1}}, "text", childNode, ...) */
    function el(tag, props, ...children) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(props || {})) {
            if (k === "dataset") {
                Object.assign(e.dataset, v);
            } else {
                e[k] = v;
            }
        }
        for (const c of children) {
            if (c === null || c === undefined) {
                continue;
            }
            e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
        }
        return e;
    }

    async function session() {
        const r = await fetch("/ui/session", { credentials: "same-origin" });
        if (r.status !== 200) {
            toLogin();
            throw new Error("not logged in");
        }
        const s = await r.json();
        csrf = s.csrf;
        who = s.who;
        return s;
    }

    /* One JSON call; a 401 goes back to the login page. @return {status, doc}. A POST carries
     * the session's CSRF token (the collector refuses it without). */
    async function call(method, path, body) {
        const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
        if (method === "POST") {
            opts.headers["Content-Type"] = "application/json";
            opts.headers["X-CSRF-Token"] = csrf || "";
            opts.body = JSON.stringify(body || {});
        }
        const r = await fetch(path, opts);
        if (r.status === 401) {
            toLogin();
            throw new Error("session ended");
        }
        let doc = null;
        try {
            doc = await r.json();
        } catch (e) {
            doc = null;
        }
        return { status: r.status, doc };
    }

    const get = (path) => call("GET", path);
    const post = (path, body) => call("POST", path, body);

    function nav(active) {
        const bar = document.getElementById("nav");
        const links = [
            ["fleet", "/ui/", "Fleet"],
            ["incidents", "/ui/incidents.html", "Incidents"],
            ["trends", "/ui/trends.html", "Trends"],
        ];
        bar.replaceChildren(el("span", { className: "brand" }, "ward"));
        for (const [id, href, text] of links) {
            bar.appendChild(el("a", { href, className: id === active ? "active" : "" }, text));
        }
        const out = el("button", { type: "button", id: "logout" }, "Log out");
        out.addEventListener("click", async () => {
            await post("/ui/logout", {});
            toLogin();
        });
        bar.appendChild(el("span", { className: "who" }, who || ""));
        bar.appendChild(out);
    }

    function status(text, bad) {
        const f = document.getElementById("status");
        f.textContent = text;
        f.className = bad ? "error" : "muted";
    }

    /*
     * fn() now, then whenever the collector says something changed: server-sent events from
     * GET /v1/stream (docs/dashboard.md, "Live updates"). While the stream is down (refused
     * at its limit, a proxy that buffers, the collector restarting) the page polls every ms
     * instead; EventSource reconnects by itself (the server's retry: hint) and sends the last
     * event id, and polling stops once it is back. Errors show in the footer.
     * fn(change) gets the change event's document, or null for a poll or a "refresh".
     */
    const live = { stream: null, updates: 0, mode: "starting" };
    const GAP_MS = 2000; /* a busy fleet changes every second: load at most every 2 s */
    function poll(fn, ms) {
        let busy = false;
        let pending; /* a run asked for meanwhile: its change (null: a poll), or undefined */
        let timer = null;
        let trailing = null;
        let lastEnd = 0;
        /* Two changes make one that names all devices; a poll and a change, the change. */
        const merge = (a, b) => (a === undefined ? b : (a && b ? { all: true } : a || b));
        const take = () => {
            const c = pending;
            pending = undefined;
            return c === undefined ? null : c;
        };
        const run = async (change) => {
            const wait = lastEnd + GAP_MS - Date.now();
            if (busy || (change && wait > 0)) {
                pending = merge(pending, change);
                if (!busy && trailing === null) {
                    trailing = window.setTimeout(() => {
                        trailing = null;
                        run(take());
                    }, wait);
                }
                return;
            }
            busy = true;
            try {
                await fn(change || null);
                live.updates++;
                document.body.dataset.updates = String(live.updates);
                status("updated " + new Date().toLocaleTimeString() + (live.mode === "live"
                    ? " · live" : " · every " + ms / 1000 + " s"), false);
            } catch (e) {
                status("update failed: " + e.message, true);
            }
            busy = false;
            lastEnd = Date.now();
            if (pending !== undefined && trailing === null) {
                run(take()); /* a change waits for the gap; a poll runs now */
            }
        };
        const schedule = () => {
            window.clearTimeout(timer);
            /* Live: a slow safety poll only; otherwise every ms. */
            timer = window.setTimeout(async () => {
                await run(null);
                schedule();
            }, live.mode === "live" ? Math.max(ms, 60000) : ms);
        };
        const setMode = (m) => {
            live.mode = m;
            document.body.dataset.live = m;
        };
        const connect = () => {
            const es = new EventSource("/v1/stream");
            live.stream = es;
            es.addEventListener("open", () => {
                setMode("live");
                schedule();
            });
            es.addEventListener("error", () => {
                if (live.mode === "live") {
                    setMode("polling");
                    schedule();
                }
                if (es.readyState === EventSource.CLOSED) {
                    /* Refused (401, 429, 503): EventSource gives up; a new one later. */
                    window.setTimeout(connect, 30000);
                }
            });
            es.addEventListener("change", (ev) => {
                let doc = null;
                try {
                    doc = JSON.parse(ev.data);
                } catch (e) {
                    doc = null;
                }
                run(doc);
            });
            es.addEventListener("refresh", () => run(null));
        };
        run(null);
        setMode("polling");
        schedule();
        if (typeof EventSource !== "undefined") {
            connect();
        }
    }

    function time(ms) {
        return ms ? new Date(ms).toLocaleString() : "—";
    }

    function age(ms) {
        if (ms === null || ms === undefined) {
            return "never";
        }
        const s = Math.round(ms / 1000);
        if (s < 120) {
            return s + " s ago";
        }
        if (s < 7200) {
            return Math.round(s / 60) + " min ago";
        }
        return Math.round(s / 3600) + " h ago";
    }

    /* A badge for a state or severity: the class is chosen from a fixed list, never the text. */
    const KNOWN = ["ok", "up", "caution", "critical", "fatal", "failed", "unavailable", "silent",
        "low", "medium", "high", "none", "open", "reopened", "acknowledged", "resolved",
        "closed", "unknown"];
    function badge(text) {
        const t = text === null || text === undefined ? "—" : String(text);
        return el("span", { className: "badge " + (KNOWN.includes(t) ? "b-" + t : "b-other") },
            t);
    }

    /* A table: head is a list of titles, rows a list of {cells, props}. */
    function table(head, rows, props) {
        const t = el("table", props || {});
        t.appendChild(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
        const b = el("tbody");
        for (const r of rows) {
            b.appendChild(el("tr", r.props || {},
                ...r.cells.map((c) => (c instanceof Node && c.tagName === "TD" ? c
                    : el("td", {}, c)))));
        }
        t.appendChild(b);
        return t;
    }

    function link(href, text) {
        return el("a", { href }, text);
    }

    function param(name) {
        return new URLSearchParams(window.location.search).get(name);
    }

    function section(title, ...children) {
        return el("section", {}, el("h2", {}, title), ...children);
    }

    /* Logged in, the navigation drawn, then the page's own start. */
    async function start(active, fn) {
        try {
            await session();
        } catch (e) {
            return;
        }
        nav(active);
        fn();
    }

    return { el, get, post, poll, live, time, age, badge, table, link, param, section, start, status };
})();
