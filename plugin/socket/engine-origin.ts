import { ServerResponse, type IncomingMessage } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import type { Server } from 'socket.io'
import { clientError } from '../client-errors.js'
import { engineClient, engineQuery } from '../internals/socket-io.js'
import { handshakeOrigin, OTHER_ORIGIN, requestOrigin, sameAsOpened } from './origin.js'
import type { OwnOrigin } from '../internals/fastify-request.js'

// ---- Every Engine.IO request: the handshake, later polls and posts, WebSocket upgrades ----

/** What the check needs, fixed at registration. */
export interface EngineCheckContext {
  io: Server
  ownOrigin: OwnOrigin
  allowJsonp: boolean
  log: FastifyBaseLogger
}

/** Why a request was refused, as logged. */
type Reason = 'jsonp' | 'other origin without Origin' | 'origin changed'

/** Longest Origin text written to the log. */
const MAX_LOGGED_ORIGIN = 200
/** What a refused request is answered; never the origin or the cookie. */
const BODY = JSON.stringify(clientError('ORIGIN_NOT_ALLOWED'))
/** The answer to a refused WebSocket upgrade, written to the socket itself. */
const UPGRADE_ANSWER = 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n' +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`

/** Answers 403 with the refusal body, over HTTP or on an upgrade's socket. */
function forbid (req: IncomingMessage, res: unknown): void {
  if (res instanceof ServerResponse) {
    res.writeHead(403, { 'content-type': 'application/json' }).end(BODY)
    return
  }
  // An upgrade: Engine.IO's stand-in response can only destroy the socket.
  req.socket.on('error', () => {})
  req.socket.write(UPGRADE_ANSWER)
  req.socket.destroy()
}

/**
 * The Engine.IO middleware. Refuses JSONP (unless `allowJsonp`) and requests that a page of another origin sent
 * without an Origin header; a later request of a connection must come from the origin that opened it (or the
 * server's own), else it is refused and the connection closed. The rest of the handshake's origin check is the
 * Socket.IO middleware's, which answers with `connect_error` data.
 */
export function engineOriginCheck (c: EngineCheckContext) {
  return (req: IncomingMessage, res: unknown, next: (err?: Error) => void): void => {
    const query = engineQuery(req)
    // As Engine.IO: an empty sid is a handshake.
    const sid = query.sid
    const client = sid ? engineClient(c.io, sid) : undefined
    let reason: Reason | undefined
    if (typeof query.j === 'string' && !c.allowJsonp) reason = 'jsonp'
    else if (!sid) {
      if (handshakeOrigin(req, c.ownOrigin).origin === OTHER_ORIGIN) reason = 'other origin without Origin'
    } else if (client !== undefined && !sameAsOpened(requestOrigin(req, c.ownOrigin), handshakeOrigin(client.request, c.ownOrigin))) {
      reason = 'origin changed'
    }
    if (reason === undefined) return next()
    const { origin } = req.headers
    c.log.warn({
      code: 'ORIGIN_NOT_ALLOWED',
      reason,
      address: req.socket.remoteAddress,
      origin: origin?.slice(0, MAX_LOGGED_ORIGIN)
    }, 'fastify-socket.io-session: request refused')
    client?.close(true)
    forbid(req, res)
    next(new Error('origin not allowed'))
  }
}
