/* One device: its facts and inventory (the last heartbeat), every sensor of its last health
 * snapshot, a chart of a sensor's history with its thresholds drawn (GET
 * /v1/devices/{id}/history, docs/history.md), its recent events and its incidents. */
"use strict";

const deviceId = ward.param("id") || "";
const RANGES = [["1 h", 3600], ["6 h", 6 * 3600], ["24 h", 86400], ["7 d", 7 * 86400],
    ["30 d", 30 * 86400]];
const POINTS = 300; /* buckets asked for across the range */
let chosen = ward.param("sensor");
let range = 86400;
let sensors = [];
let graph = null;

const dev = (path) => "/v1/devices/" + encodeURIComponent(deviceId) + path;

/* The history query: from/to in ms since the epoch (the answer's from_ms/to_ms), step a
 * duration ("60s"; a bare number would be milliseconds). */
function historyPath(sensor, now) {
    const step = Math.max(1, Math.round(range / POINTS));
    return dev("/history?sensor=" + encodeURIComponent(sensor) + "&from=" + (now - range * 1000)
        + "&to=" + now + "&step=" + step + "s");
}

function dl(id, pairs) {
    return ward.el("dl", { className: "facts", id }, ...pairs.flatMap(([k, v]) => [
        ward.el("dt", {}, k), ward.el("dd", {}, v instanceof Node ? v : String(v))]));
}

/* Scalars of the heartbeat, nested objects one level down ("health.state"). */
function inventory(hb) {
    if (!hb) {
        return ward.el("p", { className: "muted" }, "No heartbeat stored yet.");
    }
    const pairs = [];
    for (const [k, v] of Object.entries(hb)) {
        if (["v", "type", "device"].includes(k)) {
            continue;
        }
        if (v !== null && typeof v === "object" && !Array.isArray(v)) {
            for (const [k2, v2] of Object.entries(v)) {
                pairs.push([k + "." + k2, typeof v2 === "object" ? JSON.stringify(v2) : v2]);
            }
        } else {
            pairs.push([k, Array.isArray(v) ? JSON.stringify(v) : v]);
        }
    }
    return dl("inventory", pairs);
}

/*
 * A sensor's thresholds as lines: [{state, value, below}]. The snapshot's "thr" holds upper
 * limits keyed by the state entered above each value ({"caution": 80000, "critical": 95000}),
 * "thr_below" the lower ones (entered below the value), both in the unit of "value"
 * (docs/protocol.md); "thresholds" (older agents, the history answer) counts as upper ones.
 */
function thresholdLines(s, fromHistory) {
    const out = [];
    const add = (t, below) => {
        if (!t || typeof t !== "object" || Array.isArray(t)) {
            return;
        }
        for (const [state, v] of Object.entries(t)) {
            if (typeof v === "number" && Number.isFinite(v)
                && !out.some((l) => l.state === state && l.value === v && l.below === below)) {
                out.push({ state, value: v, below });
            }
        }
    };
    add(s && s.thr, false);
    add(s && s.thr_below, true);
    if (out.length === 0) {
        add((s && s.thresholds) || fromHistory, false);
    }
    return out;
}

/* "caution 80000, critical 95000, caution below 5000" from a sensor's thresholds. */
function thresholdText(s) {
    const lines = thresholdLines(s);
    return lines.length === 0 ? "—"
        : lines.map((l) => l.state + (l.below ? " below " : " ") + l.value).join(", ");
}

/* Colour by severity: the states of docs/protocol.md; anything else grey. */
const THRESHOLD_COLOURS = { caution: "#d97706", warning: "#d97706", critical: "#dc2626",
    fatal: "#7c2d12", failed: "#7c2d12" };
function thresholdColour(state) {
    return THRESHOLD_COLOURS[state] || "#6b7280";
}

/* The lines drawn, for a reader of the page and for the browser test (textContent only). */
function thresholdList(lines) {
    return ward.el("ul", { id: "chart-thresholds", className: "thresholds" }, ...lines.map((l) =>
        ward.el("li", { className: "thr thr-" + (THRESHOLD_COLOURS[l.state] ? l.state : "other"),
            dataset: { state: l.state, value: String(l.value), dir: l.below ? "below" : "above" } },
        ward.badge(l.state), (l.below ? " below " : " ") + l.value)));
}

/* since_ms is on the agent's clock (ms since its boot), as is the snapshot's t_ms: how long
 * the sensor has been in its state when the snapshot was taken. */
function inState(s, snapT) {
    if (typeof s.since_ms !== "number" || typeof snapT !== "number" || snapT < s.since_ms) {
        return "—";
    }
    return ward.age(snapT - s.since_ms).replace(" ago", "");
}

