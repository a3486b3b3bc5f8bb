// The create form: the common fields, sent as the API takes them; the API's 400 goes
// beside the field it names.

import { api, net, volumes } from "../api.js";
import { h, heading, replace, toast } from "../dom.js";

const FIELDS = [
  { id: "name", label: "Name", hint: "Letters, digits, _ . - ; empty for a generated name." },
  { id: "image", label: "Image", required: true, hint: "For example busybox:latest." },
  { id: "command", label: "Command", hint: "Split like a shell line: sleep 3600" },
  { id: "cpu", label: "CPUs", inputmode: "decimal", hint: "0.1 to 16." },
  { id: "memory", label: "Memory (MiB)", inputmode: "numeric", hint: "4 to 8192." },
  { id: "environment", label: "Environment", multiline: true,
    hint: "One NAME=value a line." },
  { id: "exposed_ports", label: "Exposed ports", hint: "Space separated: 80 443/tcp 53/udp" },
  { id: "workdir", label: "Working directory", hint: "For example /app; empty for the image's." },
  { id: "labels", label: "Labels", multiline: true, hint: "One KEY=value a line." },
];

// "NAME=value" lines as an object; a line without "=" is a name with an empty value.
function pairs(text) {
  const found = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    found[at < 0 ? line.trim() : line.slice(0, at).trim()] = at < 0 ? "" : line.slice(at + 1);
  }
  return found;
}

function field(spec) {
  const control = spec.multiline
    ? h("textarea", { id: spec.id, name: spec.id, rows: 3 })
    : h("input", { id: spec.id, name: spec.id, type: "text", required: spec.required,
      inputmode: spec.inputmode, autocomplete: "off" });
  control.setAttribute("aria-describedby", `${spec.id}-hint ${spec.id}-error`);
  return h("div", { class: "field", dataset: { field: spec.id } },
    h("label", { for: spec.id }, spec.label, spec.required ? " (required)" : ""),
    control,
    h("p", { class: "hint", id: `${spec.id}-hint` }, spec.hint),
    h("p", { class: "field-error", id: `${spec.id}-error` }));
}

// A command line split as a POSIX shell would split words: quotes and backslashes
// honoured, nothing expanded. The API (1.20 and later) takes the command as a list.
export function splitCommand(text) {
  const words = [];
  let word = null;
  let quote = null;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quote === "'") {
      if (ch === "'") quote = null; else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (word !== null) { words.push(word); word = null; }
    } else {
      word = word ?? "";
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === "\\" && i + 1 < text.length) word += text[++i];
      else word += ch;
    }
  }
  if (quote) throw new Error(`Invalid input for field 'command': a ${quote} quote is not closed.`);
  if (word !== null) words.push(word);
  return words;
}

// The body the API takes, from what was typed: only fields that were filled in.
export function bodyFrom(form) {
  const value = (id) => form.elements[id].value.trim();
  const body = { image: value("image") };
  if (value("name")) body.name = value("name");
  if (value("command")) body.command = splitCommand(value("command"));
  if (value("cpu")) body.cpu = /^[0-9.]+$/.test(value("cpu")) ? Number(value("cpu")) : value("cpu");
  if (value("memory")) body.memory = value("memory");
  if (value("environment")) body.environment = pairs(value("environment"));
  if (value("labels")) body.labels = pairs(value("labels"));
  if (value("workdir")) body.workdir = value("workdir");
  if (value("exposed_ports")) {
    body.exposed_ports = {};
    for (const port of value("exposed_ports").split(/[\s,]+/)) if (port) body.exposed_ports[port] = {};
  }
  const restart = form.elements.restart_policy.value;
  if (restart) {
    body.restart_policy = { Name: restart };
    if (restart === "on-failure" && value("retries")) body.restart_policy.MaximumRetryCount = value("retries");
  }
  const network = form.elements.nets.value;
  if (network) body.nets = [{ network }];
  const groups = [...form.elements.security_groups.selectedOptions].map((o) => o.value);
  if (groups.length) body.security_groups = groups;
  const mount = mountFrom(form);
  if (mount) body.mounts = [mount];
  if (form.elements.auto_remove.checked) body.auto_remove = true;
  body.interactive = form.elements.interactive.checked;
  body.tty = form.elements.interactive.checked;
  return body;
}

