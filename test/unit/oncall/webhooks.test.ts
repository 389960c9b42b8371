import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pagerDutySignatureValid, parsePagerDutyEvent, tokenValid } from '../../../src/oncall/webhooks.js';
import { pagerDutyWebhook } from '../../support/oncall-standin.js';

const sign = (secret: string, body: string) =>
  `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('PagerDuty v3 webhook signatures', () => {
  const { body, signature } = pagerDutyWebhook('s3cret', {
    id: 'E1',
    type: 'incident.resolved',
    incident: 'PT1',
    status: 'resolved',
  });
  const raw = Buffer.from(body);

  it('accepts the HMAC-SHA256 of the raw body, also among several signatures', () => {
    expect(pagerDutySignatureValid(raw, signature, 's3cret')).toBe(true);
    expect(pagerDutySignatureValid(raw, `${sign('old-secret', body)}, ${signature}`, 's3cret')).toBe(true);
  });

  it('refuses a forged, missing or other-body signature, and an empty secret', () => {
    expect(pagerDutySignatureValid(raw, sign('guess', body), 's3cret')).toBe(false);
    expect(pagerDutySignatureValid(raw, undefined, 's3cret')).toBe(false);
    expect(pagerDutySignatureValid(Buffer.from(`${body} `), signature, 's3cret')).toBe(false);
    expect(pagerDutySignatureValid(raw, 'v1=zz', 's3cret')).toBe(false);
    expect(pagerDutySignatureValid(raw, sign('', body), '')).toBe(false);
  });

  it('reads the incident and whether it ended', () => {
    expect(parsePagerDutyEvent(raw)).toMatchObject({ id: 'E1', incidentId: 'PT1', ended: true });
    const ack = pagerDutyWebhook('s', {
      id: 'E2',
      type: 'incident.acknowledged',
      incident: 'PT1',
      status: 'acknowledged',
    });
    expect(parsePagerDutyEvent(Buffer.from(ack.body))?.ended).toBe(false);
    expect(parsePagerDutyEvent(Buffer.from('{"event":{}}'))).toBeNull();
    expect(parsePagerDutyEvent(Buffer.from('not json'))).toBeNull();
  });
});

describe('Opsgenie webhook tokens', () => {
  it('accepts only the configured token', () => {
    expect(tokenValid('tok-1', 'tok-1')).toBe(true);
    expect(tokenValid('tok-2', 'tok-1')).toBe(false);
    expect(tokenValid(undefined, 'tok-1')).toBe(false);
    expect(tokenValid('', '')).toBe(false);
  });
});