function sensorRows(list, snapT) {
    return list.map((s) => {
        const pick = ward.el("button", { type: "button", className: "linkish" }, "chart");
        pick.addEventListener("click", () => {
            chosen = s.id;
            drawChart().catch((e) => ward.status(e.message, true));
        });
        return {
            props: { className: "sensor-row", dataset: { sensor: s.id, state: s.state } },
            cells: [s.id, ward.badge(s.state), ward.badge(s.severity), s.kind,
                s.value === null || s.value === undefined ? "—" : String(s.value),
                thresholdText(s), s.reason || "", inState(s, snapT), pick],
        };
    });
}

function eventRows(list) {
    return list.slice().reverse().map((e) => ({
        props: { className: "event-row" },
        cells: [ward.time(e.received_ms), e.sensor || "—", ward.badge(e.from), ward.badge(e.to),
            ward.badge(e.severity), e.event && e.event.value !== undefined ? String(e.event.value)
                : "—"],
    }));
}

function incidentRows(list) {
    return list.map((x) => ({
        props: { className: "incident-row", dataset: { id: x.id } },
        cells: [ward.link("/ui/incident.html?id=" + x.id, "#" + x.id), x.component,
            ward.badge(x.state), ward.badge(x.severity), ward.time(x.opened_ms)],
    }));
}

function replace(id, ...nodes) {
    document.getElementById(id).replaceChildren(...nodes);
}

/* The legend is ours, written as text: dygraphs' own legend plugin builds HTML with style
 * attributes, which the page's Content-Security-Policy refuses. */
if (typeof Dygraph !== "undefined" && Dygraph.Plugins && Dygraph.Plugins.Legend) {
    Dygraph.PLUGINS = Dygraph.PLUGINS.filter((p) => p !== Dygraph.Plugins.Legend);
}

function showPoint(x, row) {
    const out = document.getElementById("chart-legend");
    if (out === null || graph === null) {
        return;
    }
    const v = graph.getValue(row, 1);
    out.textContent = Array.isArray(v) ? new Date(x).toLocaleString() + ": mean " + v[1]
        + " (min " + v[0] + ", max " + v[2] + ")" : "";
}

function chartShell() {
    const pick = ward.el("select", { id: "chart-sensor" });
    for (const s of sensors) {
        pick.appendChild(ward.el("option", { value: s.id, selected: s.id === chosen }, s.id));
    }
    pick.addEventListener("change", () => {
        chosen = pick.value;
        drawChart().catch((e) => ward.status(e.message, true));
    });
    const span = ward.el("select", { id: "chart-range" });
    for (const [label, s] of RANGES) {
        span.appendChild(ward.el("option", { value: s, selected: s === range }, label));
    }
    span.addEventListener("change", () => {
        range = Number(span.value);
        drawChart().catch((e) => ward.status(e.message, true));
    });
    return [ward.el("p", {}, pick, " ", span, " ", ward.el("span", { id: "chart-unit",
        className: "muted" })), ward.el("div", { id: "chart", className: "chart" }),
    ward.el("p", { id: "chart-legend" }), ward.el("p", { id: "chart-note", className: "muted" })];
}

function noChart(text) {
    if (graph !== null) {
        graph.destroy();
        graph = null;
    }
    replace("chart");
    document.getElementById("chart").className = "chart empty";
    document.getElementById("chart-note").textContent = text;
}

async function drawChart() {
    if (!chosen) {
        noChart("No sensor to chart.");
        return;
    }
    const sel = document.getElementById("chart-sensor");
    if (sel !== null) {
        sel.value = chosen;
    }
    const r = await ward.get(historyPath(chosen, Date.now()));
    if (r.status === 404) {
        noChart("History is not available on this collector.");
        return;
    }
    if (r.status !== 200 || !r.doc || !Array.isArray(r.doc.series)) {
        noChart("History: HTTP " + r.status);
        return;
    }
    const series = r.doc.series.find((s) => s.sensor === chosen) || r.doc.series[0];
    if (!series || series.points.length === 0) {
        noChart("No history for this sensor in the range.");
        return;
    }
    const snap = sensors.find((s) => s.id === chosen);
    const lines = thresholdLines(snap, series.thresholds);
    const data = series.points.map((p) => [new Date(p[0]), [p[1], p[2], p[3]]]);
    const lo = Math.min(...series.points.map((p) => p[1]), ...lines.map((l) => l.value));
    const hi = Math.max(...series.points.map((p) => p[3]), ...lines.map((l) => l.value));
    const pad = (hi - lo) * 0.08 || 1;
    document.getElementById("chart-unit").textContent = (series.unit ? "unit: " + series.unit
        : "") + " · tier " + series.tier + " · " + series.points.length + " points";
    const note = document.getElementById("chart-note");
    note.replaceChildren(...(lines.length > 0 ? ["Thresholds: ", thresholdList(lines)]
        : [thresholdList([]), "The snapshot carries no thresholds for this sensor."]));
    if (graph !== null) {
        graph.destroy();
    }
    document.getElementById("chart").className = "chart";
    graph = new Dygraph(document.getElementById("chart"), data, {
        labels: ["time", "value"],
        customBars: true,
        drawPoints: true, /* a sensor heard once is one point, not an empty chart */
        pointSize: 2,
        /* The range asked for, not only the span of the points. */
        dateWindow: typeof r.doc.from_ms === "number" && r.doc.to_ms > r.doc.from_ms
            ? [r.doc.from_ms, r.doc.to_ms] : null,
        highlightCallback: (ev, x, pts, row) => showPoint(x, row),
        unhighlightCallback: () => {
            document.getElementById("chart-legend").textContent = "";
        },
        valueRange: [lo - pad, hi + pad],
        colors: ["#2563eb"],
        /* Each threshold a dashed horizontal line in its severity's colour, labelled with
         * the state it enters (canvas text: no HTML, nothing for the CSP to refuse). */
        underlayCallback: (ctx, area, g) => {
            for (const l of lines) {
                const y = g.toDomYCoord(l.value);
                ctx.save();
                ctx.strokeStyle = ctx.fillStyle = thresholdColour(l.state);
                ctx.setLineDash(l.below ? [2, 3] : [6, 4]);
                ctx.beginPath();
                ctx.moveTo(area.x, y);
                ctx.lineTo(area.x + area.w, y);
                ctx.stroke();
                ctx.font = "11px sans-serif";
                ctx.textAlign = "right";
                ctx.fillText(l.state + (l.below ? " ≤ " : " ≥ ") + l.value, area.x + area.w - 4,
                    l.below ? y + 12 : y - 4);
                ctx.restore();
            }
            document.getElementById("chart").dataset.thresholdsDrawn = String(lines.length);
        },
    });
}

