/**
 * The hub firewall from the hub setup guide, as a function of the hub's parameters: inbound is
 * dropped except WireGuard, SSH from the operator only, ICMP and replies; nothing is forwarded
 * except replies; outbound is open. Loaded with `nft -f -` inside the hub's namespace.
 */
import { TunnelgateError } from '../core/errors.js';
import { renderRuleset } from '../hub/bootstrap/nftables.js';

/** What the ruleset depends on. */
export interface HubRulesetOptions {
  /** The only source address allowed to reach sshd. */
  operatorAddress: string;
  /** WireGuard's UDP port (default 51820). */
  listenPort?: number;
  /** sshd's TCP port (default 22). */
  sshPort?: number;
}

/**
 * The ruleset text (rendered by `hub/nftables.ts`, the one renderer); starts with
 * `flush ruleset`, so loading it again replaces it. Throws INPUT_INVALID when the operator
 * address is not a dotted IPv4 address.
 */
export function renderHubRuleset(options: HubRulesetOptions): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(options.operatorAddress)) {
    throw new TunnelgateError('INPUT_INVALID', `nftables: not an IPv4 address: ${options.operatorAddress}`);
  }
  return renderRuleset({
    sshFrom: [options.operatorAddress],
    ...(options.listenPort === undefined ? {} : { listenPort: options.listenPort }),
    ...(options.sshPort === undefined ? {} : { sshPort: options.sshPort }),
  });
}
