// The window: servers as cards with their state, one primary action that follows it and the
// rest under "⋯"; the add/edit form, confirmations, the install picker, the last sign-in's log
// and About as dialogs. The list follows the "servers-changed" event (sidecars refreshing or
// signing in, the tray's own actions); a timer only rewrites times in place.
const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);
const list = $("server-list");
const template = $("server-template");
const form = $("server-form");
let servers = [];
let shownJson = "";
let messageTimer = null;

// A short note at the top; successes fade after a while, problems go on the card instead.
function say(text) {
  const message = $("message");
  message.textContent = text;
  message.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { message.hidden = true; }, 8000);
}

function showProblem(box, problem) {
  if (!problem) { box.hidden = true; return; }
  const { message, detail } = typeof problem === "string" ? { message: problem, detail: null } : problem;
  box.querySelector(".problem-text").textContent = message;
  const fold = box.querySelector("details");
  fold.hidden = !detail;
  box.querySelector(".problem-detail").textContent = detail || "";
  box.hidden = false;
}

function inWords(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

const now = () => Math.floor(Date.now() / 1000);

// The state line, computed from absolute times so that it is true whenever it is read.
function stateText(server) {
  const s = server.status;
  if (server.signing_in) return "signing in…";
  switch (s.state) {
    case "signed_in":
      if (!s.expires_at) return "signed in";
      if (s.expires_at <= now()) return s.refreshable ? "signed in · token refreshes on next use" : "needs sign-in · the sign-in expired";
      return `signed in · expires in ${inWords(s.expires_at - now())}`;
    case "needs_sign_in":
      if (s.pending) return "needs sign-in · a client is waiting";
      return s.expired ? "needs sign-in · the sign-in expired" : "needs sign-in";
    default:
      return `error: ${s.message}`;
  }
}

function stateClass(server) {
  if (server.signing_in) return "signing_in";
  if (server.status.state === "needs_sign_in" && server.status.pending) return "waiting";
  return server.status.state;
}

const hostNames = { claude_desktop: "Claude Desktop", claude_code: "Claude Code", cursor: "Cursor", vs_code: "VS Code", windsurf: "Windsurf", zed: "Zed" };

function progressText(server) {
  const p = server.signing_in;
  const left = Math.max(0, p.started_at + p.wait_seconds - now());
  const clock = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  const where = server.sign_in_method === "browser" ? "in your browser" : "in the sign-in window";
  return p.url ? `Waiting for you to finish ${where} (${clock} left).` : "Opening the sign-in page…";
}

// The one action the state calls for.
function primary(server) {
  if (server.signing_in) return null;
  if (server.status.state !== "signed_in") return { action: "sign-in", label: "Sign in" };
  if (server.installed_in.length === 0) return { action: "install", label: "Install into…" };
  return null;
}

function renderTimes() {
  for (const item of list.children) {
    const server = servers.find((s) => s.id === item.dataset.id);
    if (!server) continue;
    item.querySelector(".state-text").textContent = stateText(server);
    if (server.signing_in) item.querySelector(".progress-text").textContent = progressText(server);
  }
}

// Rebuilds the cards; an open "⋯" menu stays open (a tick or a sidecar's refresh must not close
// it under the pointer).
function render() {
  const openMenu = list.querySelector(".menu:not([hidden])");
  const openId = openMenu && openMenu.closest(".server").dataset.id;
  list.replaceChildren();
  $("empty").hidden = servers.length > 0;
  for (const server of servers) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = server.id;
    item.dataset.state = stateClass(server);
    item.querySelector(".server-name").textContent = server.name;
    item.querySelector(".server-url").textContent = server.url;
    item.querySelector(".server-state").classList.add(stateClass(server));
    item.querySelector(".spinner").hidden = !server.signing_in;
    const s = server.status;
    item.querySelector(".server-details").textContent = s.state === "signed_in" && s.issuer ? `Signed in at ${s.issuer}` : "";
    item.querySelector(".signin-progress").hidden = !server.signing_in;
    for (const b of item.querySelectorAll("[data-action=reopen], [data-action=copy-link]")) b.hidden = !(server.signing_in && server.signing_in.url);
    const failed = server.last_sign_in && server.last_sign_in.outcome === "failed" && s.state !== "signed_in";
    showProblem(item.querySelector(".server-problem"), failed ? server.last_sign_in.problem : (s.state === "error" ? s.message : null));
    item.querySelector(".server-installed").textContent = server.installed_in.length
      ? `Installed in ${server.installed_in.map((h) => hostNames[h]).join(", ")}`
      : "Not installed in any app yet";
    const main = primary(server);
    const button = item.querySelector(".primary-action");
    button.hidden = !main;
    if (main) { button.textContent = main.label; button.dataset.action = main.action; }
    for (const b of item.querySelectorAll("[data-only=signed_in]")) b.hidden = s.state !== "signed_in" || !!server.signing_in;
    item.querySelector("[data-action=log]").hidden = !server.last_sign_in;
    item.addEventListener("click", (event) => {
      const target = event.target.closest("[data-action]");
      if (!target) return;
      if (target.dataset.action === "more") { toggleMenu(target.nextElementSibling); return; }
      closeMenus();
      act(target.dataset.action, server, item);
    });
    list.append(item);
  }
  renderTimes();
  const again = openId && list.querySelector(`[data-id="${openId}"] .menu`);
  if (again) again.hidden = false;
}

