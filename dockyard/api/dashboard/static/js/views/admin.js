// Hosts and services: admin only (the API refuses everybody else with 403).

import { api } from "../api.js";
import { h, heading, replace, table } from "../dom.js";

function refused(main, title) {
  replace(main, heading(title), h("p", { class: "placeholder" },
    `${title} are shown to administrators only.`));
}

async function load(main, session, title, fetch, render) {
  if (!session.is_admin) return refused(main, title);
  replace(main, heading(title), h("p", { class: "muted" }, "Loading…"));
  try {
    replace(main, heading(title), render(await fetch()));
  } catch (error) {
    if (error.status === 403) return refused(main, title);
    replace(main, heading(title), h("p", { class: "field-error" }, error.message));
  }
}

export function hostsView(main, session) {
  return load(main, session, "Hosts", () => api.get("/hosts"), (body) => table("Compute hosts",
    ["Host", "CPUs used", "Memory used (MiB)", "Disk used (GiB)", "Containers", "Kernel"],
    body.hosts.map((x) => [x.hostname, `${x.cpu_used} of ${x.cpus}`,
      `${x.mem_used} of ${x.mem_total}`, `${x.disk_used} of ${x.disk_total}`,
      x.total_containers, x.kernel_version]),
    "No compute host has reported yet."));
}

export function servicesView(main, session) {
  return load(main, session, "Services", () => api.get("/services"), (body) => table("Services",
    ["Binary", "Host", "State", "Scheduling", "Availability zone", "Last seen"],
    body.services.map((s) => [s.binary, s.host, s.state,
      s.disabled ? `disabled${s.disabled_reason ? ` (${s.disabled_reason})` : ""}` : "enabled",
      s.availability_zone, s.last_seen_up]),
    "No service has registered yet."));
}
