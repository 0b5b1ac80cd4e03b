import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { attackerSite, shows, victim } from './browser.js'

// ---- Cross-site requests without an Origin, in a real browser: JSONP script tags and no-cors POSTs ----

/**
 * A page that drives Engine.IO's JSONP polling by hand: script tags read (the answers call `___eio[0]`),
 * no-cors form POSTs write. Neither needs CORS, and the script loads carry no Origin header.
 */
const attackPage = (url: string): string => `<!doctype html>
<p id="result">pending</p>
<script>
  const base = ${JSON.stringify(url)} + '/socket.io/?EIO=4&transport=polling&j=0'
  const result = document.getElementById('result')
  let answer
  window.___eio = [(data) => answer(data)]
  let loads = 0
  const read = (query) => new Promise((resolve, reject) => {
    answer = resolve
    const script = document.createElement('script')
    script.src = base + query + '&t=' + (loads++)
    script.onerror = () => reject(new Error('script refused'))
    document.body.appendChild(script)
  })
  const write = (sid, packet) => fetch(base + '&sid=' + sid, {
    mode: 'no-cors',
    method: 'POST',
    body: 'd=' + encodeURIComponent(packet),
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  const run = async () => {
    const open = await read('')
    const sid = JSON.parse(open.slice(1)).sid
    await write(sid, '40')
    const connect = await read('&sid=' + sid)
    if (!connect.startsWith('40{')) return 'not connected: ' + connect
    await write(sid, '42["counter:increment"]')
    let seen = ''
    for (let i = 0; i < 5 && !seen.includes('42["counter",2]'); i++) seen += await read('&sid=' + sid)
    return 'done: ' + seen
  }
  run().then((text) => { result.textContent = text }, (err) => { result.textContent = 'refused: ' + err.message })
</script>`

t.test('a page of another origin cannot drive a socket through JSONP script tags and no-cors POSTs', async (t) => {
  // The victim is logged in and clicked the counter once.
  const { app, url, store, context, id, before } = await victim(t)

  // What the app is sent, and which sockets it accepts for the victim's session.
  const sent: Array<Record<string, string | undefined>> = []
  app.server.prependListener('request', (request: IncomingMessage) => {
    if (!request.url?.startsWith('/socket.io/')) return
    const h = request.headers
    sent.push({ method: request.method, origin: h.origin, cookie: h.cookie, site: h['sec-fetch-site'] as string | undefined })
  })
  const accepted: string[] = []
  app.io.on('connection', (socket) => { accepted.push(socket.session.sessionId) })

  // Another site's page runs the attack.
  const evilUrl = await attackerSite(t, attackPage(url))
  t.not(new URL(evilUrl).origin, new URL(url).origin)

  const attacker = await context.newPage()
  await attacker.goto(evilUrl)
  const result = await shows(attacker, '#result', /^(refused|not connected|done)/)
  t.match(result, /^refused/, 'the page could not open a connection')
  t.match(sent[0], { method: 'GET', origin: undefined, site: 'same-site' }, 'the script load carried no Origin')
  t.match(sent[0].cookie, /sessionId=/, 'but the victim\'s cookie: the attack is real')
  t.same(accepted.filter((s) => s === id), [], 'no socket of the victim\'s session was accepted')
  t.equal(JSON.stringify(store.store.get(id)), before, 'the counter did not move')
})
