#!/usr/bin/env node
// Runs the fake Vinted marketplace until SIGTERM/SIGINT.
//
//   node tests/fake-vinted/cli.mjs [--port N] [--proxy-port N] [--control-port N]
//                                  [--state-dir DIR] [--session-ttl-ms MS]
//
// Prints one JSON line on stdout once every listener is up (scripts wait for it):
//   {"httpsPort":..,"proxyPort":..,"controlUrl":"http://127.0.0.1:..","origin":"https://www.vinted.fr",
//    "directUrl":..,"caCertPath":..,"spkiHash":..,"stateDir":..}

import { parseArgs } from 'node:util';
import { startFakeVinted } from './server.mjs';

const USAGE = 'usage: node tests/fake-vinted/cli.mjs [--port N] [--proxy-port N] [--control-port N] [--state-dir DIR] [--session-ttl-ms MS]';

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'proxy-port': { type: 'string' },
      'control-port': { type: 'string' },
      'state-dir': { type: 'string' },
      'session-ttl-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return {
    port: integer(values.port, '--port', 65535),
    proxyPort: integer(values['proxy-port'], '--proxy-port', 65535),
    controlPort: integer(values['control-port'], '--control-port', 65535),
    sessionTtlMs: integer(values['session-ttl-ms'], '--session-ttl-ms', Number.MAX_SAFE_INTEGER),
    stateDir: values['state-dir'],
  };
}

function integer(text, flag, max) {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > max) throw new Error(`${flag} expects an integer 0..${max}, got ${JSON.stringify(text)}`);
  return value;
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`fake-vinted: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const fake = await startFakeVinted(options);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify(fake.info())}\n`);
}

main().catch((error) => {
  process.stderr.write(`fake-vinted: ${error.stack ?? error}\n`);
  process.exit(1);
});
