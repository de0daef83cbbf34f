'use strict';
// bench/ws_node/server.js -- `make bench`'s WebSocket peer: the broadcast
// server a user would write on Node's most used WebSocket package, ws,
// with ws's own broadcast idiom (its README's "Server broadcast": for
// each client of wss.clients, client.send(data)).
//
// It speaks what chatd's web door speaks at GET /ws without a
// subprotocol, as far as chatbench --protocol ws uses it, so one client
// measures both: each client gets a nick (guestN) and a "Welcome" line
// first; every text message is sent to every connected client, the
// sender included, as "nick: text" in one text frame.  A plain broadcast
// server has one room, so of chatd's commands it knows only the two a
// client says once on joining: "/nick NAME" renames, and "/join #ROOM"
// is answered "*** nick joined #ROOM", to the joiner alone (chatd also
// tells the room; that happens before the measured window either way).
//
// ws's Sender.frame(), which would frame a message once for every
// recipient, is not part of ws's documented API (doc/ws.md), so it is not
// used: each send() frames the message for its client.
//
//   node server.js [PORT]     prints "listening on 127.0.0.1:PORT" to
//                             stderr once it listens (PORT 0: any)

const { WebSocket, WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  path: '/ws',
  perMessageDeflate: false,     // chatd offers no extension either
  maxPayload: 16 * 1024,        // chatd's WS_MESSAGE_MAX
});
let guests = 0;

wss.on('listening', () => {
  process.stderr.write(`listening on 127.0.0.1:${wss.address().port}\n`);
});

wss.on('error', (err) => {
  process.stderr.write(`ws_node: ${err.message}\n`);
  process.exit(1);
});

wss.on('connection', (ws) => {
  let nick = `guest${++guests}`;
  let prefix = Buffer.from(`${nick}: `);

  ws.on('error', () => {});
  ws.send(`Welcome to the ws broadcast server, ${nick}!`);
  ws.on('message', (data, isBinary) => {
    if (isBinary)
      return;
    if (data.length > 6 && data[0] === 0x2f) {         // '/'
      const line = data.toString();
      if (line.startsWith('/nick ')) {
        const old = nick;
        nick = line.slice(6).trim();
        prefix = Buffer.from(`${nick}: `);
        ws.send(`*** ${old} is now known as ${nick}`);
        return;
      }
      if (line.startsWith('/join ')) {
        ws.send(`*** ${nick} joined ${line.slice(6).trim()}`);
        return;
      }
    }
    const msg = Buffer.concat([prefix, data]);
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN)
        client.send(msg, { binary: false });
    });
  });
});

for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => process.exit(0));
