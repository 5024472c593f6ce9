/* Forecasts from GET /v1/trends (docs/history.md): which sensors will cross their threshold
 * within the horizon, soonest first; "not available" while the collector has no such
 * endpoint. */
"use strict";

const HORIZONS = [["30 d", "30d"], ["90 d", "90d"], ["1 year", "365d"]];
let within = ward.param("within") || "90d";

function eta(ms) {
    if (typeof ms !== "number") {
        return "—";
    }
    if (ms <= 0) {
        return "now";
    }
    const d = ms / 86400000;
    return d >= 2 ? "~" + Math.round(d) + " d" : "~" + Math.max(1, Math.round(ms / 3600000)) + " h";
}

function trendRows(list) {
    return list.map((x) => ({
        props: { className: "trend-row", dataset: { device: x.device, sensor: x.sensor } },
        cells: [ward.link("/ui/device.html?id=" + encodeURIComponent(x.device) + "&sensor="
            + encodeURIComponent(x.sensor), x.device), x.sensor, eta(x.eta_ms),
        eta(x.eta_lo_ms) + " – " + eta(x.eta_hi_ms), String(x.value) + " " + (x.unit || ""),
        String(x.threshold), x.direction || "—", x.forecast || "—", x.confidence || "—"],
    }));
}

async function refresh() {
    const r = await ward.get("/v1/trends?within=" + encodeURIComponent(within));
    const main = document.getElementById("main");
    if (r.status === 404) {
        main.replaceChildren(ward.el("h1", {}, "Trends"),
            ward.el("p", { className: "muted", id: "trends-unavailable" },
                "Trends are not available on this collector."));
        return;
    }
    if (r.status !== 200 || r.doc === null || !Array.isArray(r.doc.trends)) {
        throw new Error("trends: HTTP " + r.status);
    }
    const pick = ward.el("select", { id: "within" });
    for (const [label, v] of HORIZONS) {
        pick.appendChild(ward.el("option", { value: v, selected: v === within }, label));
    }
    pick.addEventListener("change", () => {
        within = pick.value;
        refresh().catch((e) => ward.status(e.message, true));
    });
    const list = r.doc.trends;
    main.replaceChildren(ward.el("h1", {}, "Trends"),
        ward.el("p", {}, ward.el("label", { htmlFor: "within" }, "Crossing within "), pick,
            " · computed " + ward.time(r.doc.computed_ms)),
        list.length === 0 ? ward.el("p", { className: "muted", id: "trends-none" },
            "No sensor is forecast to cross its threshold within the horizon.")
            : ward.table(["Device", "Sensor", "Crosses in", "Range", "Now", "Threshold",
                "Direction", "Forecast", "Confidence"], trendRows(list), { id: "trends" }));
}

ward.start("trends", () => ward.poll(refresh, 30000));
