import t from 'tap'
import { startApp, call } from './helpers.js'

t.test('smoke', async (t) => {
  const { app, login, connected, http } = await startApp(t, {
    setup: (app) => {
      app.io.on('connection', (socket) => {
        socket.on('inc', (ack: (n: number) => void) => {
          const s = socket.session as any
          s.views = (s.views ?? 0) + 1
          ack(s.views)
        })
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'inc'), 1)
  t.equal(await call(socket, 'inc'), 2)
  const data = await http('GET', '/session', cookie)
  t.equal(data.views, 2)
  t.equal(data.user, 'ada')
  void app
})
