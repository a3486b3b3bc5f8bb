// One container: details, actions, logs that follow, a live stats chart, the action log and
// a terminal through the console proxy.

import { api, net, volumes } from "../api.js";
import { h, heading, replace, svg, table, toast } from "../dom.js";
import { removeContainer, statusBadge } from "./containers.js";
import { openTerminal } from "./terminal.js";

const POLL_MS = 2000;
const SAMPLES = 30;

// A word as a shell line would need it, so the command shown reads as it was typed.
function quoted(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

// "net-a: 10.0.0.5, fd00::5" a network, with the network's name when it is known.
function addresses(c, names) {
  const entries = Object.entries(c.addresses || {});
  if (!entries.length) return null;
  return h("ul", { class: "plain", id: "addresses" }, entries.map(([netId, list]) =>
    h("li", {}, `${names.get(netId) || netId}: `,
      (list || []).map((a) => a.addr).join(", "))));
}

// "data (1 GiB) at /data" for each volume the container holds (the volume API's attachments:
// the container's own representation has no mounts).
function mounts(held) {
  if (!held.length) return null;
  return h("ul", { class: "plain", id: "mounts" }, held.map((m) =>
    h("li", {}, h("a", { href: "#/volumes" }, m.name), ` (${m.size} GiB) at ${m.destination}`)));
}

function details(c, names, held) {
  const rows = [
    ["UUID", c.uuid], ["Status", statusBadge(c.status)], ["Status detail", c.status_detail],
    ["Reason", c.status_reason], ["Task", c.task_state], ["Image", c.image],
    ["Command", Array.isArray(c.command) ? c.command.map(quoted).join(" ") : c.command],
    ["CPUs", c.cpu], ["Memory (MiB)", c.memory], ["Host", c.host],
    ["Addresses", addresses(c, names)], ["Volumes", mounts(held)],
    ["Security groups", c.security_groups && c.security_groups.length
      ? c.security_groups.map((g) => names.get(g) || g).join(", ") : null],
    ["Ports", c.ports && c.ports.length ? c.ports.join(", ") : null],
    ["Restart policy", c.restart_policy ? c.restart_policy.Name : null],
    ["Environment", c.environment && Object.keys(c.environment).length
      ? Object.entries(c.environment).map(([k, v]) => `${k}=${v}`).join(" ") : null],
    ["Labels", c.labels && Object.keys(c.labels).length
      ? Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(" ") : null],
    ["Working directory", c.workdir],
    ["Interactive", c.interactive ? "yes" : "no"],
    ["Removed when it exits", c.auto_remove ? "yes" : "no"], ["Created", c.created_at],
  ];
  return h("dl", { class: "details" },
    rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "–")]));
}

// Two lines (CPU % and memory %) over the last SAMPLES polls; the scale grows with the
// largest value shown so that small loads stay visible.
function chart(samples) {
  const width = 600;
  const height = 120;
  const top = Math.max(5, ...samples.map((s) => Math.max(s.cpu, s.mem))) * 1.2;
  const scale = Math.min(100, Math.ceil(top / 5) * 5);
  const node = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-labelledby": "stats-label", preserveAspectRatio: "none" });
  node.append(svg("rect", { x: 0, y: 0, width, height, class: "chart-bg" }));
  for (const fraction of [0.25, 0.5, 0.75]) {
    node.append(svg("line", { x1: 0, x2: width, y1: height * fraction, y2: height * fraction,
      class: "chart-grid" }));
  }
  const y = (value) => (height - 2 - Math.min(scale, value) / scale * (height - 4)).toFixed(1);
  const step = width / (SAMPLES - 1);
  const line = (key, cls) => {
    if (samples.length < 2) return;
    const points = samples.map((s, i) => `${(i * step).toFixed(1)},${y(s[key])}`);
    node.append(svg("polyline", { points: points.join(" "), class: cls }));
  };
  line("cpu", "line-cpu");
  line("mem", "line-mem");
  return { node, scale };
}

