// The plugins panel and the swap form: PUT /api/plugins/{kind}/{name}.
import { HttpError, api } from "./api.js";
import { DASH, bytes, count } from "./format.js";
import { field, listPanel, syncTable } from "./tables.js";

// A swap compiles a component, which can take a while on a cold cache.
const SWAP_TIMEOUT_MS = 120000;

function stat(key, label, format = count) {
  return {
    key,
    label,
    counter: true,
    text: (p) => format(p.stats ? p.stats[key] : undefined),
    value: (p) => (p.stats ? p.stats[key] : undefined),
  };
}

// Serving, or backing off after a failure.
function health(p) {
  if (typeof p.healthy !== "boolean") return DASH;
  return p.healthy ? "healthy" : "backing off";
}

const PLUGIN_COLUMNS = [
  field("kind", "Kind"),
  field("name", "Name"),
  field("plugin", "Plugin"),
  field("version", "Version"),
  field("healthy", "Health", health),
  stat("calls", "Calls"),
  stat("errors", "Errors"),
  stat("traps", "Traps"),
  stat("memory_bytes", "Memory", bytes),
  field("source", "Source"),
  field("sha256", "SHA-256", (p) => (typeof p.sha256 === "string" ? p.sha256.slice(0, 12) : DASH)),
  {
    key: "actions",
    label: "",
    build: (cell, p) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Swap…";
      button.setAttribute("data-action", "swap");
      const target = `${p.kind}/${p.name}`;
      button.addEventListener("click", () => chooseSwapTarget(target));
      cell.appendChild(button);
    },
  },
];

export async function refreshPlugins() {
  const table = document.getElementById("plugins-table");
  const plugins = await listPanel("/api/plugins", "plugins-status", table, (items) =>
    syncTable(table, PLUGIN_COLUMNS, items, {
      keyAttr: "plugin",
      keyOf: (p) => `${p.kind}/${p.name}`,
      emptyText: "No plugins.",
      extra: (row, p) => {
        row.setAttribute("data-kind", p.kind);
        row.setAttribute("data-name", p.name);
        row.classList.toggle("unhealthy", p.healthy === false);
      },
    }));
  if (plugins) swapTargets(plugins);
}

// Keeps the form's list of plugins in step, keeping what the user picked.
function swapTargets(plugins) {
  const select = document.getElementById("swap-target");
  const wanted = plugins.map((p) => `${p.kind}/${p.name}`);
  const have = Array.from(select.options, (o) => o.value);
  if (wanted.join("\n") === have.join("\n")) return;
  const chosen = select.value;
  select.replaceChildren(...wanted.map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = value.replace("/", " ");
    return option;
  }));
  if (wanted.includes(chosen)) select.value = chosen;
}

function chooseSwapTarget(target) {
  const select = document.getElementById("swap-target");
  select.value = target;
  const source = document.getElementById("swap-source");
  source.focus();
  document.getElementById("swap-form").scrollIntoView({ block: "nearest" });
}

function swapResult(outcome, text) {
  const output = document.getElementById("swap-result");
  output.setAttribute("data-outcome", outcome);
  output.textContent = text;
}

export async function swap(event) {
  event.preventDefault();
  const target = document.getElementById("swap-target").value;
  const cut = target.indexOf("/");
  if (cut < 0) {
    swapResult("error", "Pick a plugin to swap.");
    return;
  }
  const [kind, name] = [target.slice(0, cut), target.slice(cut + 1)];
  const source = document.getElementById("swap-source").value.trim();
  const button = document.getElementById("swap-submit");
  button.disabled = true;
  swapResult("pending", `Swapping ${kind} ${name}…`);
  try {
    const path = `/api/plugins/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
    const answer = await api(path, {
      method: "PUT",
      body: source ? { source } : undefined,
      timeoutMs: SWAP_TIMEOUT_MS,
    });
    const p = answer.plugin || {};
    const sha = String(p.sha256 || "").slice(0, 12);
    const now = `${p.plugin || name} ${p.version || "?"} (sha256 ${sha})`;
    if (answer.swapped) {
      swapResult("swapped", `Swapped ${kind} ${name}: now ${now} from ${p.source}.`);
    } else {
      swapResult("unchanged", `Nothing to swap: ${kind} ${name} already runs ${now}.`);
    }
  } catch (e) {
    if (e instanceof HttpError) {
      swapResult("error", `Swap refused (${e.status}): ${e.message}`);
    } else {
      swapResult("error", `Swap failed: ${e.message}`);
    }
  } finally {
    button.disabled = false;
  }
  await refreshPlugins();
}
