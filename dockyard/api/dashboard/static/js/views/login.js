import { auth } from "../api.js";
import { h, heading, replace } from "../dom.js";

export function loginView(main, { onLogin }) {
  const error = h("p", { id: "login-error", class: "field-error", role: "alert" });
  const field = (id, label, type, autocomplete, value = "") => h("div", { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, name: id, type, autocomplete, value, required: true,
      "aria-describedby": "login-error" }));
  const form = h("form", { class: "card narrow", novalidate: true },
    field("username", "User name", "text", "username"),
    field("password", "Password", "password", "current-password"),
    field("project", "Project", "text", "organization", "admin"),
    error,
    h("button", { type: "submit", class: "primary" }, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      onLogin(await auth.login(data.get("username"), data.get("password"), data.get("project")));
    } catch (failure) {
      error.textContent = failure.message;
      form.querySelector("#password").focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(main, heading("Log in"), form);
  form.querySelector("#username").focus();
}