function closeMenus() { for (const m of document.querySelectorAll(".menu")) m.hidden = true; }
function toggleMenu(menu) { const was = menu.hidden; closeMenus(); menu.hidden = !was; }
document.addEventListener("click", (event) => { if (!event.target.closest(".menu-anchor")) closeMenus(); });

async function refresh() {
  // How many times the list was read: the end-to-end test's sign that a change was handled.
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  try {
    servers = await invoke("list_servers");
    // Times are rewritten in place by the clock; the cards are rebuilt only when they change.
    const json = JSON.stringify(servers);
    if (json !== shownJson) {
      shownJson = json;
      render();
    }
  } catch (error) {
    say(`Cannot read the servers: ${error.message || error}`);
  }
}

// A confirmation: resolves to null (cancelled) or the option's checkbox value.
function confirmWith({ title, text, ok, option }) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  $("confirm-option").hidden = !option;
  if (option) {
    $("confirm-option").querySelector("span").textContent = option;
    $("confirm-checkbox").checked = true;
  }
  dialog.showModal();
  return new Promise((resolve) => {
    const done = (value) => { dialog.close(); $("confirm-ok").onclick = $("confirm-cancel").onclick = dialog.oncancel = null; resolve(value); };
    $("confirm-ok").onclick = () => done(option ? $("confirm-checkbox").checked : true);
    $("confirm-cancel").onclick = () => done(null);
    dialog.oncancel = () => done(null);
  });
}

