// The settings window: lists servers with their sign-in state, edits them, and runs the actions
// through the app's commands. The list follows the "servers-changed" event (sidecars refreshing
// or signing in, the tray's own actions), so nothing here polls.
const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const list = document.getElementById("server-list");
const empty = document.getElementById("empty");
const editor = document.getElementById("editor");
const form = document.getElementById("server-form");
const message = document.getElementById("message");
const template = document.getElementById("server-template");

function say(text, kind = "info") {
  message.textContent = text;
  message.className = kind;
}

function expiry(status) {
  if (status.state !== "signed_in") return "";
  const parts = [];
  if (status.issuer) parts.push(`issuer ${status.issuer}`);
  if (status.scope) parts.push(`scope ${status.scope}`);
  if (status.expires_at) parts.push(`expires ${new Date(status.expires_at * 1000).toLocaleString()}`);
  return parts.join(" · ");
}

function render(servers) {
  list.replaceChildren();
  empty.hidden = servers.length > 0;
  for (const server of servers) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = server.id;
    item.dataset.state = server.status.state;
    item.querySelector(".server-name").textContent = server.name;
    item.querySelector(".server-url").textContent = server.url;
    item.querySelector(".server-state").textContent = server.summary;
    item.querySelector(".server-details").textContent = expiry(server.status);
    item.querySelector(".server-state").classList.add(server.status.state);
    item.addEventListener("click", (event) => {
      const action = event.target.dataset && event.target.dataset.action;
      if (action) act(action, server);
    });
    list.append(item);
  }
}

async function refresh() {
  try {
    render(await invoke("list_servers"));
  } catch (error) {
    say(`Cannot read the servers: ${error}`, "error");
  }
}

function openEditor(server) {
  form.reset();
  document.getElementById("editor-title").textContent = server ? `Edit ${server.name}` : "Add server";
  form.elements.id.value = server ? server.id : "";
  if (server) {
    form.elements.name.value = server.name;
    form.elements.url.value = server.url;
    form.elements.headers.value = (server.headers || []).join("\n");
    form.elements.resource.value = server.resource || "";
    form.elements.static_client_info.value = server.static_client_info || "";
    form.elements.sign_in_method.value = server.sign_in_method;
    form.elements.allow_http.checked = server.allow_http;
  }
  editor.hidden = false;
  form.elements.name.focus();
}

async function act(action, server) {
  try {
    switch (action) {
      case "sign-in":
        say(`Signing in to ${server.name}… finish in the page that opened.`);
        await invoke("sign_in", { id: server.id });
        say(`Signed in to ${server.name}.`, "ok");
        break;
      case "reset":
        await invoke("reset_tokens", { id: server.id });
        say(`Tokens of ${server.name} removed; the next use signs in again.`, "ok");
        break;
      case "install": {
        const report = await invoke("install_into_claude", { id: server.id });
        const backup = report.backup ? ` (previous file kept as ${report.backup})` : "";
        say(`${server.name} ${report.replaced ? "updated" : "added"} in ${report.path}${backup}. Restart Claude Desktop.`, "ok");
        break;
      }
      case "copy":
        await invoke("copy_claude_config", { id: server.id });
        say(`Claude Desktop config for ${server.name} copied.`, "ok");
        break;
      case "edit":
        openEditor(server);
        return;
      case "remove":
        await invoke("remove_server", { id: server.id });
        say(`${server.name} removed.`, "ok");
        break;
    }
  } catch (error) {
    say(`${server.name}: ${error}`, "error");
  }
  await refresh();
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
    editor.hidden = true;
    say(`${saved.name} saved.`, "ok");
    await refresh();
  } catch (error) {
    say(`${error}`, "error");
  }
});

document.getElementById("cancel-button").addEventListener("click", () => { editor.hidden = true; });
document.getElementById("add-button").addEventListener("click", () => openEditor(null));
document.getElementById("reset-all").addEventListener("click", async () => {
  try {
    await invoke("reset_all_tokens");
    say("All tokens removed.", "ok");
  } catch (error) {
    say(`${error}`, "error");
  }
  await refresh();
});

window.addEventListener("hashchange", () => { if (location.hash === "#add") openEditor(null); });
listen("servers-changed", refresh);
refresh();
if (location.hash === "#add") openEditor(null);
