// Photo albums: sign-in against Cognito's API, the app's HTTP API with the ID token, uploads
// straight to the bucket through presigned URLs, and live updates over the WebSocket API.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, token: null, me: null, album: null, socket: null, albumsNext: null, photosNext: null };

function notice(text, ok) {
  const box = $("notice");
  box.textContent = text;
  box.className = ok ? "ok" : "";
  box.hidden = !text;
  clearTimeout(notice.timer);
  if (ok && text) notice.timer = setTimeout(() => notice(""), 4000);
}

// ------------------------------------------------------------------ Cognito

async function cognito(operation, body) {
  const response = await fetch(state.config.cognito_endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AWSCognitoIdentityProviderService." + operation,
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = String(answer.__type || "Error").split("#").pop();
    throw new Error(answer.message || kind);
  }
  return answer;
}

async function signIn(email, password) {
  const answer = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: state.config.client_id,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!answer.AuthenticationResult) throw new Error("sign-in needs a step this page does not offer: " + answer.ChallengeName);
  state.token = answer.AuthenticationResult.IdToken;
  sessionStorage.setItem("idToken", state.token);
  await start();
}

// ------------------------------------------------------------------ the API

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: Object.assign({ Authorization: "Bearer " + state.token }, body ? { "Content-Type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) {
    signOut();
    throw new Error("Your session ended: sign in again.");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error((data && (data.detail || data.title)) || response.statusText);
    error.status = response.status;
    error.problem = data;
    throw error;
  }
  return data;
}

function signOut() {
  sessionStorage.removeItem("idToken");
  state.token = null;
  state.me = null;
  if (state.socket) state.socket.close();
  state.socket = null;
  $("who").hidden = true;
  $("home").hidden = true;
  $("auth").hidden = false;
}

// ------------------------------------------------------------------ albums

function albumLink(album) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = "#/albums/" + album.id;
  a.textContent = album.title;
  a.dataset.album = album.id;
  li.append(a);
  return li;
}

async function loadAlbums(more) {
  const query = more && state.albumsNext ? "?cursor=" + encodeURIComponent(state.albumsNext) : "";
  const page = await api("GET", "/albums" + query);
  if (!more) $("album-list").replaceChildren();
  for (const album of page.items) $("album-list").append(albumLink(album));
  state.albumsNext = page.next;
  $("albums-more").hidden = !page.next;
  markCurrent();
}

function markCurrent() {
  for (const a of $("album-list").querySelectorAll("a")) {
    if (state.album && a.dataset.album === state.album.id) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function openAlbum(id) {
  $("moderation").hidden = true;
  const album = await api("GET", "/albums/" + encodeURIComponent(id));
  state.album = album;
  $("album").hidden = false;
  $("album-title").textContent = album.title;
  $("rename-form").hidden = album.role !== "owner";
  $("invite-form").hidden = album.role !== "owner";
  $("rename-title").value = album.title;
  $("uploads").replaceChildren();
  markCurrent();
  await Promise.all([loadPhotos(false), loadComments(), loadMembers()]);
  subscribe();
}

// ------------------------------------------------------------------ photos

function photoTile(photo, moderation) {
  const li = document.createElement("li");
  const figure = document.createElement("figure");
  figure.dataset.photo = photo.id;
  figure.dataset.status = photo.status;
  if (photo.thumbnail_url && (photo.status === "ready" || moderation)) {
    const img = document.createElement("img");
    img.src = photo.thumbnail_url;
    img.alt = photo.file_name;
    img.loading = "lazy";
    figure.append(img);
  } else {
    const p = document.createElement("div");
    p.className = "placeholder";
    p.textContent = {
      uploading: "Uploading…",
      processing: "Processing…",
      moderation: "Waiting for a moderator",
      rejected: "Rejected: " + (photo.reason || "no reason given"),
    }[photo.status] || photo.status;
    figure.append(p);
  }
  const caption = document.createElement("figcaption");
  const details = [photo.file_name, "by " + photo.owner_name];
  if (photo.metadata && photo.metadata.camera) details.push(photo.metadata.camera);
  caption.textContent = details.join(" · ");
  figure.append(caption);
  li.append(figure);
  return li;
}

function upsertPhoto(photo) {
  const list = $("photos");
  const existing = list.querySelector('[data-photo="' + CSS.escape(photo.id) + '"]');
  const tile = photoTile(photo, false);
  if (existing) existing.parentElement.replaceWith(tile);
  else list.prepend(tile);
}

async function loadPhotos(more) {
  const id = state.album.id;
  const query = more && state.photosNext ? "?cursor=" + encodeURIComponent(state.photosNext) : "";
  const page = await api("GET", "/albums/" + encodeURIComponent(id) + "/photos" + query);
  if (!state.album || state.album.id !== id) return;
  if (!more) $("photos").replaceChildren();
  for (const photo of page.items) $("photos").append(photoTile(photo, false));
  state.photosNext = page.next;
  $("photos-more").hidden = !page.next;
}

async function refreshPhoto(album, photoId) {
  if (!state.album || state.album.id !== album) return;
  const photo = await api("GET", "/albums/" + encodeURIComponent(album) + "/photos/" + encodeURIComponent(photoId));
  upsertPhoto(photo);
}

function uploadRow(file) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", "Upload of " + file.name);
  li.append(name, bar);
  $("uploads").append(li);
  return { li, bar };
}

async function upload(file) {
  const row = uploadRow(file);
  try {
    const ticket = await api("POST", "/albums/" + encodeURIComponent(state.album.id) + "/photos", {
      file_name: file.name,
      content_type: file.type,
      size: file.size,
    });
    upsertPhoto(ticket.photo);
    await new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open(ticket.upload.method, ticket.upload.url);
      for (const [name, value] of ticket.upload.headers) request.setRequestHeader(name, value);
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) row.bar.value = Math.round((event.loaded / event.total) * 100);
      };
      request.onload = () => (request.status < 300 ? resolve() : reject(new Error("the upload failed (" + request.status + ")")));
      request.onerror = () => reject(new Error("the upload failed"));
      request.send(file);
    });
    row.bar.value = 100;
    setTimeout(() => row.li.remove(), 1500);
  } catch (error) {
    row.li.className = "failed";
    row.li.dataset.rejected = "true";
    row.li.textContent = file.name + ": " + error.message;
  }
}