export async function containerView(main, session, ident) {
  const page = { gone: false, timers: [], samples: [], terminal: null, container: null,
    names: new Map(), held: [] };
  const store = volumes(session.project.id);
  const title = heading("Container");
  const info = h("section", { "aria-labelledby": "details-title", class: "card" },
    h("h2", { id: "details-title" }, "Details"), h("div", { id: "details" }));
  const actions = h("div", { class: "actions", id: "container-actions" });
  const logs = h("pre", { id: "logs", class: "logs", tabindex: "0", role: "log",
    "aria-label": "Log output" }); // a named log region, also while still empty
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });
  const stats = h("div", { id: "stats" });
  const statsText = h("p", { id: "stats-label", class: "muted" }, "No samples yet.");
  const history = h("div", { id: "actions-log" });
  const termHolder = h("div", { id: "terminal", class: "terminal" });
  const termButton = h("button", { type: "button", id: "open-terminal" }, "Open a shell");
  const termStatus = h("p", { id: "terminal-status", class: "muted", "aria-live": "polite" });

  replace(main, title, actions, info,
    h("section", { class: "card", "aria-labelledby": "logs-title" },
      h("div", { class: "section-head" }, h("h2", { id: "logs-title" }, "Logs"),
        h("label", { class: "inline" }, follow, " Follow")), logs),
    h("section", { class: "card", "aria-labelledby": "stats-title" },
      h("h2", { id: "stats-title" }, "Resource use"),
      h("p", { class: "legend" }, h("span", { class: "key-cpu" }, "CPU %"), " ",
        h("span", { class: "key-mem" }, "Memory %")), stats, statsText),
    h("section", { class: "card", "aria-labelledby": "terminal-title" },
      h("h2", { id: "terminal-title" }, "Terminal"), termButton, termStatus, termHolder),
    h("section", { class: "card", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "Action log"), history));

  const act = (label, call) => h("button", { type: "button", dataset: { action: label } }, label);
  const buttons = {
    Start: () => api.post(`/containers/${ident}/start`),
    Stop: () => api.post(`/containers/${ident}/stop`, { timeout: 1 }),
    Restart: () => api.post(`/containers/${ident}/reboot`, { timeout: 1 }),
    Delete: async () => {
      if (!confirm(`Delete ${page.container.name}?`)) return;
      await removeContainer(page.container);
      toast(`Deleting ${page.container.name}.`);
      location.hash = "#/containers";
    },
  };
  for (const [label, call] of Object.entries(buttons)) {
    const button = act(label);
    if (label === "Delete") button.classList.add("danger");
    button.addEventListener("click", async () => {
      try {
        await call();
        if (label !== "Delete") toast(`${label} requested.`);
        refresh();
      } catch (error) {
        toast(`${label} failed: ${error.message}`, "error");
      }
    });
    actions.append(button);
  }

  function updateButtons(c) {
    const state = c.status;
    const enabled = {
      Start: ["Created", "Stopped", "Error"].includes(state),
      Stop: state === "Running",
      Restart: ["Running", "Stopped", "Created"].includes(state),
      Delete: state !== "Deleting",
    };
    for (const button of actions.querySelectorAll("button")) {
      button.disabled = Boolean(c.task_state) || !enabled[button.dataset.action];
    }
    termButton.disabled = state !== "Running" || Boolean(page.terminal);
  }

  async function refresh() {
    try {
      const c = await api.get(`/containers/${ident}`);
      page.container = c;
      replace(title.querySelector("h1"), `Container ${c.name}`);
      await Promise.all([learnNames(c), learnMounts(c)]);
      replace(info.querySelector("#details"), details(c, page.names, page.held));
      updateButtons(c);
      return c;
    } catch (error) {
      if (error.status === 404) {
        replace(main, heading("Container not found"),
          h("p", {}, "It does not exist, or it is not in your project."),
          h("a", { href: "#/containers" }, "Back to the containers"));
        page.gone = true;
      }
      return null;
    }
  }

  // Names of the networks and groups the container uses, looked up once each.
  async function learnNames(c) {
    const missing = (ids, path, key) => ids.filter((id) => !page.names.has(id)).map(async (id) => {
      page.names.set(id, id);
      try {
        const found = await net.get(`/${path}/${encodeURIComponent(id)}`);
        if (found[key].name) page.names.set(id, found[key].name);
      } catch (_) { /* not visible: the id stays */ }
    });
    await Promise.all([...missing(Object.keys(c.addresses || {}), "networks", "network"),
      ...missing(c.security_groups || [], "security-groups", "security_group")]);
  }

  async function learnMounts(c) {
    try {
      page.held = (await store.list()).flatMap((v) => v.attachments
        .filter((a) => a.server_id === c.uuid)
        .map((a) => ({ name: v.name || v.id, size: v.size, destination: a.device })));
    } catch (_) { /* another project's container (an admin's view): none shown */ }
  }

  async function refreshLogs() {
    if (!follow.checked || !page.container || !page.container.host) return;
    try {
      const text = await api.get(`/containers/${ident}/logs`, { tail: 500 });
      if (logs.textContent !== text) {
        const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
        logs.textContent = text || "";
        if (atEnd) logs.scrollTop = logs.scrollHeight;
      }
    } catch (_) { /* not started yet */ }
  }

  async function refreshStats() {
    if (!page.container || page.container.status !== "Running") return;
    try {
      const s = await api.get(`/containers/${ident}/stats`);
      page.samples.push({ cpu: Number(s["CPU %"]) || 0, mem: Number(s["MEM %"]) || 0 });
      if (page.samples.length > SAMPLES) page.samples.shift();
      const drawn = chart(page.samples);
      replace(stats, drawn.node);
      statsText.textContent = `Scale 0 to ${drawn.scale} %. Now: CPU ${Number(s["CPU %"]).toFixed(1)} %, memory `
        + `${Number(s["MEM USAGE(MiB)"]).toFixed(1)} of ${Number(s["MEM LIMIT(MiB)"]).toFixed(0)} MiB `
        + `(${Number(s["MEM %"]).toFixed(1)} %).`;
    } catch (_) { /* stopped meanwhile */ }
  }

  async function refreshHistory() {
    try {
      const list = (await api.get(`/containers/${ident}/container_actions`)).containerActions;
      replace(history, table("Action log",
        ["Action", "Started", "Finished", "Message"],
        list.map((a) => [a.action, a.start_time, a.finish_time, a.message]),
        "No actions recorded yet."));
    } catch (_) { /* gone */ }
  }

  termButton.addEventListener("click", async () => {
    termButton.disabled = true;
    termStatus.textContent = "Connecting…";
    try {
      page.terminal = await openTerminal(termHolder, ident, (message) => {
        termStatus.textContent = message;
        if (message.startsWith("Closed")) { page.terminal = null; updateButtons(page.container); }
      });
    } catch (error) {
      termStatus.textContent = `The terminal could not open: ${error.message}`;
      termButton.disabled = false;
    }
  });

  const every = (fn, ms) => {
    const loop = async () => {
      if (page.gone) return;
      await fn();
      if (!page.gone) page.timers.push(setTimeout(loop, ms));
    };
    loop();
  };
  await refresh();
  if (!page.gone) {
    every(refresh, POLL_MS);
    every(refreshLogs, POLL_MS);
    every(refreshStats, POLL_MS);
    every(refreshHistory, POLL_MS * 3);
  }
  return () => {
    page.gone = true;
    page.timers.forEach(clearTimeout);
    if (page.terminal) page.terminal.close();
  };
}
