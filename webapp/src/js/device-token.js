// The device page's "Get a device token" button: fetches an a-jwt token from the API with the page's session and
// shows it with a copy button. Nothing is fetched until the button is pressed.
//
// <div data-device-token="/api/v1/device/d--…/key/?type=a-jwt"> [data-device-token-fetch] [data-device-token-output]
// (an input and a [data-copy] button) [data-device-token-error] </div>
export function initDeviceTokens(root = document) {
  root.querySelectorAll("[data-device-token]").forEach((card) => {
    const button = card.querySelector("[data-device-token-fetch]");
    if (!button || button.dataset.tokenReady) return;
    button.dataset.tokenReady = "1";
    const output = card.querySelector("[data-device-token-output]");
    const error = card.querySelector("[data-device-token-error]");
    button.addEventListener("click", async () => {
      button.disabled = true;
      error.hidden = true;
      try {
        const response = await fetch(card.dataset.deviceToken, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        const data = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(data.detail || `The token could not be made (${response.status}).`);
        output.querySelector("input").value = data.key;
        output.querySelector("[data-copy]").dataset.copy = data.key;
        output.hidden = false;
      } catch (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  });
}
