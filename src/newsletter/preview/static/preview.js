// The preview page's only script: it reloads the page when the server has a new
// build, sizes each email frame to the email's height and opens the email's links
// in a new tab (a click must not replace the preview).
"use strict";

const shownVersion = document.body.dataset.version;

function fit(frame) {
  const doc = frame.contentDocument;
  if (!doc || doc.readyState !== "complete" || doc.URL === "about:blank") return;
  frame.style.height = doc.documentElement.scrollHeight + "px";
  for (const link of doc.querySelectorAll("a[href]")) link.target = "_blank";
}

for (const frame of document.querySelectorAll("iframe.email")) {
  frame.addEventListener("load", () => fit(frame));
  fit(frame);
}

async function poll() {
  const stopped = document.getElementById("stopped");
  try {
    const reply = await fetch("/version", { cache: "no-store" });
    const version = (await reply.text()).trim();
    stopped.hidden = true;
    if (version !== shownVersion) {
      location.reload();
      return;
    }
  } catch {
    stopped.hidden = false;
  }
  setTimeout(poll, 500);
}

setTimeout(poll, 500);