async function act(action, server, item) {
  const problemBox = item && item.querySelector(".server-problem");
  try {
    switch (action) {
      case "sign-in":
        if (problemBox) problemBox.hidden = true;
        await invoke("sign_in", { id: server.id });
        say(`Signed in to ${server.name}.`);
        break;
      case "cancel":
        await invoke("cancel_sign_in", { id: server.id });
        break;
      case "reopen":
        await invoke("open_sign_in_again", { id: server.id });
        break;
      case "copy-link":
        await invoke("copy_sign_in_link", { id: server.id });
        say("Sign-in link copied. Paste it into a browser to finish signing in.");
        break;
      case "reset": {
        const yes = await confirmWith({ title: `Reset the tokens of ${server.name}?`, text: "mcp-remote forgets this sign-in. The next time an app uses the server, you sign in again.", ok: "Reset tokens" });
        if (yes === null) return;
        await invoke("reset_tokens", { id: server.id });
        say(`Tokens of ${server.name} removed; the next use signs in again.`);
        break;
      }
      case "install":
        await openInstall(server);
        return;
      case "edit":
        openEditor(server);
        return;
      case "log":
        openLog(server);
        return;
      case "remove": {
        const installed = server.installed_in.map((h) => hostNames[h]).join(", ");
        const fromHosts = await confirmWith({
          title: `Remove ${server.name}?`,
          text: "It leaves this list. Its sign-in stays until you reset it.",
          ok: "Remove",
          option: installed ? `Also remove it from ${installed}` : null,
        });
        if (fromHosts === null) return;
        const removed = await invoke("remove_server", { id: server.id, fromHosts: fromHosts === true && !!installed });
        say(removed.length ? `${server.name} removed, and from ${removed.join(", ")}.` : `${server.name} removed.`);
        break;
      }
    }
  } catch (error) {
    if (action === "sign-in" && error.message === "Sign-in cancelled.") say(`Sign-in to ${server.name} cancelled.`);
    else if (problemBox) showProblem(problemBox, error);
    else say(error.message || `${error}`);
  }
  await refresh();
}

function openEditor(server) {
  form.reset();
  $("editor-problem").hidden = true;
  $("editor-title").textContent = server ? `Edit ${server.name}` : "Add server";
  const f = form.elements;
  f.id.value = server ? server.id : "";
  if (server) {
    f.name.value = server.name;
    f.url.value = server.url;
    f.headers.value = (server.headers || []).join("\n");
    f.resource.value = server.resource || "";
    f.static_client_info.value = server.static_client_info || "";
    f.sign_in_method.value = server.sign_in_method;
    f.allow_http.checked = server.allow_http;
  }
  $("advanced").open = !!server && !!(f.headers.value || f.resource.value || f.static_client_info.value || f.allow_http.checked);
  $("editor").showModal();
  f.name.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = form.elements;
  const entry = {
    id: f.id.value,
    name: f.name.value.trim(),
    url: f.url.value.trim(),
    headers: f.headers.value.split("\n").map((h) => h.trim()).filter(Boolean),
    resource: f.resource.value.trim() || null,
    static_client_info: f.static_client_info.value.trim() || null,
    sign_in_method: f.sign_in_method.value,
    allow_http: f.allow_http.checked,
  };
  try {
    const saved = await invoke("save_server", { entry });
    $("editor").close();
    say(`${saved.name} saved.`);
    await refresh();
  } catch (error) {
    showProblem($("editor-problem"), error);
  }
});
$("cancel-button").addEventListener("click", () => $("editor").close());

async function openInstall(server) {
  const dialog = $("install");
  $("install-title").textContent = `Install ${server.name} into…`;
  $("install-result").hidden = true;
  $("install-snippet").hidden = true;
  const hosts = await invoke("list_hosts");
  const rows = hosts.map((host) => {
    const row = document.createElement("li");
    row.className = "host";
    row.dataset.host = host.kind;
    const installed = server.installed_in.includes(host.kind);
    row.innerHTML = `<div><div><span class="host-name"></span> <span class="hint host-state"></span></div><div class="host-path"></div></div>
      <button type="button" class="secondary" data-host-action="copy">Copy config</button>
      <button type="button" data-host-action="install"></button>`;
    row.querySelector(".host-name").textContent = host.name;
    row.querySelector(".host-state").textContent = installed ? "· installed" : host.present ? "· found" : "· not found on this computer";
    row.querySelector(".host-path").textContent = installed || host.present ? host.path : "";
    row.querySelector("[data-host-action=install]").textContent = installed ? "Update" : "Install";
    row.addEventListener("click", (event) => {
      const what = event.target.dataset.hostAction;
      if (what) hostAction(what, server, host);
    });
    return row;
  });
  $("host-list").replaceChildren(...rows);
  if (!dialog.open) dialog.showModal();
}

