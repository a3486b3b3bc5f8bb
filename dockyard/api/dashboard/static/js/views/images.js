// Images on the compute hosts (admin only, as the API's policy has it): the list with each
// pull's progress, a pull form, and delete (the API refuses with 409 while a container uses it).

import { api } from "../api.js";
import { h, heading, replace, toast } from "../dom.js";
import { fieldShower, textField } from "./forms.js";

const POLL_MS = 2000;

function megabytes(bytes) {
  return `${(Number(bytes) / 1e6).toFixed(1)} MB`;
}

function progressOf(image) {
  const p = image.progress;
  if (image.status !== "pulling" || !p) return null;
  const label = `${p.layers_done}/${p.layers_total} layers, ${megabytes(p.bytes_done)} of `
    + `${megabytes(p.bytes_total)}`;
  return h("span", { class: "progress" },
    h("progress", { max: Math.max(p.bytes_total, 1), value: Math.min(p.bytes_done, p.bytes_total),
      "aria-label": `Pull of ${image.repo}:${image.tag}: ${label}` }), " ", label);
}

function statusCell(image) {
  return [h("span", { class: `badge status-${image.status}` }, image.status),
    image.status_reason ? h("span", { class: "muted" }, ` ${image.status_reason}`) : null,
    progressOf(image)];
}

function refused(main) {
  replace(main, heading("Images"), h("p", { class: "placeholder" },
    "Images are shown to administrators only."));
}

export async function imagesView(main, session) {
  if (!session.is_admin) return refused(main);
  const page = { gone: false, timer: null };
  const listError = h("p", { id: "images-error", class: "field-error", role: "alert" });
  const rows = h("tbody", { id: "image-rows" });
  const empty = h("p", { class: "empty", id: "images-empty", hidden: true },
    "No image has been pulled to a host yet.");
  const hosts = h("datalist", { id: "host-names" });
  const general = h("p", { id: "pull-form-error", class: "field-error", role: "alert" });
  const form = h("form", { id: "pull-form", class: "card form-grid", novalidate: true,
    "aria-labelledby": "pull-title" },
  h("h2", { id: "pull-title", class: "full" }, "Pull an image"),
  textField({ id: "repo", label: "Repository", required: true, hint: "For example busybox." }),
  textField({ id: "tag", label: "Tag", hint: "Empty for latest." }),
  textField({ id: "host", label: "Host", required: true, list: "host-names",
    hint: "The compute host to pull it to." }),
  hosts, general,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Pull")));
  const show = fieldShower(form, general);

  replace(main, heading("Images"), form,
    h("section", { "aria-labelledby": "images-title" },
      h("h2", { id: "images-title" }, "On the hosts"), listError,
      h("div", { class: "table-wrap" },
        h("table", { id: "images" },
          h("caption", { class: "visually-hidden" }, "Images on the compute hosts"),
          h("thead", {}, h("tr", {}, ["Repository", "Tag", "Host", "Size", "Status", ""]
            .map((c) => h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" },
              "Actions"))))),
          rows)),
      empty));

  async function remove(image) {
    if (!confirm(`Delete ${image.repo}:${image.tag} from ${image.host}?`)) return;
    listError.textContent = "";
    try {
      await api.del(`/images/${image.uuid}`);
      toast(`Deleted ${image.repo}:${image.tag} from ${image.host}.`);
    } catch (error) {
      listError.textContent = `${image.repo}:${image.tag} was not deleted: ${error.message}`;
    }
    refresh();
  }

  function render(images) {
    empty.hidden = images.length > 0;
    rows.closest("table").hidden = images.length === 0;
    replace(rows, images.map((image) => h("tr", { dataset: { uuid: image.uuid } },
      h("td", { class: "repo" }, image.repo), h("td", {}, image.tag ?? "–"),
      h("td", {}, image.host ?? "–"),
      h("td", {}, image.size ? megabytes(image.size) : "–"),
      h("td", { class: "status" }, statusCell(image)),
      h("td", {}, h("button", { type: "button", class: "danger",
        "aria-label": `Delete ${image.repo}:${image.tag} from ${image.host}`,
        onclick: () => remove(image) }, "Delete")))));
  }

  async function refresh() {
    try {
      render((await api.get("/images")).images);
    } catch (error) {
      if (error.status === 403) { page.gone = true; refused(main); return; }
      listError.textContent = error.message;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show.clear();
    const value = (id) => form.elements[id].value.trim();
    for (const id of ["repo", "host"]) {
      if (!value(id)) { show.error({ field: id, message: "This field is required." }); return; }
    }
    const body = { repo: value("repo"), host: value("host") };
    if (value("tag")) body.tag = value("tag");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const pulled = await api.post("/images", {}, body);
      toast(`Pulling ${pulled.repo}:${pulled.tag} to ${pulled.host}.`);
      refresh();
    } catch (error) {
      show.error(error);
    } finally {
      button.disabled = false;
    }
  });

  try {
    const found = (await api.get("/hosts")).hosts.map((x) => x.hostname);
    replace(hosts, found.map((name) => h("option", { value: name })));
    if (found.length === 1) form.elements.host.value = found[0];
  } catch (_) { /* the host is typed instead */ }
  const loop = async () => {
    if (page.gone) return;
    await refresh();
    if (!page.gone) page.timer = setTimeout(loop, POLL_MS);
  };
  await loop();
  return () => { page.gone = true; clearTimeout(page.timer); };
}
