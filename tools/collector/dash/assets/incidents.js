/* Incidents, newest first, filtered by state; each row links to its page. */
"use strict";

const FILTERS = ["live", "open", "acknowledged", "resolved", "closed", "all"];
let filter = ward.param("state") || "live";

function incidentRows(list) {
    return list.map((x) => ({
        props: { className: "incident-row", dataset: { id: x.id, severity: x.severity } },
        cells: [ward.link("/ui/incident.html?id=" + x.id, "#" + x.id),
            ward.link("/ui/device.html?id=" + encodeURIComponent(x.device), x.device),
            x.component, ward.badge(x.state), ward.badge(x.severity), x.reading || "—",
            x.events, ward.time(x.opened_ms), x.assignee || "—"],
    }));
}

async function refresh() {
    const q = filter === "all" ? "" : "state=" + encodeURIComponent(filter) + "&";
    const r = await ward.get("/v1/incidents?" + q + "limit=500");
    if (r.status !== 200) {
        throw new Error("incidents: HTTP " + r.status);
    }
    const pick = ward.el("select", { id: "filter" });
    for (const f of FILTERS) {
        pick.appendChild(ward.el("option", { value: f, selected: f === filter }, f));
    }
    pick.addEventListener("change", () => {
        filter = pick.value;
        refresh().catch((e) => ward.status(e.message, true));
    });
    const list = r.doc.incidents;
    document.getElementById("main").replaceChildren(
        ward.el("h1", {}, "Incidents"),
        ward.el("p", {}, ward.el("label", { htmlFor: "filter" }, "State "), pick,
            " " + list.length + " shown"),
        list.length === 0 ? ward.el("p", { className: "muted" }, "No incidents.")
            : ward.table(["Id", "Device", "Component", "State", "Severity", "Reading", "Events",
                "Opened", "Assignee"], incidentRows(list), { id: "incidents" }));
}

ward.start("incidents", () => ward.poll(refresh, 5000));
