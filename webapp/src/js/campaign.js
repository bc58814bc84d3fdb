// A campaign page (an OTA deployment, a desired-state rollout): [data-campaign-url] is polled every few seconds for
// the JSON of ota.selectors.deployment_campaign or desiredstate.selectors.desired_state_campaign ({status, done,
// progress, targets, counts[], devices[]}); the status, the progress bar, the counts per state and each device's row
// (every [data-field] cell from the field of that name) follow it, until the campaign is done.
// [data-campaign-done-state] names the state the progress counts (default "confirmed").
const INTERVAL_MS = 3000;

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

function deviceRow(tbody, row) {
  let tr = tbody.querySelector(`tr[data-device="${CSS.escape(row.device)}"]`);
  if (!tr) {
    // A device that joined the fleet after the page was drawn: add its row, without the link.
    tr = document.createElement("tr");
    tr.dataset.device = row.device;
    tr.innerHTML =
      '<td class="ps-3"><span data-field="name"></span><div class="font-monospace-sm text-body-secondary"></div></td>' +
      '<td><span class="badge campaign-state" data-field="state"></span></td>' +
      '<td class="text-end" data-field="attempts"></td><td class="small" data-field="message"></td>' +
      '<td class="pe-3 small" data-field="updated"></td>';
    tr.querySelector('[data-field="name"]').textContent = row.label || row.device;
    tr.querySelector("div").textContent = row.device;
    tbody.appendChild(tr);
  }
  return tr;
}

function show(section, data) {
  setText(section.querySelector("[data-campaign-status]"), data.status);
  setText(section.querySelector("[data-campaign-targets]"), String(data.targets));
  const doneState = section.dataset.campaignDoneState || "confirmed";
  const confirmed = data.counts.find((entry) => entry.state === doneState);
  setText(section.querySelector("[data-campaign-confirmed]"), String(confirmed ? confirmed.count : 0));
  const bar = section.querySelector("[data-campaign-bar]");
  if (bar) {
    bar.style.width = `${data.progress}%`;
    setText(bar, `${data.progress}%`);
    bar.parentElement.setAttribute("aria-valuenow", String(data.progress));
  }
  data.counts.forEach((entry) => {
    const badge = section.querySelector(`[data-campaign-counts] [data-state="${entry.state}"] [data-count]`);
    setText(badge, String(entry.count));
  });
  const tbody = section.querySelector("[data-campaign-devices]");
  if (!tbody) return;
  data.devices.forEach((row) => {
    const tr = deviceRow(tbody, row);
    const state = tr.querySelector('[data-field="state"]');
    state.className = `badge campaign-state campaign-${row.state}`;
    setText(state, row.state_label);
    tr.querySelectorAll("[data-field]").forEach((cell) => {
      const name = cell.dataset.field;
      if (name === "state" || name === "name") return;
      const value = row[name];
      setText(cell, value === undefined || value === null || value === "" ? "—" : String(value));
    });
  });
}

export function initCampaigns(root = document) {
  root.querySelectorAll("[data-campaign-url]").forEach((section) => {
    if (section.dataset.campaignReady) return;
    section.dataset.campaignReady = "1";
    if (section.dataset.campaignState === "done") return;
    const poll = async () => {
      try {
        const response = await fetch(section.dataset.campaignUrl, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const data = await response.json();
          show(section, data);
          if (data.done) {
            section.dataset.campaignState = "done";
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