// One mount: an existing volume by name, or a new volume of a size (removed with the
// container), at a destination. The API checks every part and names what is wrong.
function mountFrom(form) {
  const volume = form.elements.mount_volume.value;
  if (!volume) return null;
  const destination = form.elements.mount_destination.value.trim();
  if (volume !== NEW_VOLUME) return { source: volume, destination };
  const size = form.elements.mount_size.value.trim();
  return { size: /^\d+$/.test(size) ? Number(size) : size, destination };
}

const NEW_VOLUME = "\u0000new"; // not a volume name the API allows
const MOUNT_CONTROLS = { destination: "mount_destination", size: "mount_size",
  source: "mount_volume" };

// The mount control an error concerns: the API's messages say "destination", "size" or
// "Volume ..." (not found, in use, on another host).
export function mountFieldOf(message) {
  if (/destination/i.test(message)) return "mount_destination";
  if (/\bsize\b|GiB/i.test(message)) return "mount_size";
  if (/\bvolume\b|\bsource\b|mount/i.test(message)) return "mount_volume";
  return null;
}

// The project's available volumes, offered by name (by id when a name is shared).
async function fillVolumes(select, projectId) {
  try {
    const found = (await volumes(projectId).list()).filter((v) => v.status === "available");
    const counts = new Map();
    for (const v of found) counts.set(v.name, (counts.get(v.name) || 0) + 1);
    select.append(...found.map((v) => h("option",
      { value: v.name && counts.get(v.name) === 1 ? v.name : v.id },
      `${v.name || v.id} (${v.size} GiB)`)));
  } catch (_) { /* a new volume can still be asked for */ }
}

// The project's networks and security groups, offered by the form (the API's own defaults
// apply when none is chosen).
async function fillNetworking(nets, groups) {
  try {
    const [{ networks }, { security_groups: found }] = await Promise.all([
      net.get("/networks"), net.get("/security-groups")]);
    nets.append(...networks.map((n) => h("option", { value: n.id }, n.name || n.id)));
    groups.append(...found.map((g) => h("option", { value: g.id }, g.name)));
    groups.size = Math.min(Math.max(found.length, 2), 5);
  } catch (_) { /* the defaults still apply */ }
}

function mountFields() {
  const describe = (id) => ({ "aria-describedby": `${id}-hint ${id}-error` });
  const volume = h("select", { id: "mount_volume", name: "mount_volume", ...describe("mount_volume") },
    h("option", { value: "" }, "None"),
    h("option", { value: NEW_VOLUME }, "A new volume of the size below"));
  const text = (id, extra = {}) => h("input", { id, name: id, type: "text", autocomplete: "off",
    ...describe(id), ...extra });
  const fieldOf = (id, label, control, hint) => h("div", { class: "field", dataset: { field: id } },
    h("label", { for: id }, label), control,
    h("p", { class: "hint", id: `${id}-hint` }, hint),
    h("p", { class: "field-error", id: `${id}-error` }));
  return { volume, node: h("fieldset", { class: "mounts full", id: "mounts-fieldset" },
    h("legend", {}, "Volume"),
    h("div", { class: "form-grid inner" },
      fieldOf("mount_volume", "Volume", volume,
        "One of your project's available volumes, or a new one removed with the container."),
      fieldOf("mount_size", "New volume size (GiB)", text("mount_size", { inputmode: "numeric" }),
        "Only for a new volume: whole GiB."),
      fieldOf("mount_destination", "Mount at", text("mount_destination"),
        "A directory in the container, for example /data."))) };
}

