// The admin's execution page: while the execution runs, append what it prints (followed
// through GET /api/v1/executions/<id>/output?follow=true) to the stdout/stderr fields.
"use strict";

async function followOutput(element) {
  const id = element.dataset.execution;
  const stdout = document.querySelector(`pre[data-live-output="stdout"][data-execution="${id}"]`);
  const stderr = document.querySelector(`pre[data-live-output="stderr"][data-execution="${id}"]`);
  stdout.textContent = "";
  stderr.textContent = "";
  const response = await fetch(`/api/v1/executions/${id}/output?follow=true`, { credentials: "same-origin" });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines.filter(Boolean)) {
      const message = JSON.parse(line);
      if (message.end) {
        element.dataset.finished = message.status;
        stdout.insertAdjacentText("afterend", ` — finished: ${message.status} (reload for the result)`);
      } else {
        (message.stream === "stderr" ? stderr : stdout).append(message.data);
      }
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll('pre[data-live-output="stdout"][data-complete="false"]').forEach(followOutput);
});