async function refresh() {
    const [d, incs] = await Promise.all([ward.get(dev("")),
        ward.get("/v1/incidents?device=" + encodeURIComponent(deviceId) + "&limit=50")]);
    if (d.status !== 200) {
        replace("main", ward.el("h1", {}, "Device " + deviceId),
            ward.el("p", { className: "error" }, (d.doc && d.doc.error) || "HTTP " + d.status));
        return false;
    }
    const x = d.doc;
    const first = sensors.length === 0;
    sensors = x.snapshot && Array.isArray(x.snapshot.sensors) ? x.snapshot.sensors : [];
    if (!chosen && sensors.length > 0) {
        chosen = sensors[0].id;
    }
    replace("title", "Device " + x.id + " ", ward.badge(x.state), " ", ward.badge(x.health));
    replace("facts", dl("device-facts", [["State", ward.badge(x.state)],
        ["Health", ward.badge(x.health)], ["Last heartbeat", ward.age(x.heartbeat_age_ms)],
        ["Interval", Math.round(x.interval_ms / 1000) + " s"],
        ["Silent after", Math.round(x.silent_after_ms / 1000) + " s"],
        ["In state since", ward.time(x.state_since_ms)], ["First seen", ward.time(x.first_seen_ms)],
        ["Boot id", x.boot_id || "—"]]));
    replace("inventory-box", inventory(x.heartbeat));
    replace("sensors", sensors.length === 0 ? ward.el("p", { className: "muted" },
        "No health snapshot stored yet.") : ward.table(["Sensor", "State", "Severity", "Rule",
        "Value", "Thresholds", "Reason", "In state for", ""], sensorRows(sensors, x.snapshot.t_ms),
        { id: "sensor-table" }));
    replace("events", x.recent_events.length === 0 ? ward.el("p", { className: "muted" },
        "No events.") : ward.table(["Received", "Sensor", "From", "To", "Severity", "Value"],
        eventRows(x.recent_events), { id: "event-table" }));
    const il = incs.status === 200 ? incs.doc.incidents : [];
    replace("incidents", il.length === 0 ? ward.el("p", { className: "muted" }, "No incidents.")
        : ward.table(["Id", "Component", "State", "Severity", "Opened"], incidentRows(il),
            { id: "incident-table" }));
    if (first && sensors.length > 0) {
        replace("chart-box", ...chartShell());
        await drawChart();
    }
    return true;
}

function layout() {
    const box = (id) => ward.el("div", { id });
    replace("main", ward.el("h1", { id: "title" }, "Device " + deviceId),
        ward.el("div", { className: "row" }, ward.section("Facts", box("facts")),
            ward.section("History", ward.el("div", { id: "chart-box" },
                ward.el("p", { className: "muted" }, "No sensor to chart.")))),
        ward.section("Sensors", box("sensors")), ward.el("div", { className: "row" },
            ward.section("Recent events", box("events")),
            ward.section("Incidents", box("incidents"))),
        ward.section("Inventory (the last heartbeat)", box("inventory-box")));
}

ward.start("fleet", () => {
    layout();
    /* A change event naming this device (or "all") draws its chart again too. */
    ward.poll(async (change) => {
        await refresh();
        if (change && (change.all || (Array.isArray(change.devices)
            && change.devices.includes(deviceId)))) {
            await drawChart();
        }
    }, 5000);
    window.setInterval(() => drawChart().catch(() => {}), 60000);
});
