// The container list: filter, sort, live status by polling, bulk stop and delete.

import { api } from "../api.js";
import { h, heading, replace, toast } from "../dom.js";

const POLL_MS = 3000;
const COLUMNS = [
  ["name", "Name"], ["image", "Image"], ["status", "Status"], ["task_state", "Task"],
  ["host", "Host"], ["created_at", "Created"],
];

export function statusBadge(status) {
  return h("span", { class: `badge status-${String(status || "").toLowerCase()}` }, status || "–");
}

// Stopping before deleting keeps delete within what every member may do (no force).
export async function removeContainer(container) {
  const running = ["Running", "Restarting", "Paused"].includes(container.status);
  await api.del(`/containers/${container.uuid}`, running ? { stop: "true" } : {});
}

export function containersView(main, session) {
  const view = { containers: [], sort: "created_at", descending: true, selected: new Set(),
    rows: new Map(), timer: null, gone: false };
  const allProjects = session.is_admin
    ? h("label", { class: "inline" }, h("input", { type: "checkbox", id: "all-projects" }),
      " All projects")
    : null; // members only ever list their own project
  const filter = h("input", { id: "filter", type: "search", placeholder: "name, image, host…",
    autocomplete: "off" });
  const statusFilter = h("select", { id: "status-filter" },
    ["", "Running", "Stopped", "Created", "Creating", "Error", "Paused", "Restarting",
      "Deleting"].map((s) => h("option", { value: s }, s || "Any status")));
  const selectAll = h("input", { type: "checkbox", id: "select-all",
    "aria-label": "Select every shown container" });
  const stopButton = h("button", { type: "button", id: "bulk-stop", disabled: true }, "Stop selected");
  const deleteButton = h("button", { type: "button", id: "bulk-delete", class: "danger",
    disabled: true }, "Delete selected");
  const count = h("p", { id: "list-count", class: "muted", "aria-live": "polite" });
  const tbody = h("tbody", { id: "container-rows" });
  const headers = COLUMNS.map(([key, label]) => {
    const button = h("button", { type: "button", class: "sort", dataset: { key } }, label);
    button.addEventListener("click", () => {
      view.descending = view.sort === key ? !view.descending : false;
      view.sort = key;
      render();
    });
    return h("th", { scope: "col", dataset: { key } }, button);
  });
  const tableNode = h("table", { id: "containers" },
    h("caption", { class: "visually-hidden" }, "Containers"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "check" }, selectAll), headers)),
    tbody);

  replace(main,
    heading("Containers", h("a", { class: "button primary", href: "#/containers/new" },
      "Run a container")),
    h("div", { class: "toolbar" },
      h("div", { class: "field inline-field" }, h("label", { for: "filter" }, "Filter"), filter),
      h("div", { class: "field inline-field" },
        h("label", { for: "status-filter" }, "Status"), statusFilter),
      allProjects,
      h("div", { class: "bulk" }, stopButton, deleteButton)),
    count,
    h("div", { class: "table-wrap" }, tableNode));

  function shown() {
    const words = filter.value.trim().toLowerCase();
    const status = statusFilter.value;
    const list = view.containers.filter((c) =>
      (!status || c.status === status)
      && (!words || [c.name, c.image, c.host, c.uuid].some((v) => (v || "").toLowerCase().includes(words))));
    const key = view.sort;
    list.sort((a, b) => String(a[key] ?? "").localeCompare(String(b[key] ?? ""), undefined,
      { numeric: true }) * (view.descending ? -1 : 1));
    return list;
  }

  function rowFor(c) {
    let row = view.rows.get(c.uuid);
    if (!row) {
      const box = h("input", { type: "checkbox", class: "select",
        "aria-label": `Select ${c.name}` });
      box.addEventListener("change", () => {
        if (box.checked) view.selected.add(c.uuid); else view.selected.delete(c.uuid);
        updateBulk();
      });
      row = h("tr", { dataset: { uuid: c.uuid } },
        h("td", { class: "check" }, box),
        h("td", { class: "name" }, h("a", { href: `#/containers/${c.uuid}` }, c.name)),
        ...COLUMNS.slice(1).map(([key]) => h("td", { dataset: { key } })));
      view.rows.set(c.uuid, row);
    }
    for (const cell of row.querySelectorAll("td[data-key]")) {
      const key = cell.dataset.key;
      const value = c[key];
      if (key === "status") {
        if (cell.dataset.value !== value) replace(cell, statusBadge(value));
      } else {
        const text = key === "created_at" && value ? new Date(value).toLocaleString() : value ?? "–";
        if (cell.textContent !== String(text)) cell.textContent = text;
      }
      cell.dataset.value = value ?? "";
    }
    row.querySelector("input.select").checked = view.selected.has(c.uuid);
    return row;
  }

  function render() {
    const list = shown();
    const known = new Set(view.containers.map((c) => c.uuid));
    for (const uuid of [...view.rows.keys()]) if (!known.has(uuid)) view.rows.delete(uuid);
    for (const uuid of [...view.selected]) if (!known.has(uuid)) view.selected.delete(uuid);
    // Re-append in order: nodes move without being rebuilt, so focus stays put.
    list.forEach((c, i) => {
      const row = rowFor(c);
      if (tbody.children[i] !== row) tbody.insertBefore(row, tbody.children[i] || null);
    });
    while (tbody.children.length > list.length) tbody.lastChild.remove();
    for (const th of headers) {
      const key = th.dataset.key;
      th.setAttribute("aria-sort", key === view.sort ? (view.descending ? "descending" : "ascending") : "none");
    }
    count.textContent = `${list.length} of ${view.containers.length} containers shown`;
    updateBulk();
  }

  function updateBulk() {
    const any = view.selected.size > 0;
    stopButton.disabled = !any;
    deleteButton.disabled = !any;
    const visible = [...tbody.querySelectorAll("input.select")];
    selectAll.checked = visible.length > 0 && visible.every((b) => b.checked);
  }

  async function refresh() {
    try {
      const params = allProjects && main.querySelector("#all-projects").checked
        ? { all_projects: "True" } : {};
      view.containers = (await api.get("/containers", params)).containers;
      render();
    } catch (error) {
      if (error.status !== 401) toast(`Listing containers failed: ${error.message}`, "error");
    }
  }

  async function bulk(label, action) {
    const chosen = view.containers.filter((c) => view.selected.has(c.uuid));
    const results = await Promise.allSettled(chosen.map(action));
    const failed = results.filter((r) => r.status === "rejected");
    toast(failed.length
      ? `${label}: ${failed.length} of ${chosen.length} failed (${failed[0].reason.message})`
      : `${label}: requested for ${chosen.length} container(s).`, failed.length ? "error" : "info");
    view.selected.clear();
    await refresh();
  }

  filter.addEventListener("input", render);
  statusFilter.addEventListener("change", render);
  if (allProjects) allProjects.querySelector("input").addEventListener("change", refresh);
  selectAll.addEventListener("change", () => {
    for (const row of tbody.children) {
      if (selectAll.checked) view.selected.add(row.dataset.uuid);
      else view.selected.delete(row.dataset.uuid);
    }
    render();
  });
  stopButton.addEventListener("click", () =>
    bulk("Stop", (c) => api.post(`/containers/${c.uuid}/stop`, { timeout: 1 })));
  deleteButton.addEventListener("click", () => {
    if (confirm(`Delete ${view.selected.size} container(s)?`)) bulk("Delete", removeContainer);
  });

  const tick = async () => {
    await refresh();
    if (!view.gone) view.timer = setTimeout(tick, POLL_MS);
  };
  tick();
  return () => { view.gone = true; clearTimeout(view.timer); };
}
