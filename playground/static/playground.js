// The playground's chat page: plain JavaScript over the emulator's control API (/_emu/)
// and the playground's own routes (/_play/). Messages are built as DOM nodes from the
// text and Telegram's entities; no HTML from a chat is ever parsed.
"use strict";

const DEMO_LOCATION = { latitude: 31.2304, longitude: 121.4737 };
const COLORS = ["#e17076", "#7bc862", "#e5ca77", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

const state = {
  people: [],       // demo people from /_play/people
  others: [],       // users created on the page (or by anyone) through /_emu/users
  panes: [],        // ChatPane objects
  active: 0,        // the pane a person choice and the clock buttons apply to
  botUsername: "",
  botName: "Community Living Room",
};

// --- small helpers --------------------------------------------------------------------------

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { ok: false, error: response.statusText }; }
  if (!response.ok || data.ok === false) throw new Error(data.error || response.statusText);
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function colorOf(id) { return COLORS[Math.abs(id) % COLORS.length]; }

function avatar(name, id) {
  const node = el("div", "avatar", Array.from(name || "?")[0]);
  node.style.background = colorOf(id);
  node.setAttribute("aria-hidden", "true");
  return node;
}

function personById(id) {
  return state.people.find((p) => p.tg_id === id) ||
    state.others.find((p) => p.tg_id === id) || null;
}

