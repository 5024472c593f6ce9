/* One incident: its fields, timeline and notifications, and the operator's actions
 * (acknowledge, assign, note, resolve) through POST /v1/incidents/{id}/{action}. */
"use strict";

const id = ward.param("id");

function facts(x) {
    const rows = [["Device", ward.link("/ui/device.html?id=" + encodeURIComponent(x.device),
        x.device)], ["Component", x.component], ["State", ward.badge(x.state)],
    ["Severity", ward.badge(x.severity)], ["Reading", x.reading || "—"],
    ["Events", x.events], ["Reopened", x.reopened], ["Flapping", x.flapping ? "yes" : "no"],
    ["First event", ward.time(x.first_event_ms)], ["Opened", ward.time(x.opened_ms)],
    ["Acknowledged", ward.time(x.acked_ms)], ["Resolved", ward.time(x.resolved_ms)],
    ["Assignee", x.assignee || "—"], ["Cause", x.cause || "—"], ["Runbook", x.runbook || "—"]];
    return ward.el("dl", { className: "facts", id: "facts" },
        ...rows.flatMap(([k, v]) => [ward.el("dt", {}, k),
            ward.el("dd", {}, v instanceof Node ? v : String(v))]));
}

function actions(x) {
    const text = ward.el("input", { id: "action-text", type: "text", maxLength: 1000,
        placeholder: "assignee, note or cause" });
    const out = ward.el("p", { id: "action-result", className: "muted" });
    const box = ward.el("div", { className: "actions", id: "actions" }, text);
    const act = async (name, needsText) => {
        const t = text.value.trim();
        if (needsText && t === "") {
            out.textContent = name + " needs a text";
            return;
        }
        const r = await ward.post("/v1/incidents/" + encodeURIComponent(id) + "/" + name,
            t !== "" ? { text: t } : {});
        out.textContent = r.status === 200 ? name + ": done"
            : name + " refused: " + ((r.doc && r.doc.error) || "HTTP " + r.status);
        out.className = r.status === 200 ? "muted" : "error";
        if (r.status === 200) {
            text.value = "";
            await refresh();
        }
    };
    for (const [name, label, needsText] of [["ack", "Acknowledge", false],
        ["assign", "Assign", true], ["note", "Add note", true], ["resolve", "Resolve", false]]) {
        const b = ward.el("button", { type: "button", id: "act-" + name }, label);
        b.disabled = (name === "ack" && x.state === "acknowledged") ||
            ((name === "ack" || name === "resolve") &&
             (x.state === "resolved" || x.state === "closed"));
        b.addEventListener("click", () => act(name, needsText).catch((e) => {
            out.textContent = e.message;
        }));
        box.appendChild(b);
    }
    box.appendChild(out);
    return box;
}

let actionBox = null;

async function refresh() {
    const r = await ward.get("/v1/incidents/" + encodeURIComponent(id));
    if (r.status !== 200) {
        document.getElementById("main").replaceChildren(ward.el("h1", {}, "Incident " + id),
            ward.el("p", { className: "error" }, (r.doc && r.doc.error) || "HTTP " + r.status));
        return;
    }
    const x = r.doc;
    /* Rebuilt for the new state, keeping a half-typed text (and the focus while typing). */
    if (actionBox === null || document.activeElement !== actionBox.querySelector("input")) {
        const typed = actionBox !== null ? actionBox.querySelector("input").value : "";
        actionBox = actions(x);
        actionBox.querySelector("input").value = typed;
    }
    const tl = x.timeline.map((t) => ({
        props: { className: "timeline-row" },
        cells: [ward.time(t.at_ms), t.who, t.what, t.detail || ""],
    }));
    const nf = x.notifications.map((n) => ({
        cells: [n.receiver, n.kind, ward.badge(n.state), n.attempts, ward.time(n.delivered_ms),
            n.last_error || ""],
    }));
    document.getElementById("main").replaceChildren(
        ward.el("h1", {}, "Incident #" + x.id + " ", ward.badge(x.severity), " ",
            ward.badge(x.state)),
        ward.el("div", { className: "row" }, ward.section("Facts", facts(x)),
            ward.section("Actions", actionBox)),
        ward.section("Timeline", ward.table(["When", "Who", "What", "Detail"], tl,
            { id: "timeline" })),
        ward.section("Notifications", nf.length === 0 ? ward.el("p", { className: "muted" },
            "none") : ward.table(["Receiver", "Kind", "State", "Attempts", "Delivered", "Error"],
            nf, { id: "notifications" })));
}

ward.start("incidents", () => ward.poll(refresh, 5000));
