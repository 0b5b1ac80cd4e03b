/* global io */
// The chat page: connection state, messages, who is online, and the session's counter.
const { room, user } = document.body.dataset
const $ = (id) => document.getElementById(id)
const state = $('state')
const stateText = $('state-text')
const messages = $('messages')
const online = $('online')
const count = $('count')
const form = $('send')
const text = $('text')
const sendButton = $('send-button')
const sendError = $('send-error')
const increment = $('increment')

/** Why the server ended the session (logout, a new login, expiry), when it said so. */
let endedBecause = null

function setState (kind, label) {
  state.dataset.state = kind
  stateText.textContent = label
}

function enable (on) {
  text.disabled = sendButton.disabled = increment.disabled = !on
}

/** The session or the connection ended: say why, and show nothing that belonged to it. */
function ended (label) {
  setState('disconnected', 'disconnected')
  $('ended-text').textContent = label
  $('ended').hidden = false
  enable(false)
  // No longer signed in here, nobody known to be online, and no notice about sending.
  $('me').hidden = true
  $('logout-form').hidden = true
  online.replaceChildren()
  hideNotice()
}

const socket = io({ query: { room } })

socket.on('connect', () => {
  setState('connected', 'connected')
  enable(true)
})
socket.io.on('reconnect_attempt', (attempt) => setState('reconnecting', `reconnecting (attempt ${attempt})…`))
socket.on('disconnect', (reason) => {
  enable(false)
  // The client reconnects by itself unless the server ended the connection.
  if (socket.active) setState('reconnecting', 'connection lost, reconnecting…')
  else ended(endedBecause ?? `disconnected by the server (${reason})`)
})
// The plugin says why before it ends the socket of a session that ended.
socket.on('session:error', ({ error }) => {
  if (error.code === 'SESSION_DESTROYED' || error.code === 'SESSION_EXPIRED') endedBecause = `Disconnected: ${error.message}.`
})
socket.on('connect_error', (err) => {
  // Refused by the server (no session any more, origin, bad query): the client does not retry.
  if (!socket.active) ended(`Not connected: ${err.data?.message ?? err.message}.`)
  else setState('reconnecting', `reconnecting: ${err.message}`)
})

socket.on('counter', (value) => { count.textContent = value })
socket.on('presence', (users) => {
  online.replaceChildren(...users.map((name) => {
    const item = document.createElement('li')
    item.textContent = name
    if (name === user) item.classList.add('me')
    return item
  }))
})
/** A message as a list item: who, when, what (as text, never HTML). */
function messageItem (message) {
  const item = document.createElement('li')
  if (message.from === user) item.classList.add('mine')
  const from = document.createElement('b')
  from.textContent = message.from
  const time = document.createElement('time')
  time.dateTime = new Date(message.at).toISOString()
  time.textContent = new Date(message.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  const body = document.createElement('p')
  body.textContent = message.text
  item.append(from, time, body)
  return item
}

// The room's last messages, sent when the socket connects (again: a reconnect replaces what was shown).
socket.on('chat:history', (history) => {
  messages.replaceChildren(...history.map(messageItem))
  messages.scrollTop = messages.scrollHeight
})
socket.on('chat:message', (message) => {
  messages.append(messageItem(message))
  messages.scrollTop = messages.scrollHeight
})

let noticeTimer
function hideNotice () {
  clearTimeout(noticeTimer)
  sendError.hidden = true
}

/** Shows an error reply under the messages; a rate limit says how long to wait, and goes once that is over. */
function notice (error) {
  hideNotice()
  sendError.hidden = false
  if (error.code !== 'RATE_LIMITED') {
    sendError.textContent = `Not sent: ${error.message}.`
    return
  }
  const seconds = Math.max(1, Math.ceil((error.retryAfter ?? 1000) / 1000))
  sendError.textContent = `Slow down: try again in ${seconds} s.`
  noticeTimer = setTimeout(hideNotice, seconds * 1000)
}

/** Sends an event and resolves with its reply; an error reply (or no answer) shows under the messages. */
async function send (event, ...args) {
  let reply
  try {
    reply = await socket.timeout(5000).emitWithAck(event, ...args)
  } catch {
    reply = { error: { code: 'TIMEOUT', message: 'no answer from the server' } }
  }
  if (reply?.error) notice(reply.error)
  else hideNotice()
  return reply
}

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const value = text.value.trim()
  if (value === '') return
  const reply = await send('chat:send', { text: value })
  if (!reply.error) text.value = ''
  text.focus()
})
// The new value arrives as the `counter` event, in order with the other tabs' increments.
increment.addEventListener('click', () => { void send('counter:increment') })
