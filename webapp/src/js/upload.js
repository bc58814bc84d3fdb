// Uploads that show their progress. fetch() cannot report upload progress, so this uses XMLHttpRequest.
//
// A form opts in with data-upload; inside it, an optional [data-upload-progress] element (a Bootstrap .progress)
// shows the progress and an optional [data-upload-message] element shows the outcome. On success the page goes to
// the response's JSON "redirect" (or data-upload-redirect, or reloads); on failure the server's message is shown
// and the form can be sent again.

export function csrfToken(form) {
  const field = form?.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
}

// Sends `body` (FormData) and resolves with {status, data}; `onProgress(fraction)` is called as bytes go out.
export function uploadWithProgress(url, body, { method = "POST", headers = {}, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    request.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    if (onProgress) {
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
    }
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        data = { detail: request.responseText };
      }
      resolve({ status: request.status, data });
    });
    request.addEventListener("error", () => reject(new Error("The upload was interrupted.")));
    request.addEventListener("abort", () => reject(new Error("The upload was cancelled.")));
    request.send(body);
  });
}

// The most useful message in an error response: DRF's {"detail": ...} or the first field error.
export function errorMessage(data, status) {
  if (data && typeof data === "object") {
    if (typeof data.detail === "string") return data.detail;
    for (const value of Object.values(data)) {
      if (Array.isArray(value) && value.length) return String(value[0]);
      if (typeof value === "string") return value;
    }
  }
  return `The upload failed (HTTP ${status}).`;
}

function setProgress(container, fraction) {
  if (!container) return;
  container.hidden = false;
  const bar = container.querySelector(".progress-bar") || container;
  const percent = Math.round(fraction * 100);
  bar.style.width = `${percent}%`;
  bar.textContent = `${percent}%`;
  container.setAttribute("aria-valuenow", String(percent));
}

function showMessage(element, text, kind) {
  if (!element) return;
  element.hidden = false;
  element.className = `alert alert-${kind} mt-3 mb-0`;
  element.textContent = text;
}

export function initUploadForms(root = document) {
  root.querySelectorAll("form[data-upload]").forEach((form) => {
    if (form.dataset.uploadReady) return;
    form.dataset.uploadReady = "1";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const progress = form.querySelector("[data-upload-progress]");
      const message = form.querySelector("[data-upload-message]");
      const buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
      buttons.forEach((button) => (button.disabled = true));
      setProgress(progress, 0);
      try {
        const { status, data } = await uploadWithProgress(form.action, new FormData(form), {
          method: form.method.toUpperCase(),
          headers: { "X-CSRFToken": csrfToken(form) },
          onProgress: (fraction) => setProgress(progress, fraction),
        });
        if (status >= 200 && status < 300) {
          setProgress(progress, 1);
          showMessage(message, form.dataset.uploadSuccess || "Upload complete.", "success");
          const target = data?.redirect || form.dataset.uploadRedirect;
          if (target) window.location.assign(target);
          else if (!form.hasAttribute("data-upload-stay")) window.location.reload();
        } else {
          showMessage(message, errorMessage(data, status), "danger");
        }
      } catch (error) {
        showMessage(message, error.message, "danger");
      } finally {
        buttons.forEach((button) => (button.disabled = false));
      }
    });
  });
}
