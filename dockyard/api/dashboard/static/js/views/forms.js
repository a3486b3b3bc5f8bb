// Small forms shared by the images and networks views: a labelled text field with a hint
// and an error holder, and showing an API error beside the field it concerns.

import { h } from "../dom.js";

export function textField(spec) {
  const control = h("input", { id: spec.id, name: spec.id, type: "text", required: spec.required,
    inputmode: spec.inputmode, autocomplete: "off", list: spec.list,
    "aria-describedby": `${spec.id}-hint ${spec.id}-error` });
  return h("div", { class: "field", dataset: { field: spec.id } },
    h("label", { for: spec.id }, spec.label, spec.required ? " (required)" : ""),
    control,
    h("p", { class: "hint", id: `${spec.id}-hint` }, spec.hint || ""),
    h("p", { class: "field-error", id: `${spec.id}-error` }));
}

export function selectField(spec, options) {
  return h("div", { class: "field", dataset: { field: spec.id } },
    h("label", { for: spec.id }, spec.label),
    h("select", { id: spec.id, name: spec.id, "aria-describedby": `${spec.id}-error` },
      options.map(([value, text]) => h("option", { value }, text))),
    h("p", { class: "field-error", id: `${spec.id}-error` }));
}

// `controls` maps the API's field names to this form's control ids; `guess` names the field
// of an error whose body does not (the network API's errors carry only a message).
export function fieldShower(form, general, controls = {}, guess = () => null) {
  return {
    clear() {
      general.textContent = "";
      for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
      for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    },
    error(error) {
      const field = error.field || guess(error.message || "");
      const name = field && (controls[field] || field);
      const holder = name && form.querySelector(`#${CSS.escape(name)}-error`);
      const control = name && form.elements[name];
      if (holder && control) {
        holder.textContent = error.message;
        control.setAttribute("aria-invalid", "true");
        control.focus();
      } else {
        general.textContent = error.message;
      }
    },
  };
}
