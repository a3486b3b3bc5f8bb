import { h, heading, replace } from "../dom.js";

export function placeholderView(main, title, api) {
  replace(main,
    heading(title),
    h("p", { class: "placeholder" },
      `${title} will appear here once Dockyard serves ${api}; it does not exist yet.`));
}
