import type { SampleConfig } from './sample-config';

/** HOST values meaning "every interface". */
const ALL_INTERFACES = new Set(['0.0.0.0', '::', '[::]', '']);

/** Start-up warnings about a configuration that works but is risky as deployed (each one line, no secret). */
export function bootWarnings(config: Pick<SampleConfig, 'mode' | 'adminToken' | 'trustProxy' | 'host'>): string[] {
  const warnings: string[] = [];
  if (config.mode === 'alipay' && !config.adminToken) {
    warnings.push("ADMIN_TOKEN is not set: the operators' page and merchant API are open to anyone who can reach them");
  }
  if (config.trustProxy !== false && ALL_INTERFACES.has(config.host)) {
    warnings.push(
      `TRUST_PROXY is set while the app listens on all interfaces (HOST=${config.host || '0.0.0.0'}): a client reaching the port directly can forge X-Forwarded-For ` +
        'and so its throttling identity; listen on the proxy-facing network only, or firewall the port',
    );
  }
  return warnings;
}
