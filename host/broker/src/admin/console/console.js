// The Sluice console: a client of the admin API it is served by (docs/console.md).
//
// Every panel polls one endpoint and keeps its table in step with the answer, row by row, so
// a selection or a half-typed form survives the refresh. A panel whose endpoint is missing
// (404, an older broker) or failing says so in its own status line; the others carry on.
//
// Broker data reaches the page only as text (textContent, text nodes, attribute values set
// with setAttribute): a name that looks like markup stays text. The Content-Security-Policy
// the page is served with allows no inline script and no eval, so none is used here.

import { every } from "./tables.js";
import { SAMPLE_MS, refreshOverview } from "./charts.js";
import {
  closeGroup,
  closeTopic,
  refreshAddresses,
  refreshConnections,
  refreshGroups,
  refreshQueues,
  refreshTopics,
} from "./panels.js";
import { refreshPlugins, swap } from "./plugins.js";

// How often each panel asks, in milliseconds: counters every second, slower-moving lists less.
const POLL_MS = {
  overview: SAMPLE_MS,
  queues: 1000,
  addresses: 1000,
  connections: 2000,
  plugins: 2000,
  topics: 5000,
  groups: 5000,
};

function start() {
  document.getElementById("swap-form").addEventListener("submit", swap);
  document.getElementById("topic-detail-close").addEventListener("click", closeTopic);
  document.getElementById("group-detail-close").addEventListener("click", closeGroup);
  every(POLL_MS.overview, refreshOverview);
  every(POLL_MS.queues, refreshQueues);
  every(POLL_MS.addresses, refreshAddresses);
  every(POLL_MS.connections, refreshConnections);
  every(POLL_MS.plugins, refreshPlugins);
  every(POLL_MS.topics, refreshTopics);
  every(POLL_MS.groups, refreshGroups);
}

start();
