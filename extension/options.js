// Options page: the seller's Vinted site. Saved as soon as it changes.

import { getBrowserApi } from "./src/browser.js";
import { VINTED_DOMAINS } from "./src/domains.js";
import { loadVintedDomain, saveVintedDomain } from "./src/settings.js";

const api = getBrowserApi();
const select = document.getElementById("vinted-domain");
const saved = document.getElementById("saved");

function fillDomains(current) {
  for (const domain of VINTED_DOMAINS) {
    const option = document.createElement("option");
    option.value = domain;
    option.textContent = domain;
    option.selected = domain === current;
    select.append(option);
  }
}

async function onChange() {
  saved.textContent = "";
  try {
    await saveVintedDomain(api.storage, select.value);
    saved.textContent = "Saved";
  } catch (error) {
    saved.textContent = `Not saved: ${error.message}`;
  }
}

async function main() {
  fillDomains(await loadVintedDomain(api.storage));
  select.addEventListener("change", onChange);
}

main();
