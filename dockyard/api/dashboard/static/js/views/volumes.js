// The project's volumes through the block-storage subset (/volume/v3/{project}): the list
// with size, status and the containers holding each, a create form (name, size) and delete
// (the API refuses with 409 while a container holds the volume). Only the session's
// project is ever asked for: the API answers another project's id with a 400.

import { api, volumes } from "../api.js";
import { h, heading, replace, toast } from "../dom.js";
import { fieldShower, textField } from "./forms.js";

const POLL_MS = 3000;

// Cinder's messages name the attribute ("Invalid input for field/attribute size") or say
// what is wrong with it ("size must be ...", "over the largest volume allowed").
function guessVolumeField(message) {
  if (/\bsize\b|GiB|gigabytes|quota/i.test(message)) return "size";
  if (/\bname\b/i.test(message)) return "name";
  return null;
}

export function volumeLabel(volume) {
  return volume.name || volume.id;
}

// "web at /data" for each container holding the volume, linked to the container's page.
function holders(volume, names) {
  if (!volume.attachments.length) return "–";
  return h("ul", { class: "plain" }, volume.attachments.map((a) =>
    h("li", { class: "attachment" },
      h("a", { href: `#/containers/${a.server_id}` }, names.get(a.server_id) || a.server_id),
      ` at ${a.device}`)));
}

export async function volumesView(main, session) {
  const page = { gone: false, timer: null, names: new Map() };
  const store = volumes(session.project.id);
  const listError = h("p", { id: "volumes-error", class: "field-error", role: "alert" });
  const rows = h("tbody", { id: "volume-rows" });
  const empty = h("p", { class: "empty", id: "volumes-empty", hidden: true },
    "No volume yet: create one above, or give a new container one.");
  const general = h("p", { id: "volume-form-error", class: "field-error", role: "alert" });
  const form = h("form", { id: "volume-form", class: "card form-grid", novalidate: true,
    "aria-labelledby": "volume-form-title" },
  h("h2", { id: "volume-form-title", class: "full" }, "Create a volume"),
  textField({ id: "volume-name", label: "Name", required: true, hint: "For example db-data." }),
  textField({ id: "volume-size", label: "Size (GiB)", required: true, inputmode: "numeric",
    hint: "A whole number of GiB." }),
  general,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create")));
  const show = fieldShower(form, general, { name: "volume-name", size: "volume-size" },
    guessVolumeField);

  replace(main, heading("Volumes"), form,
    h("section", { "aria-labelledby": "volumes-title" },
      h("h2", { id: "volumes-title" }, `Volumes of project ${session.project.name}`), listError,
      h("div", { class: "table-wrap" },
        h("table", { id: "volumes" },
          h("caption", { class: "visually-hidden" }, "Volumes of your project"),
          h("thead", {}, h("tr", {}, ["Name", "Size", "Status", "Attached to", ""]
            .map((c) => h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" },
              "Actions"))))),
          rows)),
      empty));

  async function remove(volume) {
    if (!confirm(`Delete the volume ${volumeLabel(volume)}?`)) return;
    listError.textContent = "";
    try {
      await store.del(volume.id);
      toast(`Deleting the volume ${volumeLabel(volume)}.`);
    } catch (error) {
      listError.textContent = `${volumeLabel(volume)} was not deleted: ${error.message}`;
    }
    await refresh();
  }

  function render(found) {
    empty.hidden = found.length > 0;
    rows.closest("table").hidden = found.length === 0;
    found.sort((a, b) => volumeLabel(a).localeCompare(volumeLabel(b)));
    replace(rows, found.map((volume) => h("tr", { dataset: { volume: volumeLabel(volume) } },
      h("td", { class: "volume-name" }, volume.name
        ? volume.name : [h("span", { class: "muted" }, "(no name) "), volume.id]),
      h("td", {}, `${volume.size} GiB`),
      h("td", { class: "status" },
        h("span", { class: `badge status-${volume.status}` }, volume.status)),
      h("td", { class: "holders" }, holders(volume, page.names)),
      h("td", {}, h("button", { type: "button", class: "danger",
        dataset: { deleteVolume: volumeLabel(volume) },
        "aria-label": `Delete the volume ${volumeLabel(volume)}`,
        onclick: () => remove(volume) }, "Delete")))));
  }

  // The names of the containers holding volumes (the project's containers only).
  async function learnNames(found) {
    const wanted = found.flatMap((v) => v.attachments.map((a) => a.server_id));
    if (wanted.every((id) => page.names.has(id))) return;
    try {
      for (const c of (await api.get("/containers")).containers) page.names.set(c.uuid, c.name);
    } catch (_) { /* the ids are shown instead */ }
  }

  async function refresh() {
    try {
      const found = await store.list();
      await learnNames(found);
      if (!page.gone) render(found);
    } catch (error) {
      if (error.status !== 401) listError.textContent = `Listing volumes failed: ${error.message}`;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show.clear();
    const value = (id) => form.elements[id].value.trim();
    if (!value("volume-name")) return show.error({ field: "name", message: "A name is required." });
    if (!value("volume-size")) return show.error({ field: "size", message: "A size is required." });
    const size = /^\d+$/.test(value("volume-size")) ? Number(value("volume-size"))
      : value("volume-size"); // the API explains what is wrong with it
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const made = (await store.create({ name: value("volume-name"), size })).volume;
      toast(`Created the volume ${volumeLabel(made)}.`);
      form.reset();
    } catch (error) {
      show.error(error);
    } finally {
      button.disabled = false;
    }
    return refresh();
  });

  const loop = async () => {
    if (page.gone) return;
    await refresh();
    if (!page.gone) page.timer = setTimeout(loop, POLL_MS);
  };
  await loop();
  return () => { page.gone = true; clearTimeout(page.timer); };
}
