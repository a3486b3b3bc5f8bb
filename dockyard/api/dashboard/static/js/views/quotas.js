// The project's quotas and what it uses of them.

import { api } from "../api.js";
import { h, heading, replace, table } from "../dom.js";

const LABELS = { containers: "Containers", cpu: "CPUs", memory: "Memory (MiB)", disk: "Disk (GiB)" };

function meter(used, limit) {
  if (limit < 0) return "unlimited";
  return h("meter", { min: 0, max: Math.max(limit, 1), value: Math.min(used, limit),
    "aria-label": `${used} of ${limit}` });
}

export async function quotasView(main, session) {
  const title = `Quotas and usage of project ${session.project.name}`;
  replace(main, heading(title), h("p", { class: "muted" }, "Loading…"));
  try {
    const quotas = await api.get(`/quotas/${encodeURIComponent(session.project.id)}`,
      { usages: "True" });
    replace(main, heading(title), table("Quotas", ["Resource", "In use", "Limit", "Share"],
      Object.entries(LABELS).filter(([key]) => quotas[key]).map(([key, label]) => {
        const { in_use: used, limit } = quotas[key];
        return [label, String(Number(used.toFixed ? used.toFixed(3) : used)),
          limit < 0 ? "unlimited" : String(limit), meter(used, limit)];
      }), "No quotas apply."));
  } catch (error) {
    replace(main, heading(title), h("p", { class: "field-error" }, error.message));
  }
}
