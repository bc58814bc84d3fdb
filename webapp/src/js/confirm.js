// <form data-confirm="Delete this device?">: asks before a destructive submit.
export function initConfirm(root = document) {
  root.querySelectorAll("form[data-confirm]").forEach((form) => {
    if (form.dataset.confirmReady) return;
    form.dataset.confirmReady = "1";
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    });
  });
}
