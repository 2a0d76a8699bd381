// The console's only script: live alert rows, and the operator's actions sent to the
// API's own endpoints with the session's CSRF token.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function callApi(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = response.status + " " + response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return response.json();
}

function actionBody(form) {
  const data = new FormData(form);
  const comment = String(data.get("comment") || "");
  if (!form.dataset.silence) return { comment };
  const [field, target] = String(data.get("target") || "").split(/:(.*)/s);
  const hours = Number(data.get("hours") || 4);
  const ends = new Date(Date.now() + hours * 3600 * 1000).toISOString();
  return { [field]: target, ends_at: ends, comment };
}

function wireActions() {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("action-error");
      for (const b of form.querySelectorAll("button")) b.disabled = true;
      try {
        await callApi(form.dataset.api, actionBody(form));
        window.location.reload();
      } catch (e) {
        if (error) { error.textContent = e.message; error.hidden = false; }
        for (const b of form.querySelectorAll("button")) b.disabled = false;
      }
    });
  }
}

function wireLiveRows() {
  const table = document.querySelector("table[data-live-rows]");
  if (!table || !window.EventSource) return;
  const tbody = document.getElementById("alert-rows");
  const rowsUrl = table.dataset.liveRows + window.location.search;
  const stream = new EventSource("/api/v1/stream/alerts");
  const live = document.getElementById("live");
  let pending = null;
  stream.addEventListener("open", () => { if (live) live.hidden = false; });
  stream.addEventListener("error", () => { if (live) live.hidden = true; });
  stream.addEventListener("alert", (event) => {
    const changed = JSON.parse(event.data).alert_id;
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const response = await fetch(rowsUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      tbody.innerHTML = await response.text();
      const row = tbody.querySelector('tr[data-alert="' + changed + '"]');
      if (row) row.classList.add("flash");
    }, 300);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wireActions();
  wireLiveRows();
});
