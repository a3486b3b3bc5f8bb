// An interactive shell in the container: an exec instance made by the API
// (execute?run=false&interactive=true), joined over the console proxy's websocket.

import { api } from "../api.js";
import { Terminal } from "../../vendor/xterm/xterm.mjs";
import { FitAddon } from "../../vendor/xterm-addon-fit/addon-fit.mjs";

export async function openTerminal(holder, ident, report, command = "/bin/sh") {
  const exec = await api.post(`/containers/${ident}/execute`,
    { command, run: "false", interactive: "true" });
  const styles = getComputedStyle(document.documentElement);
  const term = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontSize: 14,
    screenReaderMode: true,
    theme: {
      background: styles.getPropertyValue("--term-bg").trim() || "#111",
      foreground: styles.getPropertyValue("--term-fg").trim() || "#eee",
    },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  holder.replaceChildren();
  term.open(holder);
  fit.fit();
  const socket = new WebSocket(exec.proxy_url, ["binary"]);
  socket.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  const resize = () => {
    fit.fit();
    api.post(`/containers/${ident}/execute_resize`,
      { exec_id: exec.exec_id, h: term.rows, w: term.cols }).catch(() => {});
  };
  socket.addEventListener("open", () => {
    report("Connected.");
    resize();
    term.focus();
  });
  socket.addEventListener("message", (event) => {
    term.write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
  });
  socket.addEventListener("close", () => {
    report("Closed: the shell ended.");
    term.write("\r\n[session closed]\r\n");
  });
  term.onData((data) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  window.addEventListener("resize", resize);
  return {
    close() {
      window.removeEventListener("resize", resize);
      socket.close();
      term.dispose();
    },
  };
}