async function hostAction(what, server, host) {
  const result = $("install-result");
  try {
    if (what === "copy") {
      const snippet = await invoke("copy_host_snippet", { id: server.id, host: host.kind });
      $("install-snippet").textContent = snippet;
      $("install-snippet").hidden = false;
      result.textContent = `Copied the config for ${host.name}: paste it into ${host.path}.`;
    } else {
      let report;
      try {
        report = await invoke("install_into_host", { id: server.id, host: host.kind, replaceOthers: false });
      } catch (error) {
        if (!(error.message || "").includes("did not write")) throw error;
        const yes = await confirmWith({ title: `Replace “${server.name}” in ${host.name}?`, text: `${error.message}. Replacing it makes ${host.name} use mcp-remote for this name instead; a copy of the file is kept.`, ok: "Replace" });
        if (yes === null) return;
        report = await invoke("install_into_host", { id: server.id, host: host.kind, replaceOthers: true });
      }
      const backup = report.backup ? ` The previous file is kept as ${report.backup}.` : "";
      result.textContent = `${server.name} ${report.replaced ? "updated" : "added"} in ${report.host}. ${report.after_install}${backup}`;
      await refresh();
      const fresh = servers.find((s) => s.id === server.id);
      if (fresh) await openInstall(fresh);
    }
    result.className = "ok";
  } catch (error) {
    result.textContent = error.message || `${error}`;
    result.className = "error";
  }
  result.hidden = false;
}
$("install-close").addEventListener("click", () => $("install").close());

function openLog(server) {
  const steps = (server.last_sign_in && server.last_sign_in.steps) || [];
  $("log-title").textContent = `Last sign-in to ${server.name}`;
  $("log-steps").replaceChildren(...steps.map((step) => {
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = new Date(step.at * 1000).toLocaleTimeString();
    li.append(time, ` ${step.text}`);
    return li;
  }));
  $("log").showModal();
}
$("log-close").addEventListener("click", () => $("log").close());

async function openAbout() {
  const about = await invoke("about");
  $("about-version").textContent = about.version;
  $("about-sidecar").textContent = about.sidecar;
  $("about-config").textContent = about.config_dir;
  $("about").showModal();
}
$("about-close").addEventListener("click", () => $("about").close());

async function resetAll() {
  const yes = await confirmWith({ title: "Reset all tokens?", text: "mcp-remote forgets every sign-in. Each server asks you to sign in again the next time an app uses it.", ok: "Reset all tokens" });
  if (yes === null) return;
  try {
    await invoke("reset_all_tokens");
    say("All tokens removed.");
  } catch (error) {
    say(error.message || `${error}`);
  }
  await refresh();
}

$("add-button").addEventListener("click", () => openEditor(null));
$("empty-add").addEventListener("click", () => openEditor(null));
$("app-menu-button").addEventListener("click", () => toggleMenu($("app-menu")));
$("app-menu").addEventListener("click", (event) => {
  const what = event.target.dataset.appAction;
  closeMenus();
  if (what === "reset-all") resetAll();
  if (what === "about") openAbout();
});

// The tray opens the window at #add, #server=<id>, #reset=<id> or #reset-all.
async function followHash() {
  const [what, id] = location.hash.slice(1).split("=");
  if (!what) return;
  history.replaceState(null, "", location.pathname);
  if (what === "add") return openEditor(null);
  if (what === "reset-all") return resetAll();
  await refresh();
  const server = servers.find((s) => s.id === id);
  const item = server && list.querySelector(`[data-id="${id}"]`);
  if (!item) return;
  item.scrollIntoView({ block: "center" });
  item.classList.add("highlight");
  setTimeout(() => item.classList.remove("highlight"), 2000);
  if (what === "reset") act("reset", server, item);
}

window.addEventListener("hashchange", followHash);
listen("servers-changed", refresh);
setInterval(renderTimes, 1000);
refresh().then(followHash);
