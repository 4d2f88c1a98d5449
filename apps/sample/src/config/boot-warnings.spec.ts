import { bootWarnings } from './boot-warnings';

describe('bootWarnings', () => {
  const base = { mode: 'alipay' as const, adminToken: 'x'.repeat(24), trustProxy: false as boolean | number | string, host: '0.0.0.0' };

  it('warns when TRUST_PROXY is set and the app listens on all interfaces', () => {
    expect(bootWarnings({ ...base, trustProxy: 1 })).toEqual([
      expect.stringMatching(/^TRUST_PROXY is set while the app listens on all interfaces \(HOST=0\.0\.0\.0\)/),
    ]);
    expect(bootWarnings({ ...base, trustProxy: '10.0.0.0/8', host: '::' })).toHaveLength(1);
  });

  it('stays quiet behind a proxy on one interface, or without TRUST_PROXY', () => {
    expect(bootWarnings({ ...base, trustProxy: 1, host: '10.0.3.7' })).toEqual([]);
    expect(bootWarnings(base)).toEqual([]);
  });

  it('warns when the operator routes are open in alipay mode', () => {
    expect(bootWarnings({ ...base, adminToken: undefined })).toEqual([expect.stringContaining('ADMIN_TOKEN is not set')]);
    expect(bootWarnings({ ...base, adminToken: undefined, mode: 'simulation' })).toEqual([]);
  });
});
