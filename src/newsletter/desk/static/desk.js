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
