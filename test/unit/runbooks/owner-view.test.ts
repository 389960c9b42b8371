import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HubName, PeerName } from '../../../src/core/ids.js';
import { renderDiagnosis } from '../../../src/domain/render-diagnosis.js';
import { runPlaybook } from '../../../src/runbooks/playbook.js';
import { facts, probedPeer } from './fixtures.js';

const STATES = readdirSync(join(import.meta.dirname, '../../fixtures/runbooks'), {
  withFileTypes: true,
})
  .filter((d) => d.isDirectory() && !['holes', 'programs', 'ssh-open'].includes(d.name))
  .map((d) => d.name);

function text(state: string, mode: 'split' | 'full', view: 'owner' | 'full'): string {
  const peer = probedPeer(state, mode);
  const f = facts(state, peer);
  const steps = runPlaybook(f, { type: 'peer', peer, view }, [peer]);
  return renderDiagnosis({
    hub: HubName.parse('hub1'),
    target: { type: 'peer', peer: PeerName.parse('lab-peer') },
    at: 'now',
    steps,
  });
}

describe("an owner's diagnosis of their own peer on captured hub states", () => {
  it.each(STATES.flatMap((s) => [[s, 'split'] as const, [s, 'full'] as const]))(
    '%s (%s tunnel): shows no process ids, firewall rule text or other clients’ flows, with the same verdicts as a lead',
    (state, mode) => {
      const peer = probedPeer(state, mode);
      const f = facts(state, peer);
      const owner = text(state, mode, 'owner');
      expect(owner).not.toMatch(/pid=\d+/);
      for (const chain of f.ruleset?.chains.values() ?? [])
        for (const rule of chain.rules) expect(owner).not.toContain(rule.text);
      for (const flow of f.flows) expect(owner).not.toContain(flow.line);
      for (const p of f.dump?.peers ?? [])
        if (p.publicKey !== peer.publicKey) expect(owner).not.toContain(p.publicKey);
      const verdicts = (t: string) =>
        t
          .split('\n')
          .slice(1, 6)
          .map((l) => l.split(' ')[0]);
      expect(verdicts(owner)).toEqual(verdicts(text(state, mode, 'full')));
    },
  );

  it('a lead’s diagnosis of the same state does carry the rule text, process ids and flows', () => {
    const full = text('udp-blocked', 'split', 'full');
    expect(full).toMatch(/inet filter input: .*reject/);
    expect(text('healthy', 'split', 'full')).toMatch(/pid=\d+/);
    expect(text('wrong-hub-key', 'split', 'full')).toContain('packets arrive, unanswered: ipv4');
  });
});
