"use strict";

const MAX_ROWS = 500;
const rows = document.getElementById("events");
const state = document.getElementById("state");
const form = document.getElementById("filter");

function filterFromForm() {
  const events = form.events.value.split(",").map((s) => s.trim()).filter(Boolean);
  return { events };
}

function summary(event) {
  const p = event.payload || {};
  if (event.type === "execution.output") return `${p.stream}: ${p.data}`;
  if (event.entity === "execution") return `${p.action} ${p.status}`;
  if (event.entity === "enforcement") return `${p.rule_ref} ${p.status} ${p.reason || ""}`;
  if (event.entity === "rule") return `${p.ref}${"enabled" in p ? (p.enabled ? " enabled" : " disabled") : ""}`;
  if (event.entity === "trigger_instance") return `${p.trigger_ref} ${p.status}`;
  return p.ref || "";
}

function show(event) {
  const row = document.createElement("tr");
  row.dataset.type = event.type;
  for (const text of [event.id, event.at, event.type, `${event.entity} ${event.entity_id}`, summary(event)]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.appendChild(cell);
  }
  row.lastChild.className = "summary";
  rows.prepend(row);
  while (rows.children.length > MAX_ROWS) rows.lastChild.remove();
}

const stream = new AttuneStream(filterFromForm(), {
  onEvent: show,
  onState: (value) => { state.textContent = value; state.className = value; },
});

form.addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  stream.refilter(filterFromForm());
});
