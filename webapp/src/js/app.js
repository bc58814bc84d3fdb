// Loaded by every page: Bootstrap's behaviour (dropdowns, collapse, alerts, modals) and the dashboard helpers,
// each attached to the elements that ask for it through a data attribute.
import { Tooltip } from "bootstrap";

import { initCampaigns } from "./campaign.js";
import { initConfirm } from "./confirm.js";
import { initCopyButtons } from "./copy.js";
import { initDeviceTokens } from "./device-token.js";
import { initProgress } from "./progress.js";
import { initReportUploads } from "./report-upload.js";
import { initTrackMaps } from "./track-map.js";
import { initUploadForms, uploadWithProgress } from "./upload.js";

function init(root = document) {
  root.querySelectorAll('[data-bs-toggle="tooltip"]').forEach((element) => Tooltip.getOrCreateInstance(element));
  initCopyButtons(root);
  initConfirm(root);
  initUploadForms(root);
  initReportUploads(root);
  initDeviceTokens(root);
  initProgress(root);
  initTrackMaps(root);
  initCampaigns(root);
}

// Page scripts can reach the helpers without a bundler of their own.
window.iotile = Object.assign(window.iotile || {}, { init, uploadWithProgress });

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => init());
} else {
  init();
}