export async function createView(main, session) {
  const mounts = mountFields();
  const networkSelect = h("select", { id: "nets", name: "nets", "aria-describedby": "nets-error" },
    h("option", { value: "" }, "The default network"));
  const groupSelect = h("select", { id: "security_groups", name: "security_groups", multiple: true,
    "aria-describedby": "security_groups-hint security_groups-error" });
  const networking = [
    h("div", { class: "field", dataset: { field: "nets" } },
      h("label", { for: "nets" }, "Network"), networkSelect,
      h("p", { class: "field-error", id: "nets-error" })),
    h("div", { class: "field", dataset: { field: "security_groups" } },
      h("label", { for: "security_groups" }, "Security groups"), groupSelect,
      h("p", { class: "hint", id: "security_groups-hint" },
        "None chosen: the project's default. Not together with exposed ports."),
      h("p", { class: "field-error", id: "security_groups-error" })),
  ];
  const general = h("p", { id: "form-error", class: "field-error", role: "alert" });
  const restart = h("div", { class: "field", dataset: { field: "restart_policy" } },
    h("label", { for: "restart_policy" }, "Restart policy"),
    h("select", { id: "restart_policy", name: "restart_policy",
      "aria-describedby": "restart_policy-error" },
      h("option", { value: "" }, "Never (default)"),
      h("option", { value: "on-failure" }, "On failure"),
      h("option", { value: "always" }, "Always"),
      h("option", { value: "unless-stopped" }, "Unless stopped")),
    h("p", { class: "field-error", id: "restart_policy-error" }));
  const retries = h("div", { class: "field", dataset: { field: "MaximumRetryCount" } },
    h("label", { for: "retries" }, "Retries on failure"),
    h("input", { id: "retries", name: "retries", type: "text", inputmode: "numeric",
      "aria-describedby": "retries-error" }),
    h("p", { class: "field-error", id: "retries-error" }));
  const form = h("form", { id: "create-form", class: "card form-grid", novalidate: true },
    FIELDS.map(field), restart, retries, networking, mounts.node,
    h("div", { class: "field checks" },
      h("label", { class: "inline" }, h("input", { type: "checkbox", id: "interactive",
        name: "interactive", checked: true }), " Keep a terminal (interactive, tty)"),
      h("label", { class: "inline" }, h("input", { type: "checkbox", id: "run", name: "run",
        checked: true }), " Start it now"),
      h("label", { class: "inline" }, h("input", { type: "checkbox", id: "auto_remove",
        name: "auto_remove" }), " Remove it when it exits")),
    general,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create"),
      h("a", { class: "button", href: "#/containers" }, "Cancel")));

  function clearErrors() {
    general.textContent = "";
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  function showError(error) {
    let name = error.field === "MaximumRetryCount" ? "retries" : error.field;
    if (MOUNT_CONTROLS[name]) name = MOUNT_CONTROLS[name];
    if ((!name || name === "mounts") && form.elements.mount_volume.value) {
      name = mountFieldOf(error.message) || name;
    }
    const holder = name && form.querySelector(`#${CSS.escape(name)}-error`);
    if (holder) {
      holder.textContent = error.message;
      const control = form.elements[name];
      control.setAttribute("aria-invalid", "true");
      control.focus();
    } else {
      general.textContent = error.message;
      general.focus?.();
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    if (!form.elements.image.value.trim()) {
      showError({ field: "image", message: "An image is required." });
      return;
    }
    let body;
    try {
      body = bodyFrom(form);
    } catch (error) {
      showError({ field: "command", message: error.message });
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const run = form.elements.run.checked ? { run: "true" } : {};
      const created = await api.post("/containers", run, body);
      toast(`Container ${created.name} is being created.`);
      location.hash = `#/containers/${created.uuid}`;
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
  replace(main, heading("Run a container"), form);
  await Promise.all([fillNetworking(networkSelect, groupSelect),
    fillVolumes(mounts.volume, session.project.id)]);
  form.dataset.ready = "true"; // the lists are filled
}
