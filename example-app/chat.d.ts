import type { FastifyInstance } from 'fastify'
import type { TObject, TString, TInteger } from 'typebox'

/** A chat message as a client sends it. */
export const Message: TObject<{ text: TString }>
/** What the sender gets back. */
export const Sent: TObject<{ id: TString }>
/** A chat message as the server sends it, as a schema. */
export const ChatMessage: TObject<{ id: TString, from: TString, text: TString, at: TInteger }>

/** A chat message as the server sends it. */
export interface ChatMessage { id: string, from: string, text: string, at: number }
/** The last messages of each room. */
export interface History {
  add: (room: string, message: ChatMessage) => Promise<void>
  last: (room: string) => Promise<ChatMessage[]>
}
/** How many messages of a room a new tab is shown. */
export const HISTORY: number
/** The presence announcements in progress of each app (it waits for them before closing its Redis clients). */
export const announcing: WeakMap<FastifyInstance, Set<Promise<void>>>
/** The last messages of each room, in this process (one node). */
export function memoryHistory (): History
/** The last messages of each room in a Redis list (an ioredis client), shared by every node. */
export function redisHistory (redis: unknown): History
/** The chat's connection listener and event routes. */
export function chat (app: FastifyInstance, history?: History): unknown
