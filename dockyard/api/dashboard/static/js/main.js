// Start-up, session, theme, navigation and the hash router.

import { auth, whenUnauthorized } from "./api.js";
import { replace, toast } from "./dom.js";
import { loginView } from "./views/login.js";
import { containersView } from "./views/containers.js";
import { createView } from "./views/create.js";
import { containerView } from "./views/container.js";
import { hostsView, servicesView } from "./views/admin.js";
import { quotasView } from "./views/quotas.js";
import { imagesView } from "./views/images.js";
import { networksView, securityGroupsView } from "./views/networks.js";
import { volumesView } from "./views/volumes.js";

const state = { session: null, cleanup: null };
const main = document.getElementById("main");

const ROUTES = [
  [/^\/login$/, () => loginView(main, { onLogin })],
  [/^\/containers$/, () => containersView(main, state.session)],
  [/^\/containers\/new$/, () => createView(main, state.session)],
  [/^\/containers\/([^/]+)$/, (m) => containerView(main, state.session, decodeURIComponent(m[1]))],
  [/^\/hosts$/, () => hostsView(main, state.session)],
  [/^\/services$/, () => servicesView(main, state.session)],
  [/^\/quotas$/, () => quotasView(main, state.session)],
  [/^\/networks$/, () => networksView(main, state.session)],
  [/^\/security-groups$/, () => securityGroupsView(main, state.session)],
  [/^\/images$/, () => imagesView(main, state.session)],
  [/^\/volumes$/, () => volumesView(main, state.session)],
];

function currentPath() {
  const hash = location.hash;
  return hash.startsWith("#/") ? hash.slice(1) : null;
}

async function route() {
  const path = currentPath();
  if (path === null) {
    if (!location.hash) location.replace("#/containers");
    return; // an in-page anchor such as the skip link
  }
  if (!state.session && path !== "/login") {
    location.replace("#/login");
    return;
  }
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  markCurrent(path);
  closeNav();
  for (const [pattern, view] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      state.cleanup = (await view(match)) || null;
      const title = document.getElementById("page-title");
      if (title) {
        document.title = `${title.textContent} · Dockyard`;
        main.focus({ preventScroll: true });
      }
      return;
    }
  }
  replace(main, "There is no such page.");
}

function markCurrent(path) {
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(1);
    const current = target === path || (target === "/containers" && /^\/containers\/(?!new)/.test(path));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showSession() {
  const session = state.session;
  const who = document.getElementById("who");
  const logout = document.getElementById("logout");
  document.body.classList.toggle("signed-in", Boolean(session));
  for (const item of document.querySelectorAll(".admin-only")) {
    item.hidden = !(session && session.is_admin);
  }
  if (session) {
    who.textContent = `${session.user.name} · project ${session.project.name}`;
    logout.hidden = !session.login;
  } else {
    who.textContent = "";
    logout.hidden = true;
  }
}

function onLogin(session) {
  state.session = session;
  showSession();
  location.hash = "#/containers";
}

async function logout() {
  try {
    await auth.logout();
  } catch (error) {
    toast(`Logging out failed: ${error.message}`, "error");
  }
  state.session = null;
  showSession();
  location.hash = "#/login";
}

// -- theme: the system's preference unless the user picked one ---------------

const THEME_KEY = "dockyard-theme";

function applyTheme() {
  const chosen = localStorage.getItem(THEME_KEY);
  const dark = chosen ? chosen === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  const button = document.getElementById("theme-toggle");
  button.setAttribute("aria-pressed", String(dark));
  button.textContent = "Dark theme";
}

function toggleTheme() {
  const dark = document.documentElement.dataset.theme === "dark";
  localStorage.setItem(THEME_KEY, dark ? "light" : "dark");
  applyTheme();
}

// -- the navigation drawer on narrow screens ---------------------------------

function closeNav() {
  document.getElementById("nav").classList.remove("open");
  document.getElementById("nav-toggle").setAttribute("aria-expanded", "false");
}

function toggleNav() {
  const nav = document.getElementById("nav");
  const open = nav.classList.toggle("open");
  document.getElementById("nav-toggle").setAttribute("aria-expanded", String(open));
  if (open) nav.querySelector("a").focus();
}

async function start() {
  applyTheme();
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);
  document.getElementById("theme-toggle").addEventListener("click", toggleTheme);
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("nav-toggle").addEventListener("click", toggleNav);
  document.getElementById("skip").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeNav();
  });
  whenUnauthorized(() => {
    if (state.session) toast("Your session has ended; log in again.", "error");
    state.session = null;
    showSession();
    if (currentPath() !== "/login") location.hash = "#/login";
  });
  try {
    state.session = await auth.session();
  } catch (_) {
    state.session = null;
  }
  showSession();
  window.addEventListener("hashchange", route);
  if (state.session && currentPath() === "/login") location.replace("#/containers");
  await route();
}

start();