function uploadAll(files) {
  for (const file of files) upload(file);
}

// ------------------------------------------------------------------ comments and members

function commentItem(comment) {
  const li = document.createElement("li");
  li.dataset.comment = comment.id;
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = comment.author_name;
  const text = document.createElement("span");
  text.textContent = comment.text;
  li.append(author, text);
  return li;
}

function addComment(comment) {
  if (!state.album || comment.album !== state.album.id) return;
  if ($("comments").querySelector('[data-comment="' + CSS.escape(comment.id) + '"]')) return;
  $("comments").append(commentItem(comment));
}

async function loadComments() {
  const page = await api("GET", "/albums/" + encodeURIComponent(state.album.id) + "/comments?limit=100");
  $("comments").replaceChildren(...page.items.map(commentItem));
}

async function loadMembers() {
  const page = await api("GET", "/albums/" + encodeURIComponent(state.album.id) + "/members?limit=100");
  $("members").replaceChildren(
    ...page.items.map((m) => {
      const li = document.createElement("li");
      li.textContent = m.name + " (" + m.email + ")" + (m.role === "owner" ? " · owner" : "");
      return li;
    }),
  );
}

// ------------------------------------------------------------------ live updates

function connect() {
  if (state.socket || !state.token) return;
  const socket = new WebSocket(state.config.websocket_url + "?token=" + encodeURIComponent(state.token));
  state.socket = socket;
  socket.onopen = () => {
    $("live").textContent = "live";
    $("live").classList.add("on");
    subscribe();
  };
  socket.onclose = () => {
    $("live").textContent = "offline";
    $("live").classList.remove("on");
    state.socket = null;
    if (state.token) setTimeout(connect, 2000);
  };
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (_) {
      return;
    }
    if (message.type === "photo") refreshPhoto(message.album, message.photo).catch(() => {});
    else if (message.type === "photo-deleted") {
      const tile = $("photos").querySelector('[data-photo="' + CSS.escape(message.photo) + '"]');
      if (tile) tile.parentElement.remove();
    } else if (message.type === "comment") addComment(message.comment);
    else if (message.type === "subscribed") $("live").dataset.album = message.album;
  };
}

function subscribe() {
  if (state.socket && state.socket.readyState === WebSocket.OPEN && state.album) {
    state.socket.send(JSON.stringify({ action: "subscribe", album: state.album.id }));
  }
}

// ------------------------------------------------------------------ moderation

