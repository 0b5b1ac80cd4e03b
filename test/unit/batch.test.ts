import t from 'tap'
import { Batch, type RedisPipeline, type Sender } from '../../plugin/redis/batch.js'

// ---- The commands of one event loop turn, sent as one pipeline: replies, errors, and clients without pipelines ----

type Reply = [Error | null, unknown]

/** A client whose commands answer `name:args`, and whose pipelines answer with `exec`'s outcome. */
function client (exec?: (sent: string[]) => Promise<Reply[] | null>): Sender & { lone: string[], pipelines: string[][] } {
  const lone: string[] = []
  const pipelines: string[][] = []
  const command = (name: string) => async (...args: unknown[]) => {
    lone.push(`${name}:${args.join(',')}`)
    if (args[0] === 'bad') throw new Error('refused')
    return `${name}:${args.join(',')}`
  }
  const sender: Sender & { lone: string[], pipelines: string[][] } = {
    hgetall: command('hgetall'), hset: command('hset'), evalsha: command('evalsha'), lone, pipelines
  }
  if (exec !== undefined) {
    sender.pipeline = () => {
      const sent: string[] = []
      pipelines.push(sent)
      const add = (name: string) => (...args: unknown[]) => { sent.push(`${name}:${args.join(',')}`) }
      const pipeline: RedisPipeline = { hgetall: add('hgetall'), hset: add('hset'), evalsha: add('evalsha'), exec: async () => await exec(sent) }
      return pipeline
    }
  }
  return sender
}

const echo = async (sent: string[]): Promise<Reply[]> => sent.map((s): Reply => s.includes('bad') ? [new Error('WRONGTYPE'), null] : [null, s])

t.test('one turn\'s commands go out as one pipeline, each gets its own reply', async (t) => {
  const c = client(echo)
  const batch = new Batch(c)
  const replies = await Promise.allSettled([batch.send('hset', 'a', 'f', 'v'), batch.send('hgetall', 'b'), batch.send('evalsha', 'bad', 1)])
  t.strictSame(c.pipelines, [['hset:a,f,v', 'hgetall:b', 'evalsha:bad,1']], 'one pipeline')
  t.strictSame(replies.map((r) => r.status === 'fulfilled' ? r.value : (r.reason as Error).message), ['hset:a,f,v', 'hgetall:b', 'WRONGTYPE'])
  t.strictSame(await Promise.all([batch.send('hset', 'c')]), ['hset:c'], 'a lone command is sent as itself')
  t.strictSame(c.lone, ['hset:c'])
  t.equal(c.pipelines.length, 1)
})

t.test('a pipeline that fails, or answers no reply, fails its commands', async (t) => {
  const failing = new Batch(client(async () => { throw new Error('connection lost') }))
  const lost = await Promise.allSettled([failing.send('hset', 'a'), failing.send('hset', 'b')])
  t.strictSame(lost.map((r) => r.status === 'rejected' && (r.reason as Error).message), ['connection lost', 'connection lost'])
  const empty = new Batch(client(async () => null))
  const none = await Promise.allSettled([empty.send('hset', 'a'), empty.send('hset', 'b')])
  t.strictSame(none.map((r) => r.status === 'rejected' && (r.reason as Error).message), ['Redis answered no reply to a pipelined command', 'Redis answered no reply to a pipelined command'])
})

t.test('a client without pipelines: each command sent as itself', async (t) => {
  const c = client()
  const batch = new Batch(c)
  const replies = await Promise.allSettled([batch.send('hset', 'a'), batch.send('hset', 'bad')])
  t.strictSame(c.lone, ['hset:a', 'hset:bad'])
  t.strictSame(replies.map((r) => r.status === 'fulfilled' ? r.value : (r.reason as Error).message), ['hset:a', 'refused'])
})
