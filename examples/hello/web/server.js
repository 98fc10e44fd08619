// The example service. Answers with its greeting, release and instance; /healthz for probes.
// On SIGTERM it stops accepting connections and exits once in-flight requests are done.
const http = require('node:http');

const greeting = process.env.GREETING || 'hello';
const release = process.env.SLIPWAY_RELEASE || 'dev';
const instance = process.env.SLIPWAY_INSTANCE || 'local';

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${greeting} from release ${release} (instance ${instance})\n`);
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT || 3000), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port} (release ${release})`);
});

process.on('SIGTERM', () => {
  console.log('SIGTERM: finishing in-flight requests');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