async function openModeration() {
  $("album").hidden = true;
  state.album = null;
  markCurrent();
  $("moderation").hidden = false;
  const page = await api("GET", "/moderation?limit=100");
  $("queue").replaceChildren(
    ...page.items.map((photo) => {
      const li = photoTile(photo, true);
      const actions = document.createElement("div");
      actions.className = "actions";
      for (const [label, approve] of [["Approve", true], ["Reject", false]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.className = approve ? "approve" : "reject";
        button.setAttribute("aria-label", label + " " + photo.file_name);
        button.onclick = async () => {
          try {
            await api("POST", "/moderation/" + encodeURIComponent(photo.album) + "/" + encodeURIComponent(photo.id), { approve });
            li.remove();
            $("queue-empty").hidden = $("queue").children.length > 0;
            notice(approve ? "Approved." : "Rejected.", true);
          } catch (error) {
            notice(error.message);
          }
        };
        actions.append(button);
      }
      li.querySelector("figure").append(actions);
      return li;
    }),
  );
  $("queue-empty").hidden = page.items.length > 0;
  $("moderation-title").focus();
}

// ------------------------------------------------------------------ start

async function route() {
  const match = location.hash.match(/^#\/albums\/([A-Za-z0-9]+)$/);
  try {
    if (match) await openAlbum(match[1]);
    else if (location.hash === "#/moderation") await openModeration();
  } catch (error) {
    notice(error.message);
  }
}

async function start() {
  state.me = await api("GET", "/users/me");
  $("auth").hidden = true;
  $("home").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = state.me.name;
  $("moderation-open").hidden = !state.me.admin;
  notice("");
  await loadAlbums(false);
  connect();
  await route();
}

function on(id, event, handler) {
  $(id).addEventListener(event, async (e) => {
    if (event === "submit") e.preventDefault();
    try {
      await handler(e);
    } catch (error) {
      notice(error.message);
    }
  });
}

async function main() {
  state.config = await (await fetch("/config.json")).json();
  on("sign-in-form", "submit", () => signIn($("sign-in-email").value.trim(), $("sign-in-password").value));
  on("sign-up-form", "submit", async () => {
    const email = $("sign-up-email").value.trim();
    const password = $("sign-up-password").value;
    const answer = await cognito("SignUp", {
      ClientId: state.config.client_id,
      Username: email,
      Password: password,
      UserAttributes: [
        { Name: "email", Value: email },
        { Name: "name", Value: $("sign-up-name").value.trim() },
      ],
    });
    if (answer.UserConfirmed) await signIn(email, password);
    else {
      $("confirm-form").hidden = false;
      $("confirm-form").dataset.email = email;
      $("confirm-form").dataset.password = password;
      notice("We sent a code to " + email + ".", true);
    }
  });
  on("confirm-form", "submit", async () => {
    const form = $("confirm-form");
    await cognito("ConfirmSignUp", { ClientId: state.config.client_id, Username: form.dataset.email, ConfirmationCode: $("confirm-code").value.trim() });
    await signIn(form.dataset.email, form.dataset.password);
  });
  on("sign-out", "click", signOut);
  on("moderation-open", "click", () => {
    location.hash = "#/moderation";
  });
  on("new-album-form", "submit", async () => {
    const album = await api("POST", "/albums", { title: $("new-album-title").value });
    $("new-album-title").value = "";
    await loadAlbums(false);
    location.hash = "#/albums/" + album.id;
  });
  on("rename-form", "submit", async () => {
    try {
      const album = await api("PATCH", "/albums/" + encodeURIComponent(state.album.id), { title: $("rename-title").value, version: state.album.version });
      state.album.version = album.version;
      state.album.title = album.title;
      $("album-title").textContent = album.title;
      await loadAlbums(false);
    } catch (error) {
      if (error.status === 409) {
        await openAlbum(state.album.id);
        throw new Error("Someone renamed the album meanwhile; here it is as it is now.");
      }
      throw error;
    }
  });
  on("invite-form", "submit", async () => {
    await api("POST", "/albums/" + encodeURIComponent(state.album.id) + "/members", { email: $("invite-email").value });
    $("invite-email").value = "";
    await loadMembers();
    notice("Invited.", true);
  });
  on("comment-form", "submit", async () => {
    const comment = await api("POST", "/albums/" + encodeURIComponent(state.album.id) + "/comments", { text: $("comment-text").value });
    $("comment-text").value = "";
    addComment(comment);
  });
  on("albums-more", "click", () => loadAlbums(true));
  on("photos-more", "click", () => loadPhotos(true));
  $("file-input").addEventListener("change", (e) => {
    uploadAll(e.target.files);
    e.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    uploadAll(e.dataTransfer.files);
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      $("file-input").click();
    }
  });
  window.addEventListener("hashchange", route);
  state.token = sessionStorage.getItem("idToken");
  if (state.token) {
    try {
      await start();
      return;
    } catch (_) {
      signOut();
    }
  }
  $("auth").hidden = false;
}

main().catch((error) => notice("The page could not start: " + error.message));
