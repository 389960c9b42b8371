/**
 * Branded identifiers that must never be mixed up (a hub name is not a peer name). Every value
 * that reaches a hub's command line passes one of these patterns first, so none of them can carry
 * shell metacharacters, whitespace or newlines.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';

/** Hub names: lower-case letters, digits and dashes, 1-32 characters, starting with a letter. */
export const HubName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'hub names are 1-32 characters: a-z, 0-9 and "-", starting with a letter')
  .brand<'HubName'>();
export type HubName = z.infer<typeof HubName>;

/** Chat user ids (Slack `U…`, Discord snowflakes, shell user names). */
export const UserId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'user ids are 1-64 characters: letters, digits, ".", "_" and "-"',
  )
  .brand<'UserId'>();
export type UserId = z.infer<typeof UserId>;

/** A device label chosen by the requester, e.g. `laptop`. */
export const DeviceName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,23}$/,
    'device names are 1-24 characters: a-z, 0-9 and "-", starting with a letter or digit',
  )
  .brand<'DeviceName'>();
export type DeviceName = z.infer<typeof DeviceName>;

/** Peer names are `<user>-<device>`, lower-cased; used in config comments and chat. */
export const PeerName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,88}$/, 'peer names are `<user>-<device>`: a-z, 0-9, ".", "_" and "-"')
  .brand<'PeerName'>();
export type PeerName = z.infer<typeof PeerName>;

/** Short, readable request ids such as `r-7k3m9q`. */
export const RequestId = z
  .string()
  .regex(/^r-[a-z0-9]{6}$/, 'request ids look like r-7k3m9q')
  .brand<'RequestId'>();
export type RequestId = z.infer<typeof RequestId>;

/** Extension request ids (`/vpn extend`), such as `x-7k3m9q`. */
export const ExtensionId = z
  .string()
  .regex(/^x-[a-z0-9]{6}$/, 'extension ids look like x-7k3m9q')
  .brand<'ExtensionId'>();
export type ExtensionId = z.infer<typeof ExtensionId>;

/** Ids of key changes waiting for leads (`/vpn rotate --pubkey` by someone but the owner): `k-7k3m9q`. */
export const KeyChangeId = z
  .string()
  .regex(/^k-[a-z0-9]{6}$/, 'key change ids look like k-7k3m9q')
  .brand<'KeyChangeId'>();
export type KeyChangeId = z.infer<typeof KeyChangeId>;

/** A hub bootstrap waiting for a lead (`tunnelgate hub bootstrap --apply`), e.g. `b-7k3m9q`. */
export const BootstrapId = z
  .string()
  .regex(/^b-[a-z0-9]{6}$/, 'bootstrap request ids look like b-7k3m9q')
  .brand<'BootstrapId'>();
export type BootstrapId = z.infer<typeof BootstrapId>;
/** Access review ids (`/vpn review`), such as `v-7k3m9q`. */
export const ReviewId = z
  .string()
  .regex(/^v-[a-z0-9]{6}$/, 'review ids look like v-7k3m9q')
  .brand<'ReviewId'>();
export type ReviewId = z.infer<typeof ReviewId>;

/**
 * What `/vpn approve` and `/vpn deny` decide: a request (`r-`), an extension (`x-`) or a key
 * change (`k-`). The prefix names the kind, so a decision goes to its store without probing.
 */
export const DecisionId = z
  .string()
  .regex(
    /^[rxk]-[a-z0-9]{6}$/,
    'ids to approve or deny look like r-7k3m9q (requests), x-… (extensions) or k-… (key changes)',
  );
export type DecisionId = z.infer<typeof DecisionId>;

const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** A short, readable id of `kind` such as `r-7k3m9q` (no 0/o, 1/l look-alikes). */
export function newId(kind: 'r' | 'x' | 'k' | 'b' | 'v'): string {
  let id = `${kind}-`;
  for (let i = 0; i < 6; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/**
 * Network interface names (Linux IFNAMSIZ: at most 15 characters). Never starting with `-`: the
 * name is an argument of wg, ip and nft, which would read it as an option.
 */
export const InterfaceName = z
  .string()
  .regex(
    /^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,14}$/,
    'interface names are 1-15 characters: letters, digits, "_" and "-", not starting with "-"',
  )
  .brand<'InterfaceName'>();
export type InterfaceName = z.infer<typeof InterfaceName>;
