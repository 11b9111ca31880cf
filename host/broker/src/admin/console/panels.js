// The panels that list what the broker holds: topics, addresses, queues, consumer groups and
// connections, with the topic and group details opened by a click.
import { HttpError, api, failure, setStatus } from "./api.js";
import { bytes, count, list, since, yesNo } from "./format.js";
import { clearTable, counter, field, listPanel, syncTable } from "./tables.js";

// Groups whose lag is fetched each refresh (one request each).
const GROUP_DETAILS_MAX = 50;

const TOPIC_COLUMNS = [
  field("name", "Name"),
  counter("partitions", "Partitions"),
  counter("replicas", "Replicas"),
];
let selectedTopic = null;

export async function refreshTopics() {
  const table = document.getElementById("topics-table");
  const topics = await listPanel("/api/topics", "topics-status", table, (items) =>
    syncTable(table, TOPIC_COLUMNS, items, {
      keyAttr: "topic",
      keyOf: (t) => t.name,
      emptyText: "No topics.",
      onClick: showTopic,
    }));
  if (topics && selectedTopic !== null) await loadTopic(selectedTopic);
}

function showTopic(name) {
  selectedTopic = name;
  for (const row of document.querySelectorAll("#topics-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.key === name);
  }
  const detail = document.getElementById("topic-detail");
  detail.hidden = false;
  detail.querySelector('[data-field="name"]').textContent = name;
  clearTable(document.getElementById("topic-configs"));
  clearTable(document.getElementById("topic-partitions"));
  loadTopic(name);
}

async function loadTopic(name) {
  const path = `/api/topics/${encodeURIComponent(name)}`;
  let t;
  try {
    t = await api(path);
  } catch (e) {
    const gone = e instanceof HttpError && e.status === 404;
    setStatus("topic-detail-status", gone ? `No topic ${name} (deleted?).` : failure(path, e));
    return;
  }
  if (selectedTopic !== name) return;
  setStatus("topic-detail-status", null);
  syncTable(document.getElementById("topic-configs"),
    [field("name", "Name"), field("value", "Value"), field("source", "Source")],
    Array.isArray(t.configs) ? t.configs : [],
    { keyAttr: "config", keyOf: (c) => c.name, emptyText: "No configs." });
  syncTable(document.getElementById("topic-partitions"),
    [counter("partition", "Partition"), counter("log_start", "Log start"),
      counter("high_watermark", "High watermark"), counter("log_end", "Log end")],
    Array.isArray(t.partition_info) ? t.partition_info : [],
    { keyAttr: "partition", keyOf: (p) => String(p.partition), emptyText: "No partitions." });
}

export function closeTopic() {
  selectedTopic = null;
  document.getElementById("topic-detail").hidden = true;
  for (const row of document.querySelectorAll("#topics-table tbody tr.selected")) {
    row.classList.remove("selected");
  }
}

const ADDRESS_COLUMNS = [
  field("name", "Name"),
  field("routing_types", "Routing types", (a) => list(a.routing_types)),
  field("queues", "Queues", (a) => list(a.queues)),
  field("temporary", "Temporary", (a) => yesNo(a.temporary)),
];

export function refreshAddresses() {
  const table = document.getElementById("addresses-table");
  return listPanel("/api/addresses", "addresses-status", table, (items) =>
    syncTable(table, ADDRESS_COLUMNS, items, {
      keyAttr: "address",
      keyOf: (a) => a.name,
      emptyText: "No addresses.",
    }));
}

// Artemis's queue columns (`sluice queue stat`), then the policy counters.
const QUEUE_COLUMNS = [
  field("name", "Name"),
  field("address", "Address"),
  field("routing", "Routing type"),
  field("durable", "Durable", (q) => yesNo(q.durable)),
  counter("consumer_count", "Consumers"),
  counter("message_count", "Messages"),
  counter("messages_added", "Added"),
  counter("messages_acknowledged", "Acknowledged"),
  counter("delivering_count", "Delivering"),
  counter("scheduled_count", "Scheduled"),
  counter("messages_expired", "Expired"),
  counter("messages_killed", "Killed"),
];

export function refreshQueues() {
  const table = document.getElementById("queues-table");
  return listPanel("/api/queues", "queues-status", table, (items) =>
    syncTable(table, QUEUE_COLUMNS, items, {
      keyAttr: "queue",
      // Rows are matched by address and name; `data-queue` carries the name alone.
      keyOf: (q) => `${q.address}::${q.name}`,
      emptyText: "No queues.",
      extra: (row, q) => {
        row.setAttribute("data-queue", q.name);
        row.setAttribute("data-address", q.address);
      },
    }));
}

const GROUP_COLUMNS = [
  field("group", "Group"),
  field("state", "State"),
  field("protocol_type", "Protocol type"),
  {
    key: "members",
    label: "Members",
    counter: true,
    text: (g) => count(memberCount(g.members)),
    value: (g) => memberCount(g.members),
  },
  counter("lag", "Lag"),
];
const groupDetails = new Map();

// The list gives a count; a detail gives the members themselves.
function memberCount(members) {
  return Array.isArray(members) ? members.length : members;
}
let selectedGroup = null;

export async function refreshGroups() {
  const table = document.getElementById("groups-table");
  let groups;
  try {
    groups = await api("/api/groups");
  } catch (e) {
    setStatus("groups-status", failure("/api/groups", e));
    clearTable(table);
    return;
  }
  groups = Array.isArray(groups) ? groups : [];
  // The list has no lag: each group's detail does (bounded, in parallel).
  const wanted = groups.slice(0, GROUP_DETAILS_MAX).map((g) => g.group);
  const details = await Promise.all(wanted.map((name) =>
    api(`/api/groups/${encodeURIComponent(name)}`).catch(() => null)));
  groupDetails.clear();
  wanted.forEach((name, i) => {
    if (details[i]) groupDetails.set(name, details[i]);
  });
  const rows = groups.map((g) => ({ ...g, lag: groupDetails.get(g.group)?.lag }));
  const note = syncTable(table, GROUP_COLUMNS, rows, {
    keyAttr: "group",
    keyOf: (g) => g.group,
    emptyText: "No consumer groups.",
    onClick: showGroup,
  });
  setStatus("groups-status", note);
  if (selectedGroup !== null) showGroup(selectedGroup);
}

function showGroup(name) {
  selectedGroup = name;
  for (const row of document.querySelectorAll("#groups-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.key === name);
  }
  const detail = document.getElementById("group-detail");
  detail.hidden = false;
  detail.querySelector('[data-field="group"]').textContent = name;
  const g = groupDetails.get(name);
  const table = document.getElementById("group-offsets");
  if (!g) {
    setStatus("group-detail-status", `No offsets known for ${name}.`);
    clearTable(table);
    return;
  }
  setStatus("group-detail-status", null);
  syncTable(table,
    [field("topic", "Topic"), counter("partition", "Partition"), counter("committed", "Committed"),
      counter("log_end", "Log end"), counter("lag", "Lag")],
    Array.isArray(g.offsets) ? g.offsets : [],
    {
      keyAttr: "offset",
      keyOf: (o) => `${o.topic}/${o.partition}`,
      emptyText: "No committed offsets.",
    });
}

export function closeGroup() {
  selectedGroup = null;
  document.getElementById("group-detail").hidden = true;
}

const CONNECTION_COLUMNS = [
  field("id", "Id"),
  field("listener", "Listener"),
  field("peer", "Peer"),
  field("since_ms", "Connected", (c) => since(c.since_ms)),
  counter("bytes_in", "Bytes in", bytes),
  counter("bytes_out", "Bytes out", bytes),
];

export function refreshConnections() {
  const table = document.getElementById("connections-table");
  return listPanel("/api/connections", "connections-status", table, (items) =>
    syncTable(table, CONNECTION_COLUMNS, items, {
      keyAttr: "connection",
      keyOf: (c) => String(c.id),
      emptyText: "No connections.",
    }));
}
