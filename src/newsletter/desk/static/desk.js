// The desk works without this file; it only says that long work is under way.
"use strict";
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.busy) {
    button.setAttribute("aria-disabled", "true");
    button.textContent = button.dataset.busy;
    const form = button.form;
    if (form) {
      form.setAttribute("aria-busy", "true");
    }
  }
});

// The send's progress: the page asks the desk once a second while the send runs.
const stand = document.getElementById("stand");
if (stand && stand.dataset.source) {
  const update = async () => {
    try {
      const answer = await fetch(stand.dataset.source, { credentials: "same-origin" });
      if (!answer.ok) {
        return;
      }
      const values = await answer.json();
      for (const element of stand.querySelectorAll("[data-field]")) {
        const name = element.dataset.field;
        if (element.tagName === "PROGRESS") {
          element.max = Math.max(values.total, 1);
          element.value = values.done;
        } else if (name in values && element.textContent !== String(values[name])) {
          element.textContent = values[name];
        }
      }
      // Why a send stopped, and its fix: shown as soon as the desk knows, not after a reload.
      for (const element of stand.querySelectorAll("[data-shown-with]")) {
        element.hidden = !values[element.dataset.shownWith] || !values.error;
      }
      if (!values.active && values.state !== "elsewhere") {
        const form = stand.querySelector("form");
        if (form) {
          form.remove();
        }
        return;
      }
    } catch (error) {
      // The desk was closed or restarted: the next try tells.
    }
    window.setTimeout(update, 1000);
  };
  window.setTimeout(update, 1000);
}
