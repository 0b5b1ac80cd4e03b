import t from 'tap'
import { attackerSite, shows, victim } from './browser.js'

// ---- Cross-site WebSocket hijacking, in a real browser: a page of another origin uses the victim's cookie ----

t.test('5. a page from another origin cannot open a socket with the victim\'s cookies', async (t) => {
  // The victim is logged in: the browser holds the session cookie for 127.0.0.1.
  const { app, url, store, context, id, before } = await victim(t)

  // Another site's page connects to the app and tries to act as the victim.
  const evilUrl = await attackerSite(t, `<!doctype html>
<p id="result">pending</p>
<script src="${url}/socket.io/socket.io.js"></script>
<script>
  const result = document.getElementById('result')
  const socket = io(${JSON.stringify(url)}, { transports: ['websocket'], reconnection: false, query: { room: 'lobby' } })
  socket.on('connect', () => {
    result.textContent = 'connected'
    socket.emit('counter:increment')
  })
  socket.on('connect_error', (err) => { result.textContent = 'refused: ' + (err.data ? err.data.code : err.message) })
</script>`)
  t.not(new URL(evilUrl).origin, new URL(url).origin)

  // What the browser sent with the WebSocket handshake.
  const sent: Array<{ origin?: string, cookie?: string }> = []
  app.io.engine.on('connection', (connection: { request: { headers: Record<string, string> } }) => {
    sent.push({ origin: connection.request.headers.origin, cookie: connection.request.headers.cookie })
  })
  const attacker = await context.newPage()
  await attacker.goto(evilUrl)
  t.equal(await shows(attacker, '#result', /^(refused|connected)/), 'refused: ORIGIN_NOT_ALLOWED', 'the page sees the refusal')
  t.equal(sent.length, 1)
  t.equal(sent[0].origin, new URL(evilUrl).origin, 'the handshake came from the other origin')
  t.match(sent[0].cookie, /sessionId=/, 'with the victim\'s session cookie: the attack is real')
  t.equal(app.io.of('/').sockets.size, 0, 'no socket was accepted')
  t.equal(JSON.stringify(store.store.get(id)), before, 'the session is untouched')
})
