// The device page's report upload (form[data-report-upload]). The file goes to the streamer report API (the same
// endpoint the IOTile uploaders use) with the session and CSRF token; ?timestamp= is the moment of sending, as an
// uploader sets it when it forwards a report it just received. The progress bar follows the bytes sent; afterwards
// the page says how many readings were new and refreshes the report history (#report-history, from its data-url).
import { csrfToken, errorMessage, uploadWithProgress } from "./upload.js";

function attach(form) {
  const input = form.querySelector("input[type=file]");
  const progress = form.querySelector("[data-upload-progress]");
  const bar = progress.querySelector(".progress-bar");
  const message = form.querySelector("[data-upload-message]");
  const button = form.querySelector("button[type=submit]");

  function setProgress(fraction) {
    const percent = Math.round(fraction * 100);
    progress.hidden = false;
    bar.style.width = `${percent}%`;
    bar.textContent = `${percent}%`;
    progress.setAttribute("aria-valuenow", String(percent));
  }

  function show(text, kind) {
    message.hidden = false;
    message.className = `alert alert-${kind} small mt-3 mb-0`;
    message.textContent = text;
  }

  async function refreshHistory() {
    const history = document.getElementById("report-history");
    if (!history) return;
    const response = await fetch(history.dataset.url, { credentials: "same-origin" });
    if (response.ok) history.innerHTML = await response.text();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) {
      show("Choose a report file first.", "warning");
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name);
    const url = `${form.action}?timestamp=${encodeURIComponent(new Date().toISOString())}`;
    button.disabled = true;
    message.hidden = true;
    bar.classList.add("progress-bar-animated");
    setProgress(0);
    try {
      const { status, data } = await uploadWithProgress(url, body, {
        headers: { "X-CSRFToken": csrfToken(form) },
        onProgress: setProgress,
      });
      if (status >= 200 && status < 300) {
        setProgress(1);
        const count = data?.count ?? 0;
        show(`${file.name} uploaded: ${count} new reading${count === 1 ? "" : "s"}. It is queued for processing.`, "success");
        form.reset();
        await refreshHistory();
      } else {
        show(errorMessage(data, status), "danger");
      }
    } catch (error) {
      show(error.message, "danger");
    } finally {
      bar.classList.remove("progress-bar-animated");
      button.disabled = false;
    }
  });
}

export function initReportUploads(root = document) {
  root.querySelectorAll("form[data-report-upload]").forEach((form) => {
    if (form.dataset.reportUploadReady) return;
    form.dataset.reportUploadReady = "1";
    attach(form);
  });
}
