import { setTimeout as sleep } from 'node:timers/promises'
import { io } from 'socket.io-client'

// ---- Load generator: socket.io-client over WebSocket against one server ----

const TIMEOUT = 10_000

const seconds = (start) => (performance.now() - start) / 1000

/** Runs `task(i)` for every i < count, at most `concurrency` at a time. */
export async function pool (count, concurrency, task) {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker))
}

/**
 * Logs in `count` times; resolves with the Cookie header values ('' when the server sets none) and the size of a
 * session as JSON (0 without one).
 */
export async function login (url, count, concurrency = 20) {
  const cookies = new Array(count)
  let bytes = 0
  await pool(count, concurrency, async (i) => {
    const response = await fetch(`${url}/login`, { method: 'POST' })
    if (response.status !== 200) throw new Error(`POST /login answered ${response.status}`)
    bytes = Math.max(bytes, (await response.json()).bytes ?? 0)
    cookies[i] = (response.headers.get('set-cookie') ?? '').split(';')[0]
  })
  return { cookies, bytes }
}

/** A connected client. */
export function connect (url, cookie) {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: TIMEOUT,
    extraHeaders: cookie ? { cookie } : {}
  })
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket))
    socket.once('connect_error', (err) => {
      socket.disconnect()
      reject(err)
    })
  })
}

/** One connected client per cookie, `concurrency` handshakes at a time. */
export async function connectAll (url, cookies, concurrency = 50) {
  const sockets = []
  try {
    await pool(cookies.length, concurrency, async (i) => { sockets[i] = await connect(url, cookies[i]) })
  } catch (err) {
    disconnectAll(sockets)
    throw err
  }
  return sockets
}

export function disconnectAll (sockets) {
  for (const socket of sockets) socket?.disconnect()
}

/** Waits (bounded) until the server has `count` clients. */
export async function waitForClients (server, count) {
  for (let i = 0; i < 200; i++) {
    if ((await server.stats()).sockets === count) return
    await sleep(25)
  }
  throw new Error(`${server.variant} server did not reach ${count} clients`)
}

/** Handshakes per second: `count` connects, each followed by a disconnect, `concurrency` at a time. */
export async function handshakes (server, cookies, count, concurrency, connected = 0) {
  const before = await server.stats()
  const start = performance.now()
  await pool(count, concurrency, async (i) => {
    const socket = await connect(server.url, cookies[i % cookies.length])
    socket.disconnect()
  })
  const rate = count / seconds(start)
  await waitForClients(server, connected)
  const after = await server.stats()
  return { rate, cpu: (after.cpu - before.cpu) / count }
}

/** The payload of the message events: a small chat message. */
export const MESSAGE = { room: 'lobby', text: 'hello, this is a short chat message' }

/** The arguments each event is sent with (before its ack). */
const payloads = { plain: [MESSAGE], routed: [MESSAGE] }

/** What each event's ack must carry. */
const checks = {
  read: (value) => value === 'bench',
  write: (value) => Number.isInteger(value) && value > 0,
  plain: (value) => value?.user === 'bench' && value.length === MESSAGE.text.length,
  routed: (value) => value?.user === 'bench' && value.length === MESSAGE.text.length
}

/** Emits `event` once and checks its ack. */
async function emitChecked (server, socket, event) {
  const value = await socket.timeout(TIMEOUT).emitWithAck(event, ...(payloads[event] ?? []))
  if (!checks[event](value)) throw new Error(`${server.variant}: unexpected ${event} ack ${JSON.stringify(value)}`)
}

/**
 * Acks per second, store writes and server CPU time (µs) per event, and the number of events: one client per
 * cookie, each emitting `event` with an ack, `inFlight` at a time (1: one after another; more: a burst of
 * `inFlight` events, then the next burst once all are acked), `total` in all (rounded up to a multiple of the
 * clients and bursts).
 */
export async function acks (server, cookies, event, total, inFlight = 1) {
  const sockets = await connectAll(server.url, cookies)
  const bursts = Math.ceil(total / sockets.length / inFlight)
  const each = bursts * inFlight
  const before = await server.stats()
  const start = performance.now()
  await Promise.all(sockets.map(async (socket) => {
    for (let i = 0; i < bursts; i++) {
      if (inFlight === 1) await emitChecked(server, socket, event)
      else await Promise.all(Array.from({ length: inFlight }, () => emitChecked(server, socket, event)))
    }
  }))
  const elapsed = seconds(start)
  const after = await server.stats()
  disconnectAll(sockets)
  await waitForClients(server, 0)
  const events = each * sockets.length
  return { rate: events / elapsed, writes: (after.writes - before.writes) / events, cpu: (after.cpu - before.cpu) / events, events }
}

/** Server memory (heap + external) per idle connected client, one client per cookie. */
export async function idleMemory (server, cookies) {
  const before = await server.stats(true)
  const sockets = await connectAll(server.url, cookies)
  try {
    await waitForClients(server, cookies.length)
    const after = await server.stats(true)
    return (after.memory - before.memory) / cookies.length
  } finally {
    disconnectAll(sockets)
    await waitForClients(server, 0)
  }
}

/**
 * Requests per second, store writes and server CPU time (µs) per request of `GET /page`, a route that reads the
 * session: one HTTP client per cookie, each sending its requests one after another, `total` in all.
 */
export async function pages (server, cookies, total) {
  const each = Math.ceil(total / cookies.length)
  const before = await server.stats()
  const start = performance.now()
  await Promise.all(cookies.map(async (cookie) => {
    for (let i = 0; i < each; i++) {
      const response = await fetch(`${server.url}/page`, { headers: { cookie } })
      const body = await response.json()
      if (response.status !== 200 || body.user !== 'bench') throw new Error(`${server.variant}: GET /page answered ${response.status} ${JSON.stringify(body)}`)
    }
  }))
  const elapsed = seconds(start)
  const after = await server.stats()
  const requests = each * cookies.length
  return { rate: requests / elapsed, writes: (after.writes - before.writes) / requests, cpu: (after.cpu - before.cpu) / requests }
}
