import { describe, expect, it } from 'vitest';
import type { HubFacts } from '../../../src/hub/facts/facts.js';
import { type KnownPeer, runPlaybook } from '../../../src/runbooks/playbook.js';
import { facts, probedPeer } from './fixtures.js';

/**
 * The healthy capture seen 202 s after the probed peer's last handshake, with the hub's ping to
 * the peer unanswered: a client that did connect and then went quiet behind a NAT.
 */
function staleFacts(peer: KnownPeer): HubFacts {
  const base = facts('healthy', peer);
  const live = base.dump?.peers.find((p) => p.publicKey === peer.publicKey);
  if (live?.latestHandshake == null) throw new Error('the healthy capture has no handshake for the peer');
  const pings = new Map(base.pings);
  pings.set(peer.publicKey, { ok: false, line: '2 packets transmitted, 0 received, 100% packet loss' });
  return { ...base, nowSec: live.latestHandshake + 202, pings };
}

function handshakeStep(peer: KnownPeer, state: HubFacts) {
  return runPlaybook(state, { type: 'peer', peer, view: 'full' }, [peer])[1];
}

describe('a stale handshake in the diagnosis playbook', () => {
  it('names mistake 6 with the client-side keepalive fix when the delivered keepalive is unknown', () => {
    const peer = probedPeer('healthy');
    const step = handshakeStep(peer, staleFacts(peer));
    expect(step?.verdict).toBe('fail');
    const [f] = step?.findings ?? [];
    expect(f?.check).toBe('handshake-stale');
    expect(f?.title).toMatch(/latest handshake is 202s old/);
    expect(f?.cause).toContain('common mistake 6');
    expect(f?.cause).not.toContain('mistake 1');
    expect(f?.fix).toContain('PersistentKeepalive = 25');
    expect(f?.fix).toContain('not on the hub');
    expect(f?.fix).not.toContain('Endpoint');
    expect(f?.evidence.join('\n')).toContain('the keepalive of the client config is unknown');
  });

  it('says when and from where the last handshake came, with the bytes both ways', () => {
    const peer = probedPeer('healthy');
    const state = staleFacts(peer);
    const live = state.dump?.peers.find((p) => p.publicKey === peer.publicKey);
    const at = new Date((live?.latestHandshake ?? 0) * 1000).toISOString();
    const evidence = handshakeStep(peer, state)?.findings[0]?.evidence.join('\n') ?? '';
    expect(evidence).toContain(
      `last handshake 202s ago (${at}) from ${live?.endpoint}, ${live?.transferRx} bytes received and ${live?.transferTx} sent`,
    );
    expect(evidence).toContain('got no answer, the way back to the client is closed');
  });

  it('names mistake 6 when the delivered config set no keepalive', () => {
    const peer = { ...probedPeer('healthy'), clientKeepalive: 0 };
    const f = handshakeStep(peer, staleFacts(peer))?.findings[0];
    expect(f?.cause).toContain('common mistake 6');
    expect(f?.evidence.join('\n')).toContain('the client config the bot delivered sets no keepalive');
  });

  it('says the client went away, not a NAT timeout, when the delivered config keeps a keepalive of 25', () => {
    const peer = { ...probedPeer('healthy'), clientKeepalive: 25 };
    const f = handshakeStep(peer, staleFacts(peer))?.findings[0];
    expect(f?.check).toBe('handshake-stale');
    expect(f?.cause).toContain('off, asleep or offline');
    expect(f?.cause).toContain('only if that line was removed');
    expect(f?.fix).toContain('still has PersistentKeepalive = 25');
  });

  it('keeps a peer that never handshook on mistake 1 or the keys, not mistake 6', () => {
    const peer = probedPeer('wrong-hub-key');
    const f = runPlaybook(facts('wrong-hub-key', peer), { type: 'peer', peer, view: 'full' }, [peer])[1]
      ?.findings[0];
    expect(f?.check).toBe('no-handshake');
    expect(f?.title).toContain('never completed a handshake');
    expect(f?.cause).not.toContain('mistake 6');
  });
});
