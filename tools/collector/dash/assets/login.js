/* The login form: the token goes in a JSON POST (never a URL), the answer sets the cookie. */
"use strict";

document.getElementById("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("login-error");
    const input = document.getElementById("token");
    err.textContent = "";
    try {
        const r = await fetch("/ui/login", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ token: input.value }),
        });
        input.value = "";
        if (r.status === 200) {
            window.location.replace("/ui/");
            return;
        }
        const doc = await r.json().catch(() => ({}));
        err.textContent = "Refused: " + (doc.error || "HTTP " + r.status);
    } catch (e) {
        err.textContent = "The collector did not answer: " + e.message;
    }
});
