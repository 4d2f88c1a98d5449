import { Logger } from '@nestjs/common';
import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayApiError } from '../errors/alipay-auth.errors';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import { AlipayConfigurationCircuit, FOREIGN_ROWS_TO_OPEN } from './configuration-circuit';

const foreign = (code = 'APP_ID_NOT_CONSISTENT') => new AlipayApiError({ status: 400, code, message: 'not this app', traceId: 't1' });

describe('AlipayConfigurationCircuit: foreign credentials', () => {
  let circuit: AlipayConfigurationCircuit;
  let emitted: Array<[string, unknown]>;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(() => {
    emitted = [];
    const events = { emit: (name: string, payload: unknown) => emitted.push([name, payload]) } as unknown as AlipayAuthEventPublisher;
    circuit = new AlipayConfigurationCircuit({ appId: '2021004100000001', clock: () => 1_000 } as ResolvedAlipayAuthConfig, events);
  });

  /** One successful Alipay call, with its ticket taken before it as the refresher does. */
  const success = () => circuit.succeeded(circuit.ticket());
  const answer = (authAppId: string, code?: string) => {
    circuit.ticket();
    return circuit.foreignCredential(foreign(code), authAppId);
  };

  it('opens after 3 distinct rows', () => expect(FOREIGN_ROWS_TO_OPEN).toBe(3));

  it('one bad row among successes never opens it', () => {
    for (let run = 0; run < 10; run++) {
      success();
      expect(answer('2021007700000001')).toBe(false);
      success();
    }
    expect(circuit.isOpen).toBe(false);
    expect(emitted).toEqual([]);
  });

  it('three distinct rows in a row open it (our app id is wrong), with the event', () => {
    expect(answer('2021007700000001')).toBe(false);
    expect(answer('2021007700000002', 'AUTH_TOKEN_NOT_CONSISTENT')).toBe(false);
    expect(answer('2021007700000003')).toBe(true);
    expect(circuit.state).toMatchObject({ open: true, errorCode: 'APP_ID_NOT_CONSISTENT', traceId: 't1', since: new Date(1_000) });
    expect(emitted).toEqual([
      [AlipayAuthEvent.ConfigurationError, expect.objectContaining({ errorCode: 'APP_ID_NOT_CONSISTENT', authAppId: '2021007700000003' })],
    ]);
    // Open already: every later row is left alone too.
    expect(answer('2021007700000001')).toBe(true);
  });

  it('the same row three times does not', () => {
    for (let i = 0; i < 5; i++) expect(answer('2021007700000001')).toBe(false);
    expect(answer('2021007700000002')).toBe(false);
    expect(circuit.isOpen).toBe(false);
  });

  it('a success in between resets the count', () => {
    expect(answer('2021007700000001')).toBe(false);
    expect(answer('2021007700000002')).toBe(false);
    success();
    expect(answer('2021007700000003')).toBe(false);
    expect(answer('2021007700000004')).toBe(false);
    expect(circuit.isOpen).toBe(false);
    expect(answer('2021007700000005')).toBe(true);
  });

  it('a success started before it opened does not close it; a later one does, and the count starts again', () => {
    const inFlight = circuit.ticket();
    for (const id of ['2021007700000001', '2021007700000002', '2021007700000003']) answer(id);
    circuit.succeeded(inFlight);
    expect(circuit.isOpen).toBe(true);
    success();
    expect(circuit.isOpen).toBe(false);
    expect(answer('2021007700000001')).toBe(false);
    expect(answer('2021007700000002')).toBe(false);
  });

  it('finds the circuit open for another reason: the row is not to blame', () => {
    circuit.open(new AlipayApiError({ status: 401, code: 'invalid-signature', message: 'bad' }));
    expect(answer('2021007700000001')).toBe(true);
    expect(circuit.state.errorCode).toBe('invalid-signature');
  });

  it('remembers the latest rows for the health check, bounded', () => {
    for (let i = 1; i <= 25; i++) {
      answer(`20210077000000${String(i).padStart(2, '0')}`);
      success();
    }
    const rows = circuit.foreignCredentialRows;
    expect(rows.size).toBe(20);
    expect([...rows.keys()].at(-1)).toBe('2021007700000025');
    expect(rows.has('2021007700000001')).toBe(false);
  });
});
