// Tables kept in step with the API's lists, and the polling that feeds them.
import { api, failure, setStatus } from "./api.js";
import { DASH, count } from "./format.js";

// Rows a table shows at most, to keep the page responsive on a broker with many queues.
const ROWS_MAX = 1000;

// A column: `key` names the cell (`data-counter` for counters, `data-field` otherwise),
// `label` heads it, `text(item)` fills it, `value(item)` (counters) goes to `data-value`;
// `build(cell, item)` makes a cell once, when its row is made (buttons).
export function counter(key, label, format = count) {
  return {
    key,
    label,
    counter: true,
    text: (item) => format(item[key]),
    value: (item) => item[key],
  };
}

export function field(key, label, text = (item) => (item[key] == null ? DASH : String(item[key]))) {
  return { key, label, text };
}

function header(table, columns) {
  if (table.tHead) return;
  const row = table.createTHead().insertRow();
  for (const column of columns) {
    const th = document.createElement("th");
    th.textContent = column.label;
    if (column.counter) th.className = "num";
    row.appendChild(th);
  }
  table.createTBody();
}

function makeRow(columns, item, keyAttr, key) {
  const row = document.createElement("tr");
  row.setAttribute(`data-${keyAttr}`, key);
  for (const column of columns) {
    const cell = document.createElement("td");
    if (column.counter) {
      cell.setAttribute("data-counter", column.key);
      cell.className = "num";
    } else {
      cell.setAttribute("data-field", column.key);
    }
    if (column.build) column.build(cell, item);
    row.appendChild(cell);
  }
  return row;
}

// Makes `table`'s body show `items` in their order: rows are matched by `keyOf(item)`,
// updated in place, added and removed as needed. `extra(row, item)` sets more attributes.
export function syncTable(table, columns, items, { keyAttr, keyOf, emptyText, extra, onClick }) {
  header(table, columns);
  const body = table.tBodies[0];
  const shown = items.slice(0, ROWS_MAX);
  const old = new Map();
  for (const row of Array.from(body.rows)) {
    if (row.dataset.key !== undefined) old.set(row.dataset.key, row);
    else row.remove();
  }
  shown.forEach((item, i) => {
    const key = keyOf(item);
    let row = old.get(key);
    if (row) {
      old.delete(key);
    } else {
      row = makeRow(columns, item, keyAttr, key);
      row.dataset.key = key;
      if (onClick) row.addEventListener("click", (e) => {
        if (!(e.target instanceof HTMLButtonElement)) onClick(row.dataset.key);
      });
    }
    columns.forEach((column, c) => {
      if (column.build) return;
      const cell = row.cells[c];
      const text = column.text(item);
      if (cell.textContent !== text) cell.textContent = text;
      if (column.value) {
        const value = column.value(item);
        cell.setAttribute("data-value", value == null ? "" : String(value));
      }
    });
    if (extra) extra(row, item);
    if (body.rows[i] !== row) body.insertBefore(row, body.rows[i] || null);
  });
  for (const row of old.values()) row.remove();
  if (shown.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = columns.length;
    cell.className = "empty";
    cell.textContent = emptyText;
  }
  return items.length > ROWS_MAX ? `Showing the first ${ROWS_MAX} of ${items.length}.` : null;
}

export function clearTable(table) {
  if (table.tBodies[0]) table.tBodies[0].replaceChildren();
}

// Runs `task` now and then `ms` after each run ends, so a slow broker is never asked twice at
// once by the same panel.
export function every(ms, task) {
  const run = async () => {
    try {
      await task();
    } catch (e) {
      console.error(e);
    } finally {
      setTimeout(run, ms);
    }
  };
  run();
}

// A panel backed by one list endpoint: failures go to its status line and empty its table.
export async function listPanel(path, statusId, table, render) {
  let data;
  try {
    data = await api(path);
  } catch (e) {
    setStatus(statusId, failure(path, e));
    clearTable(table);
    return null;
  }
  const note = render(Array.isArray(data) ? data : []);
  setStatus(statusId, note);
  return data;
}
