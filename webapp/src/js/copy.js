// <button data-copy="d--0000-0000-0000-0002">: copies the value and says so in a tooltip.
import { Tooltip } from "bootstrap";

function flash(element, message) {
  const tooltip = new Tooltip(element, { title: message, trigger: "manual" });
  tooltip.show();
  setTimeout(() => tooltip.dispose(), 1200);
}

export function initCopyButtons(root = document) {
  root.querySelectorAll("[data-copy]").forEach((button) => {
    if (button.dataset.copyReady) return;
    button.dataset.copyReady = "1";
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        flash(button, "Copied");
      } catch {
        flash(button, "Copy failed");
      }
    });
  });
}
