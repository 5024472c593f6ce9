/* The fleet at a glance: devices by state and health, the silent ones, open incidents by
 * severity, and every device with a link to its page. */
"use strict";

const SEVERITIES = ["high", "medium", "low"];
const DEVICE_HEAD = ["Device", "State", "Health", "Last heartbeat", "Interval", "First seen"];

function count(list, key) {
    const n = {};
    for (const x of list) {
        const k = x[key] === null || x[key] === undefined ? "unknown" : x[key];
        n[k] = (n[k] || 0) + 1;
    }
    return n;
}

function tiles(title, counts, id) {
    const box = ward.el("div", { className: "tiles", id });
    for (const [k, v] of Object.entries(counts)) {
        box.appendChild(ward.el("div", { className: "tile", dataset: { key: k } },
            ward.el("span", { className: "n" }, v), ward.badge(k)));
    }
    if (Object.keys(counts).length === 0) {
        box.appendChild(ward.el("p", { className: "muted" }, "none"));
    }
    return ward.section(title, box);
}

function deviceRows(devices) {
    return devices.map((d) => ({
        props: { className: "device-row", dataset: { device: d.id, state: d.state } },
        cells: [ward.link("/ui/device.html?id=" + encodeURIComponent(d.id), d.id),
            ward.badge(d.state), ward.badge(d.health), ward.age(d.heartbeat_age_ms),
            Math.round(d.interval_ms / 1000) + " s", ward.time(d.first_seen_ms)],
    }));
}

async function refresh() {
    const [devs, incs] = await Promise.all([ward.get("/v1/devices"),
        ward.get("/v1/incidents?state=live&limit=1000")]);
    if (devs.status !== 200) {
        throw new Error("devices: HTTP " + devs.status);
    }
    const devices = devs.doc.devices;
    const live = incs.status === 200 ? incs.doc.incidents : [];
    const bySev = {};
    for (const s of SEVERITIES) {
        bySev[s] = live.filter((x) => x.severity === s).length;
    }
    const silent = devices.filter((d) => d.state === "silent");
    document.getElementById("main").replaceChildren(
        ward.el("h1", {}, "Fleet"),
        ward.el("div", { className: "row" },
            tiles("Devices by state", count(devices, "state"), "by-state"),
            tiles("Devices by health", count(devices, "health"), "by-health"),
            tiles("Open incidents by severity", bySev, "by-severity")),
        ward.section("Silent devices (" + silent.length + ")", silent.length === 0
            ? ward.el("p", { className: "muted" }, "Every device reports.")
            : ward.table(DEVICE_HEAD, deviceRows(silent), { id: "silent" })),
        ward.section("Devices (" + devices.length + ")",
            ward.table(DEVICE_HEAD, deviceRows(devices), { id: "devices" })));
}

ward.start("fleet", () => ward.poll(refresh, 5000));
