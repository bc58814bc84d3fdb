// A progress bar that follows a background job: [data-progress-url] is polled every second for
// {"status", "progress", "done"} until done, updating its .progress-bar and [data-progress-status]; then the page
// reloads to show the finished result (or goes to data-progress-done-url).
const INTERVAL_MS = 1000;

export function initProgress(root = document) {
  root.querySelectorAll("[data-progress-url]").forEach((element) => {
    if (element.dataset.progressReady) return;
    element.dataset.progressReady = "1";
    const bar = element.querySelector(".progress-bar");
    const status = element.parentElement?.querySelector("[data-progress-status]");
    const show = ({ progress, status: label }) => {
      const percent = Math.max(0, Math.min(100, Math.round(progress)));
      element.setAttribute("aria-valuenow", String(percent));
      if (bar) {
        bar.style.width = `${percent}%`;
        bar.textContent = `${percent}%`;
      }
      if (status && label) status.textContent = label;
    };
    const poll = async () => {
      try {
        const response = await fetch(element.dataset.progressUrl, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const data = await response.json();
          show(data);
          if (data.done) {
            element.dataset.progressState = "done";
            bar?.classList.remove("progress-bar-animated");
            setTimeout(() => {
              if (element.dataset.progressDoneUrl) window.location.assign(element.dataset.progressDoneUrl);
              else window.location.reload();
            }, 600);
            return;
          }
        }
      } catch {
        // A dropped request: the next poll tries again.
      }
      setTimeout(poll, INTERVAL_MS);
    };
    setTimeout(poll, INTERVAL_MS);
  });
}
