// Runs kinesalite for strangler's local stack: on 127.0.0.1 only (its own CLI listens on
// every interface), and kept up when a client drops a request half-way, which makes
// kinesalite 3.3.3 throw an uncaught "aborted" error and exit. Fault-injection tests drop
// requests on purpose, and one crash would fail every test after it.
'use strict'
const argv = require('minimist')(process.argv.slice(2))
const kinesalite = require('kinesalite')

process.on('uncaughtException', (err) => {
  console.error('kinesalite: ignored uncaught exception:', (err && err.stack) || err)
})

const host = argv.host || '127.0.0.1'
const port = argv.port || 4567
const server = kinesalite(argv).listen(port, host, () => {
  const a = server.address()
  console.log('Listening at http://%s:%s', a.address, a.port)
})
