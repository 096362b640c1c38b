/**
 * tcpdump inside a lab namespace, for tests that look at the wire: started through the lab (so
 * cleanup stops it by PID) and returned once it says it is capturing, so nothing sent after
 * this resolves is missed.
 */
import assert from 'node:assert/strict';
import type { Lab, Tracked } from './netns.ts';

/** How long tcpdump gets to open its capture. */
const START_MS = 5_000;

export async function startTcpdump(lab: Lab, ns: string, args: string[]): Promise<Tracked> {
  const t = lab.spawn(ns, 'tcpdump', args);
  const until = Date.now() + START_MS;
  while (!t.stderr().includes('listening on') && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(t.stderr().includes('listening on'), `tcpdump did not start: ${t.stderr()}`);
  return t;
}
