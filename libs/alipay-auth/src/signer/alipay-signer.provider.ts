import { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipaySigner } from './alipay-signer';
import { RsaAlipaySigner } from './rsa-alipay-signer';

/** The built-in signer, or the one named by the `signer` option. */
export const alipaySignerProvider: Provider = {
  provide: AlipaySigner,
  inject: [ALIPAY_AUTH_CONFIG, ModuleRef],
  useFactory: async (config: ResolvedAlipayAuthConfig, moduleRef: ModuleRef): Promise<AlipaySigner> => {
    const custom = config.signer;
    if (!custom) return RsaAlipaySigner.fromConfig(config);
    if (custom instanceof AlipaySigner) return custom;
    if (typeof custom === 'function') return moduleRef.create(custom);
    return custom.useFactory(config);
  },
};
