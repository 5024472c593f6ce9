/* The login form. An account logs in first at POST /v1/login (user, password, TOTP code),
 * whose session token then opens the dashboard session; a token opens it directly. Secrets go
 * in JSON POSTs (never a URL); the answer of /ui/login sets the cookie. */
"use strict";

async function post(url, doc) {
    return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(doc),
    });
}

async function refused(r) {
    const doc = await r.json().catch(() => ({}));
    return "Refused: " + (doc.error || "HTTP " + r.status);
}

document.getElementById("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("login-error");
    const user = document.getElementById("user");
    const password = document.getElementById("password");
    const totp = document.getElementById("totp");
    const input = document.getElementById("token");
    err.textContent = "";
    try {
        let token = input.value;
        if (user.value !== "") {
            const r = await post("/v1/login", {
                user: user.value, password: password.value, totp: totp.value,
            });
            password.value = "";
            totp.value = "";
            if (r.status !== 200) {
                err.textContent = await refused(r);
                return;
            }
            token = (await r.json()).token;
        }
        const r = await post("/ui/login", { token: token });
        input.value = "";
        if (r.status === 200) {
            window.location.replace("/ui/");
            return;
        }
        err.textContent = await refused(r);
    } catch (e) {
        err.textContent = "The collector did not answer: " + e.message;
    }
});