function timeOf(unix) {
  const d = new Date(unix * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

// A link to this bot ("https://t.me/<bot>?start=X") is what Telegram opens as "/start X".
function startPayload(href) {
  try {
    const url = new URL(href);
    const bot = url.pathname.replace(/^\//, "");
    if ((url.hostname === "t.me" || url.hostname === "telegram.me") &&
        bot.toLowerCase() === state.botUsername.toLowerCase()) {
      return url.searchParams.get("start") || "";
    }
  } catch (e) { /* not a URL */ }
  return null;
}

function safeHref(href) {
  try {
    const url = new URL(href, location.href);
    return ["http:", "https:", "mailto:", "tel:"].includes(url.protocol) ? url.href : null;
  } catch (e) { return null; }
}

// --- formatted text from entities -------------------------------------------------------------

const TAGS = {
  bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code",
  pre: "pre", blockquote: "blockquote", expandable_blockquote: "blockquote",
  spoiler: "span", text_link: "a", url: "a", email: "a", bot_command: "span",
};

// Offsets and lengths are UTF-16 code units, which is what JavaScript strings index.
function renderEntities(text, entities, pane) {
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  const root = document.createDocumentFragment();
  build(root, 0, text.length, sorted);
  return root;

  function build(parent, start, end, list) {
    let pos = start;
    let i = 0;
    while (i < list.length) {
      const e = list[i];
      const eStart = Math.max(e.offset, pos);
      const eEnd = Math.min(e.offset + e.length, end);
      if (eStart >= end) break;
      const inner = [];
      let j = i + 1;
      while (j < list.length && list[j].offset < e.offset + e.length) { inner.push(list[j]); j++; }
      if (eStart > pos) parent.append(text.slice(pos, eStart));
      if (eEnd > eStart) {
        const node = entityNode(e, text.slice(eStart, eEnd), pane);
        build(node, eStart, eEnd, inner);
        parent.append(node);
        pos = eEnd;
      }
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }
}

function entityNode(entity, content, pane) {
  const tag = TAGS[entity.type];
  if (!tag) return el("span");
  const node = el(tag, "ent-" + entity.type);
  if (entity.type === "text_link" || entity.type === "url") {
    linkTo(node, entity.type === "url" ? content : entity.url, pane);
  } else if (entity.type === "email") {
    node.href = "mailto:" + content;
  } else if (entity.type === "bot_command") {
    node.classList.add("command");
    node.title = "Send " + content;
    node.addEventListener("click", () => pane.send(content));
  } else if (entity.type === "spoiler") {
    node.addEventListener("click", () => node.classList.add("revealed"));
  } else if (entity.type === "pre" && entity.language) {
    node.dataset.language = entity.language;
  }
  return node;
}

function linkTo(node, href, pane) {
  const payload = startPayload(href);
  if (payload !== null) {
    node.href = "#";
    node.title = "Opens the bot with /start " + payload;
    node.addEventListener("click", (event) => {
      event.preventDefault();
      pane.send(payload ? "/start " + payload : "/start");
    });
    return;
  }
  const safe = safeHref(href);
  if (safe) {
    node.href = safe;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  }
}

// --- one chat window --------------------------------------------------------------------------

class ChatPane {
  constructor(index) {
    this.index = index;
    const fragment = document.getElementById("chat-template").content.cloneNode(true);
    this.root = fragment.querySelector(".chat");
    this.root.dataset.pane = String(index);
    this.list = this.root.querySelector(".messages");
    this.who = this.root.querySelector(".who");
    this.keyboard = this.root.querySelector(".reply-keyboard");
    this.startWrap = this.root.querySelector(".start-wrap");
    this.input = this.root.querySelector(".text");
    this.toast = this.root.querySelector(".toast");
    this.root.querySelector(".bot-name").textContent = state.botName;
    this.userId = null;
    this.version = 0;
    this.rendered = new Map();  // message_id -> [version, node]
    this.answersShown = 0;
    this.controller = null;
    this.generation = 0;

    this.root.addEventListener("pointerdown", () => setActive(this.index));
    this.root.addEventListener("focusin", () => setActive(this.index));
    this.root.querySelector(".composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send(text);
    });
    this.root.querySelector(".start-btn").addEventListener("click", () => this.send("/start"));
    this.root.querySelector(".open-panel").addEventListener("click", () => openPanel(true));
    document.getElementById("chats").append(this.root);
  }

  setUser(userId) {
    if (this.controller) this.controller.abort();
    this.generation += 1;
    this.userId = userId;
    this.version = 0;
    this.rendered.clear();
    this.list.replaceChildren();
    this.answersShown = -1;  // don't replay old button notices
    const person = personById(userId);
    this.who.textContent = person ? "you are " + person.name : "you are user " + userId;
    this.root.dataset.user = String(userId);
    this.poll(this.generation);
  }

  async poll(generation) {
    while (generation === this.generation) {
      this.controller = new AbortController();
      try {
        const url = `/_play/users/${this.userId}/wait?after=${this.version}&timeout=25`;
        const response = await fetch(url, { signal: this.controller.signal });
        const view = await response.json();
        if (generation !== this.generation) return;
        if (!view.ok) throw new Error(view.error || "no such user");
        if (view.version < this.version) {  // the chats were emptied (demo reset)
          this.rendered.clear();
          this.list.replaceChildren();
        }
        this.render(view);
      } catch (error) {
        if (error.name === "AbortError" || generation !== this.generation) return;
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
  }

  render(view) {
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 120;
    const seen = new Set();
    let added = false;
    for (const message of view.messages) {
      seen.add(message.message_id);
      const known = this.rendered.get(message.message_id);
      if (known && known[0] === message.version) continue;
      const node = this.messageNode(message);
      if (known) {
        known[1].replaceWith(node);
      } else {
        this.list.append(node);
        added = true;
      }
      this.rendered.set(message.message_id, [message.version, node]);
    }
    for (const [id, [, node]] of this.rendered) {
      if (!seen.has(id)) { node.remove(); this.rendered.delete(id); }
    }
    this.renderKeyboard(view.reply_buttons || []);
    this.input.placeholder = view.placeholder || "Message";
    // Like Telegram's START: until this person has written, offer to open the bot.
    this.startWrap.hidden = view.messages.some((m) => m.sender === "user");
    const answers = view.callback_answers || [];
    if (this.answersShown >= 0) {
      for (const answer of answers.slice(this.answersShown)) {
        if (answer.text) this.showToast(answer.text, answer.show_alert);
      }
    }
    this.answersShown = answers.length;
    this.version = view.version;
    if (added && (nearBottom || view.messages.length && view.messages.at(-1).sender === "user" ||
                  this.list.dataset.scrolled !== "1")) {
      this.list.scrollTop = this.list.scrollHeight;
      this.list.dataset.scrolled = "1";
    }
  }

  messageNode(message) {
    const mine = message.sender === "user";
    const row = el("div", "msg " + (mine ? "out" : "in"));
    row.dataset.id = String(message.message_id);
    const bubble = el("div", "bubble");
    row.append(bubble);

    if (message.photo) {
      const img = el("img", "photo");
      img.src = "/_emu/files/" + encodeURIComponent(message.photo);
      img.alt = "photo";
      img.loading = "lazy";
      img.addEventListener("load", () => { this.list.scrollTop = this.list.scrollHeight; }, { once: true });
      bubble.append(img);
      bubble.classList.add("has-photo");
    }
    if (message.document) bubble.append(this.documentNode(message));
    if (message.voice) {
      const audio = el("audio", "voice");
      audio.controls = true;
      audio.src = "/_emu/files/" + encodeURIComponent(message.voice);
      bubble.append(el("div", "media-line", "🎤 Voice message"), audio);
    }
    if (message.location) {
      bubble.append(el("div", "media-line", `📍 Location ${message.location.latitude.toFixed(4)}, ${message.location.longitude.toFixed(4)}`));
    }
    if (message.contact) {
      bubble.append(el("div", "media-line", "👤 Contact " + (message.contact.phone_number || "")));
    }
    const body = message.text ?? message.caption;
    if (body) {
      const text = el("div", "text");
      text.append(renderEntities(body, message.entities, this));
      bubble.append(text);
    }
    const meta = el("span", "meta", (message.edited ? "edited " : "") + timeOf(message.date));
    bubble.append(meta);

    if (message.inline_keyboard && message.inline_keyboard.length) {
      const keyboard = el("div", "inline-keyboard");
      for (const buttons of message.inline_keyboard) {
        const line = el("div", "inline-row");
        for (const [label, target] of buttons) {
          const button = el("button", "inline-btn", label);
          button.type = "button";
          const isUrl = typeof target === "string" && target.includes("://");
          if (isUrl) {
            button.classList.add("url");
            button.addEventListener("click", () => this.openUrl(target));
          } else {
            button.addEventListener("click", () => this.press(message.message_id, target, button));
          }
          line.append(button);
        }
        keyboard.append(line);
      }
      row.append(keyboard);
    }
    return row;
  }

  documentNode(message) {
    const name = message.document_name || "file";
    const link = el("a", "document");
    link.href = "/_emu/files/" + encodeURIComponent(message.document);
    link.download = name;
    const icon = el("span", "doc-icon", (name.split(".").pop() || "file").slice(0, 4).toUpperCase());
    const label = el("span", "doc-text");
    label.append(el("span", "doc-name", name), el("span", "doc-hint", "Download"));
    link.append(icon, label);
    return link;
  }

  renderKeyboard(rows) {
    this.keyboard.replaceChildren();
    this.keyboard.hidden = rows.length === 0;
    for (const buttons of rows) {
      const line = el("div", "reply-row");
      for (const button of buttons) {
        const node = el("button", "reply-btn", button.text);
        node.type = "button";
        node.addEventListener("click", () => this.pressReply(button));
        line.append(node);
      }
      this.keyboard.append(line);
    }
  }

  async act(action, body) {
    if (this.userId === null) { this.showToast("Choose a person first."); return; }
    try {
      await api("POST", `/_emu/users/${this.userId}/${action}`, body);
    } catch (error) {
      this.showToast(error.message);
    }
  }

  send(text) {
    this.list.dataset.scrolled = "0";
    return this.act("send", { text });
  }

  press(messageId, data, button) {
    button.classList.add("pressed");
    setTimeout(() => button.classList.remove("pressed"), 600);
    return this.act("press", { message_id: messageId, callback_data: data });
  }

  pressReply(button) {
    this.list.dataset.scrolled = "0";
    if (button.kind === "location") return this.act("location", DEMO_LOCATION);
    if (button.kind === "contact") return this.act("contact", {});
    return this.act("press_reply", { text: button.text });
  }

  openUrl(href) {
    const payload = startPayload(href);
    if (payload !== null) { this.send(payload ? "/start " + payload : "/start"); return; }
    const safe = safeHref(href);
    if (safe) window.open(safe, "_blank", "noopener");
  }

  showToast(text, alert) {
    this.toast.textContent = text;
    this.toast.classList.toggle("alert", Boolean(alert));
    this.toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toast.hidden = true; }, alert ? 6000 : 3000);
  }
}

// --- the panel --------------------------------------------------------------------------------

const KIND_LABELS = {
  resident: "Resident", elderly: "Elderly resident", teacher: "Teacher",
  volunteer: "Volunteer", staff: "Staff", admin: "Admin", new: "New person",
};

function renderPeople() {
  const list = document.getElementById("people");
  list.replaceChildren();
  const current = state.panes.map((pane) => pane.userId);
  for (const person of [...state.people, ...state.others]) {
    const item = el("li");
    const button = el("button", "person");
    button.type = "button";
    button.dataset.user = String(person.tg_id);
    const text = el("span", "person-text");
    const name = el("span", "person-name", person.name);
    name.append(el("span", "badge", person.locale === "zh" ? "中文" : "EN"));
    text.append(name, el("span", "person-about", `${KIND_LABELS[person.kind] || ""} · ${person.about}`));
    button.append(avatar(person.name, person.tg_id), text);
    const pane = current.indexOf(person.tg_id);
    if (pane >= 0) {
      button.classList.add("current");
      button.append(el("span", "pane-tag", state.panes.length > 1 ? (pane === 0 ? "left" : "right") : "✓"));
    }
    button.addEventListener("click", () => choose(person.tg_id));
    item.append(button);
    list.append(item);
  }
}

async function loadPeople() {
  const [people, users] = await Promise.all([api("GET", "/_play/people"), api("GET", "/_emu/users")]);
  state.people = people.people;
  const demo = new Set(state.people.map((p) => p.tg_id));
  state.others = users.users.filter((u) => !demo.has(u.id) && u.id >= 10000).map((u) => ({
    tg_id: u.id, name: u.first_name, kind: "new",
    locale: (u.language_code || "").startsWith("zh") ? "zh" : "en", about: "created here",
  }));
  renderPeople();
}

function choose(userId) {
  const pane = state.panes[state.active];
  pane.setUser(userId);
  remember();
  renderPeople();
  openPanel(false);
  pane.input.focus({ preventScroll: true });
}

function setActive(index) {
  if (state.active === index) return;
  state.active = index;
  state.panes.forEach((pane, i) => pane.root.classList.toggle("active", i === index));
}

function setTwoChats(on) {
  document.getElementById("two-chats").checked = on;
  if (on && state.panes.length === 1) {
    const pane = new ChatPane(1);
    state.panes.push(pane);
    const fallback = state.people.find((p) => p.tg_id !== state.panes[0].userId);
    const saved = Number(new URLSearchParams(location.search).get("other") || localStorage.getItem("play.other"));
    const other = personById(saved) ? saved : (fallback && fallback.tg_id);
    if (other) pane.setUser(other);
  } else if (!on && state.panes.length === 2) {
    const pane = state.panes.pop();
    pane.generation += 1;
    if (pane.controller) pane.controller.abort();
    pane.root.remove();
    setActive(0);
  }
  document.getElementById("chats").classList.toggle("two", state.panes.length === 2);
  state.panes.forEach((pane, i) => pane.root.classList.toggle("active", i === state.active));
  remember();
  renderPeople();
}

function remember() {
  const [first, second] = state.panes;
  if (first && first.userId) localStorage.setItem("play.me", String(first.userId));
  if (second && second.userId) localStorage.setItem("play.other", String(second.userId));
  localStorage.setItem("play.two", state.panes.length === 2 ? "1" : "0");
}

function openPanel(open) {
  document.body.classList.toggle("panel-open", open);
  document.getElementById("scrim").hidden = !open;
}

async function createPerson(event) {
  event.preventDefault();
  const name = document.getElementById("new-name").value.trim();
  const language = document.getElementById("new-lang").value;
  if (!name) return;
  const users = await api("GET", "/_emu/users");
  const id = Math.max(10000, ...users.users.map((u) => u.id)) + 1;
  await api("POST", "/_emu/users", { id, first_name: name, language_code: language });
  document.getElementById("new-name").value = "";
  await loadPeople();
  choose(id);
}

async function resetDemo() {
  if (!confirm("Delete everything in the demo database and create the demo data again?")) return;
  const button = document.getElementById("reset");
  button.disabled = true;
  try {
    await api("POST", "/_play/reset");
    state.panes.forEach((pane) => pane.setUser(pane.userId));
  } catch (error) {
    alert("Reset failed: " + error.message);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  try {
    const info = await api("GET", "/_emu/");
    state.botUsername = info.bot.username || "";
    state.botName = info.bot.first_name || state.botName;
  } catch (error) { /* the page still works without the bot's name */ }
  const first = new ChatPane(0);
  state.panes.push(first);
  first.root.classList.add("active");
  await loadPeople();

  const params = new URLSearchParams(location.search);
  const wanted = Number(params.get("me") || localStorage.getItem("play.me"));
  const me = personById(wanted) ? wanted : state.people[0].tg_id;
  first.setUser(me);
  const two = params.has("other") || (params.get("two") ?? localStorage.getItem("play.two")) === "1";
  setTwoChats(two && window.matchMedia("(min-width: 900px)").matches);

  document.getElementById("new-person").addEventListener("submit", (event) => {
    createPerson(event).catch((error) => alert(error.message));
  });
  document.getElementById("two-chats").addEventListener("change", (event) => setTwoChats(event.target.checked));
  document.getElementById("reset").addEventListener("click", resetDemo);
  document.getElementById("panel-close").addEventListener("click", () => openPanel(false));
  document.getElementById("scrim").addEventListener("click", () => openPanel(false));
  for (const button of document.querySelectorAll(".clock-btn")) {
    button.addEventListener("click", () => {
      state.panes[state.active].send("/clock " + button.dataset.step);
      openPanel(false);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  main().catch((error) => {
    document.getElementById("chats").textContent = "The playground could not start: " + error.message;
  });
});
