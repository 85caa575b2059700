// Last-resort cleanup: whatever happens to the test process (a failed assertion, a timeout, ctest
// sending SIGTERM, Ctrl-C), no browser or host started by the tests may outlive it.
//
// Normal cleanup is World.close(); this only covers the paths where it cannot run.

import { rmSync } from 'node:fs';
import { killPids, nativeHostPids } from './host.mjs';

const groups = new Set(); // process groups (Firefox is started as its own group)
const hosts = new Map(); // db → host binary: native hosts serving a test database
const dirs = new Set(); // temporary directories to remove

let installed = false;

function reapAll() {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  for (const [db, bin] of hosts) {
    try {
      killPids(nativeHostPids({ bin, db }));
    } catch {
      // /proc unreadable: nothing more we can do.
    }
  }
  if (!process.env.STOFLOW_E2E_KEEP) {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

function install() {
  if (installed) return;
  installed = true;
  process.on('exit', reapAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      reapAll();
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[signal]);
    });
  }
}

export function trackGroup(pid) {
  install();
  groups.add(pid);
}

export function untrackGroup(pid) {
  groups.delete(pid);
}

export function trackHosts({ bin, db }) {
  install();
  hosts.set(db, bin);
}

export function untrackHosts({ db }) {
  hosts.delete(db);
}

export function trackDir(dir) {
  install();
  dirs.add(dir);
}

export function untrackDir(dir) {
  dirs.delete(dir);
}
