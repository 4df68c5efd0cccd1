import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../support/gateway.js';

describe('log redaction', () => {
  it('never writes credentials, tokens or customers’ personal data, however deep they sit', () => {
    const { log, lines } = createMemoryLogger();
    log.info(
      {
        email: 'top@example.com',
        order: { customer: { email: 'nested@example.com', phone: '+1 555 0100' }, shippingAddress: { line1: '1 Hidden Road' }, shipping_address: { address1: '2 Hidden Road' } },
        delivery: { body: { customer: { first_name: 'Deep' } }, billing_address: { address1: '3 Hidden Road' } },
        a: { b: { c: { email: 'three.levels@example.com', first_name: 'Three', last_name: 'Levels' } } },
        req: { headers: { authorization: 'Bearer sbk_secret', 'x-shopify-hmac-sha256': 'hmac-value', 'x-shopify-access-token': 'shpat_secret' } },
        shopify: { accessToken: 'shpat_other', refresh_token: 'refresh-secret' },
        config: { shopify: { apiSecret: 'app-secret' }, erp: { password: 'erp-password' }, metrics: { token: 'metrics-token' }, webhookSecretPrevious: 'old-secret' },
        sku: 'STAYS-VISIBLE',
      },
      'a line with everything',
    );
    const written = JSON.stringify(lines());
    for (const secret of [
      'top@example.com',
      'nested@example.com',
      '+1 555 0100',
      'Hidden Road',
      'Deep',
      'three.levels@example.com',
      'Levels',
      'sbk_secret',
      'hmac-value',
      'shpat_',
      'refresh-secret',
      'app-secret',
      'erp-password',
      'metrics-token',
      'old-secret',
    ]) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain('STAYS-VISIBLE');
  });

  it('scrubs the details of a logged error, and keeps its message and stack', () => {
    const { log, lines } = createMemoryLogger();
    const error = Object.assign(new Error('the ERP refused the order'), { details: { customer: { email: 'in.details@example.com' }, sku: 'SKU-9' } });
    log.error({ err: error }, 'failed');
    const [line] = lines();
    const written = JSON.stringify(line);
    expect(written).not.toContain('in.details@example.com');
    expect(line).toMatchObject({ err: { message: 'the ERP refused the order', details: { sku: 'SKU-9', customer: '[redacted]' } } });
    expect(written).toContain('the ERP refused the order');
    expect(written).toContain('[redacted]');
  });
});
