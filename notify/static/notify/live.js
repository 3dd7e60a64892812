/* Live notifications: keep a server-sent-events stream open and show what arrives.
 *
 * Configured by the attributes of its own <script> tag (see notify/live_script.html):
 * data-notify-stream (the stream URL) and data-notify-after (the newest message id
 * that the page already knows). No build step, no dependencies.
 */
(function () {
  "use strict";
  var script = document.querySelector("script[data-notify-stream]");
  if (!script || !window.EventSource) { return; }
  var streamUrl = script.getAttribute("data-notify-stream");
  var state = {
    lastId: parseInt(script.getAttribute("data-notify-after") || "0", 10) || 0,
    status: "connecting", received: [], notified: [], source: null, retries: 0
  };
  window.notifyLive = state;

  function setStatus(status) {
    state.status = status;
    document.documentElement.setAttribute("data-notify-live", status);
  }

  function setUnread(count) {
    document.querySelectorAll("[data-notify-unread]").forEach(function (badge) {
      badge.textContent = String(count);
      badge.setAttribute("aria-label", count + " unread");
      badge.hidden = count <= 0;
    });
  }

  function unread() {
    var badge = document.querySelector("[data-notify-unread]");
    return badge ? parseInt(badge.textContent, 10) || 0 : 0;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }  /* text only: never HTML */
    return node;
  }

  function toast(msg) {
    var area = document.querySelector("[data-notify-toasts]");
    if (!area) { return; }
    var box = el("div", "notify-toast");
    box.setAttribute("data-message-id", msg.id);
    var title = msg.url ? el("a", "notify-toast-subject", msg.subject) : el("strong", "notify-toast-subject", msg.subject);
    if (msg.url) { title.href = msg.url; }
    box.appendChild(title);
    if (msg.body) { box.appendChild(el("p", "notify-toast-body", msg.body)); }
    var close = el("button", "notify-toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    area.appendChild(box);
    while (area.children.length > 4) { area.firstElementChild.remove(); }
    setTimeout(function () { box.remove(); }, 10000);
  }

  function desktop(msg) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    try {
      /* Same tag as a push of the same message: the browser shows it once. */
      var note = new Notification(msg.subject, { body: msg.body || "", tag: "notify-message-" + msg.id });
      note.onclick = function () { window.focus(); if (msg.url) { window.location.href = msg.url; } };
      state.notified.push(msg.id);
    } catch (e) { /* some browsers allow notifications from service workers only */ }
  }

  function seenForm(msg, seen) {
    var form = el("form");
    form.method = "post";
    form.action = msg.url + (seen ? "unseen/" : "seen/");
    form.setAttribute("data-notify-action", seen ? "unseen" : "seen");
    var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (csrf) { form.appendChild(csrf.cloneNode()); }
    var button = el("button", seen ? "link" : "", seen ? "Mark unseen" : "Mark seen");
    button.type = "submit";
    button.setAttribute("aria-label", "Mark “" + msg.subject + (seen ? "” as unseen" : "” as seen"));
    form.appendChild(button);
    return form;
  }

  function addRow(msg) {
    var list = document.querySelector("[data-notify-list]");
    if (!list || !msg.url || list.querySelector('[data-message-id="' + msg.id + '"]')) { return; }
    var empty = list.querySelector("tr.empty");
    if (empty) { empty.remove(); }
    var row = el("tr", msg.seen ? "seen new" : "unseen new");
    row.setAttribute("data-message-id", msg.id);
    var created = el("td");
    created.appendChild(el("time", "", (msg.created || "").slice(0, 16).replace("T", " ")));
    var subject = el("td");
    var link = el("a", "", msg.body || msg.subject);
    link.href = msg.url;
    link.title = msg.subject;
    subject.appendChild(link);
    var reply = el("td");
    if (msg.reply_to && msg.reply_url) {
      var replyLink = el("a", "", msg.reply_to);
      replyLink.href = msg.reply_url;
      reply.appendChild(replyLink);
    } else if (msg.reply_to) {
      reply.textContent = msg.reply_to;
    }
    var seen = el("td");
    seen.appendChild(seenForm(msg, msg.seen));
    row.appendChild(created); row.appendChild(subject); row.appendChild(reply); row.appendChild(seen);
    list.insertBefore(row, list.firstChild);
  }

  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (state.received.indexOf(msg.id) !== -1) { return; }
    state.lastId = Math.max(state.lastId, msg.id);
    state.received.push(msg.id);
    if (!msg.seen) { setUnread(unread() + 1); }
    addRow(msg);
    toast(msg);
    desktop(msg);
    document.dispatchEvent(new CustomEvent("notify:message", { detail: msg }));
  }

  function onCount(event) {
    try { setUnread(JSON.parse(event.data).unread); } catch (e) { /* ignore a malformed event */ }
  }

  function connect() {
    setStatus("connecting");
    var source = new EventSource(streamUrl + "?after=" + encodeURIComponent(state.lastId));
    state.source = source;
    source.addEventListener("open", function () { state.retries = 0; setStatus("open"); });
    source.addEventListener("message", onMessage);
    source.addEventListener("count", onCount);
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        /* The browser gave up (server gone or an error answer): start again, more slowly each time. */
        setStatus("closed");
        var delay = Math.min(30000, 1000 * Math.pow(2, state.retries++));
        setTimeout(connect, delay);
      } else {
        setStatus("reconnecting");  /* EventSource retries by itself, sending Last-Event-ID */
      }
    });
  }

  /* Seen actions without a reload: post the form with fetch, then update the row and the count. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.getAttribute && form.getAttribute("data-notify-action");
    if (!action || !window.fetch) { return; }
    event.preventDefault();
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      setUnread(data.unread);
      var rows = action === "all-seen" ? document.querySelectorAll("[data-message-id].unseen")
        : [form.closest("[data-message-id]")];
      Array.prototype.forEach.call(rows, function (row) {
        if (!row) { return; }
        var seen = action !== "unseen";
        row.classList.toggle("seen", seen);
        row.classList.toggle("unseen", !seen);
        var old = row.querySelector("form[data-notify-action]");
        if (old) {
          var link = row.querySelector("a[href]");
          var id = row.getAttribute("data-message-id");
          var url = old.action.replace(/(un)?seen\/$/, "");
          old.replaceWith(seenForm({ id: id, url: url, subject: link ? link.textContent : "" }, seen));
        }
      });
    }).catch(function () { form.submit(); });
  });

  function offerPermission() {
    var offer = document.querySelector("[data-notify-permission]");
    if (!offer || !("Notification" in window) || Notification.permission !== "default") { return; }
    offer.hidden = false;
    offer.querySelector("[data-notify-ask]").addEventListener("click", function () {
      Notification.requestPermission().then(function () { offer.hidden = true; });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", offerPermission);
  } else { offerPermission(); }
  connect();
})();
