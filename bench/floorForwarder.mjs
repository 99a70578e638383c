// The floor: the least any HTTP→stdio MCP proxy must do. It accepts streamable HTTP JSON-RPC
// POSTs, renumbers request ids so that many clients can share one stdio upstream, pipes each line
// to the upstream and answers with plain JSON. No sessions, validation, policy or audit: what a
// proxy adds on top of this is its own cost. Prints the port it listens on, alone on stdout.
//   node bench/floorForwarder.mjs <command> [args...]
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as readline from 'node:readline';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
const waiting = new Map();
let nextId = 1;
readline.createInterface({ input: child.stdout }).on('line', (line) => {
  const message = JSON.parse(line);
  const entry = waiting.get(message.id);
  if (!entry) return;
  waiting.delete(message.id);
  message.id = entry.id;
  const body = JSON.stringify(message);
  entry.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') return void res.writeHead(405).end();
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (message.id === undefined) {
      child.stdin.write(`${JSON.stringify(message)}\n`);
      return void res.writeHead(202).end();
    }
    const id = nextId++;
    waiting.set(id, { id: message.id, res });
    message.id = id;
    child.stdin.write(`${JSON.stringify(message)}\n`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => { child.kill(); process.exit(0); });
