/**
 * The cost of log redaction (src/logger.ts): pino's redaction walks every path on every line, and
 * the gateway lists each sensitive key at four depths. Prints ns per line for a typical request
 * line and for a line carrying a nested order, with and without redaction.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLogger } from '../src/logger.js';

const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
const redacted = createLogger('info', sink());
const plain = pino({ level: 'info', base: { service: 'stockbridge' }, timestamp: pino.stdTimeFunctions.isoTime }, sink());

const requestLine = { reqId: 'a1b2c3', method: 'POST', url: '/graphql', status: 200, ms: 3.4 };
const orderLine = {
  topic: 'orders/create',
  webhookId: 'f3e1',
  order: { id: '123', customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44' }, shippingAddress: { line1: '1 Road', city: 'London' }, lines: [{ sku: 'A', quantity: 2 }] },
};

function nsPerLine(log: pino.Logger, line: object, count: number): number {
  for (let i = 0; i < 2_000; i++) log.info(line, 'warm-up');
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) log.info(line, 'measured');
  return Number(process.hrtime.bigint() - started) / count;
}

const count = 50_000;
const rows = [
  ['request line', nsPerLine(plain, requestLine, count), nsPerLine(redacted, requestLine, count)],
  ['nested order line', nsPerLine(plain, orderLine, count), nsPerLine(redacted, orderLine, count)],
] as const;
process.stdout.write(`log redaction (${count} lines each, ns per line)\n`);
process.stdout.write('| line | without redaction | with redaction | added |\n|---|---|---|---|\n');
for (const [name, without, withRedaction] of rows) {
  process.stdout.write(`| ${name} | ${Math.round(without)} | ${Math.round(withRedaction)} | ${Math.round(withRedaction - without)} |\n`);
}
