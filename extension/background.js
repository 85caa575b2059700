// Background entry point (Chrome service worker / Firefox event page, both as ES module).
// All logic lives in src/; this file only hands it the browser's API.

import { getBrowserApi } from "./src/browser.js";
import { startBackground } from "./src/background-app.js";

startBackground({ api: getBrowserApi() });
