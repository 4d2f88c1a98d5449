import { KeyObject } from 'node:crypto';
import { certPublicKey, certSn, loadAesKey, loadPublicKey } from 'nestjs-alipay-auth/protocol';
import { SimulatorInputError } from './errors';
import type { SimulatorAppInput } from './types';

/** A registered ISV app, keys parsed once. */
export interface AppRecord {
  appId: string;
  mode: 'key' | 'certificate';
  /** A third-party (ISV) app; false for a self-developed app (token calls answer APP_NOT_ISV). */
  isv: boolean;
  publicKey: KeyObject;
  /** Certificate mode: the SN the auth string's `app_cert_sn` must carry. */
  appCertSn?: string;
  encryptKey?: Buffer;
  notifyUrl?: string;
  redirectUris?: Set<string>;
}

const APP_ID = /^[A-Za-z0-9]{1,32}$/;

function httpUrl(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new SimulatorInputError(`"${name}" must be an http(s) URL`);
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value;
  } catch {
    /* fall through */
  }
  throw new SimulatorInputError(`"${name}" must be an http(s) URL`);
}

/** Parses and checks an app registration; `certMode` says whether the simulator holds certificate material. */
export function toAppRecord(input: SimulatorAppInput, certMode: boolean): AppRecord {
  if (!input || typeof input !== 'object') throw new SimulatorInputError('app must be an object');
  if (typeof input.appId !== 'string' || !APP_ID.test(input.appId)) throw new SimulatorInputError('"appId" must be 1-32 letters or digits');
  if (!!input.publicKey === !!input.appCert) throw new SimulatorInputError('give exactly one of "publicKey" (key mode) or "appCert" (certificate mode)');
  if (input.isv !== undefined && typeof input.isv !== 'boolean') throw new SimulatorInputError('"isv" must be a boolean');
  const record: AppRecord = { appId: input.appId, mode: input.appCert ? 'certificate' : 'key', isv: input.isv ?? true } as AppRecord;
  try {
    if (input.appCert) {
      if (!certMode) throw new SimulatorInputError('"appCert" needs the simulator to be started with the "certificate" option');
      record.publicKey = certPublicKey(String(input.appCert), 'appCert');
      record.appCertSn = certSn(String(input.appCert), 'appCert');
    } else {
      record.publicKey = loadPublicKey(String(input.publicKey), 'publicKey');
    }
    if (input.encryptKey) record.encryptKey = loadAesKey(String(input.encryptKey), 'encryptKey');
  } catch (e) {
    if (e instanceof SimulatorInputError) throw e;
    throw new SimulatorInputError((e as Error).message);
  }
  if (input.notifyUrl) record.notifyUrl = httpUrl(input.notifyUrl, 'notifyUrl');
  if (input.redirectUris !== undefined) {
    if (!Array.isArray(input.redirectUris)) throw new SimulatorInputError('"redirectUris" must be an array of URLs');
    record.redirectUris = new Set(input.redirectUris.map((u, i) => httpUrl(u, `redirectUris[${i}]`)));
  }
  return record;
}
