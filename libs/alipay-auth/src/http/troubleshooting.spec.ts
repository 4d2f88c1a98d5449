import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFUSED_TOKEN_CODES } from '../client/alipay-openapi.client';
import { CONFIGURATION_ERROR_CODES, DEAD_REFRESH_TOKEN_CODES, FOREIGN_CREDENTIAL_CODES, GATEWAY_CONFIGURATION_CODE_PREFIXES } from '../tokens/refresh-policy';
import { troubleshootingMarkdown, TROUBLESHOOTING_CODES } from './troubleshooting';

// Jest runs from the repository root.
const page = join(process.cwd(), 'docs/troubleshooting.md');

describe('docs/troubleshooting.md', () => {
  it('has a row for every Alipay code the library classifies', () => {
    const classified = [
      ...CONFIGURATION_ERROR_CODES,
      ...GATEWAY_CONFIGURATION_CODE_PREFIXES,
      ...DEAD_REFRESH_TOKEN_CODES,
      ...FOREIGN_CREDENTIAL_CODES,
      ...REFUSED_TOKEN_CODES,
    ];
    expect(classified.filter((c) => !TROUBLESHOOTING_CODES.includes(c))).toEqual([]);
  });

  it('says what the library does from the code that decides it', () => {
    const md = troubleshootingMarkdown();
    expect(md).toMatch(/\| `invalid-signature` \|[^\n]*opens the configuration circuit/);
    expect(md).toMatch(/\| `REFRESH_TOKEN_TIME_OUT` \|[^\n]*`reauthorization_required`/);
    expect(md).toMatch(/\| `invalid-app-auth-token` \|[^\n]*resent once/);
    expect(md).toMatch(/\| `AlipayInvalidInputError` \(`field`\) \| 400 `invalid-input` \|/);
    expect(md).toMatch(/\| `AlipayStoreUnavailableError` \(`operation`, `reason`\) \| 503 `store-unavailable` \|/);
  });

  it('is the generated page (regenerate with `npm run docs:troubleshooting`)', () => {
    if (process.env.UPDATE_DOCS) writeFileSync(page, troubleshootingMarkdown());
    expect(readFileSync(page, 'utf8')).toBe(troubleshootingMarkdown());
  });
});
