/* Forecasts from GET /v1/trends (history and trends, docs/history.md); "not available" while
 * the collector has no such endpoint. Columns come from the answer's rows. */
"use strict";

async function refresh() {
    const r = await ward.get("/v1/trends");
    const main = document.getElementById("main");
    if (r.status === 404) {
        main.replaceChildren(ward.el("h1", {}, "Trends"),
            ward.el("p", { className: "muted", id: "trends-unavailable" },
                "Trends are not available on this collector."));
        return;
    }
    if (r.status !== 200 || r.doc === null) {
        throw new Error("trends: HTTP " + r.status);
    }
    const rows = Array.isArray(r.doc) ? r.doc : (r.doc.trends || r.doc.forecasts || []);
    const keys = rows.length > 0 ? Object.keys(rows[0]) : [];
    const cell = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v)
        : v === null || v === undefined ? "—" : String(v));
    main.replaceChildren(ward.el("h1", {}, "Trends"),
        rows.length === 0 ? ward.el("p", { className: "muted" }, "Nothing is forecast to cross "
            + "its threshold.") : ward.table(keys, rows.map((x) => ({
            props: { className: "trend-row" },
            cells: keys.map((k) => (k === "device" ? ward.link("/ui/device.html?id="
                + encodeURIComponent(x[k]), cell(x[k])) : cell(x[k]))),
        })), { id: "trends" }));
}

ward.start("trends", () => ward.poll(refresh, 30000));
