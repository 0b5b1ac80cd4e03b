// ---- The two pages: plain HTML, the script and styles come from /static ----

function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page (title, body, attributes = '') {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/style.css">
</head>
<body${attributes}>
${body}
</body>
</html>
`
}

export function loginPage (error) {
  return page('Log in · Fastify chat', `<main class="login card">
  <h1>Fastify chat</h1>
  <p class="muted">One session for HTTP and Socket.IO. Log in, open a second tab, then log out in one of them.</p>
  ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
  <form method="post" action="/login" id="login">
    <label for="name">Your name</label>
    <input id="name" name="name" required maxlength="32" autocomplete="username" autofocus>
    <button type="submit">Log in</button>
  </form>
</main>`)
}

export function chatPage (user, count, room, node) {
  return page(`#${room} · Fastify chat`, `<header class="bar">
  <strong class="brand">Fastify chat</strong>
  <span class="room">#${escapeHtml(room)}</span>
  ${node ? `<span class="node" id="node" title="the node this tab is connected to">${escapeHtml(node)}</span>` : ''}
  <span id="state" class="state" data-state="connecting"><span class="dot"></span><span id="state-text">connecting…</span></span>
  <span class="spacer"></span>
  <span class="me" id="me">Signed in as <b id="user">${escapeHtml(user)}</b></span>
  <form method="post" action="/logout" id="logout-form"><button type="submit" class="ghost" id="logout">Log out</button></form>
</header>
<p id="ended" class="ended" hidden><span id="ended-text"></span> <a href="/">Log in again</a></p>
<main class="layout">
  <section class="chat card">
    <ol id="messages" class="messages" aria-live="polite"></ol>
    <p id="send-error" class="error" hidden></p>
    <form id="send" class="send">
      <input id="text" name="text" maxlength="500" placeholder="Write a message" autocomplete="off" disabled>
      <button type="submit" id="send-button" disabled>Send</button>
    </form>
  </section>
  <aside class="side">
    <section class="card">
      <h2>Online</h2>
      <ul id="online" class="online"></ul>
    </section>
    <section class="card counter">
      <h2>This session's counter</h2>
      <p id="count" class="count">${Number(count)}</p>
      <button id="increment" disabled>+1</button>
      <p class="muted">Kept in the session: the same in every tab, after a reload, and over HTTP.</p>
    </section>
  </aside>
</main>
<script src="/socket.io/socket.io.js"></script>
<script src="/static/chat.js"></script>`, ` data-room="${escapeHtml(room)}" data-user="${escapeHtml(user)}"`)
}
