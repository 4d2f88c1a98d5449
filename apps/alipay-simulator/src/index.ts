export { startAlipaySimulator } from './simulator';
export { TOKEN_PATH, QUERY_PATH } from './gateway-routes';
export { AUTH_PAGE_PATH, BATCH_AUTH_PAGE_PATH } from './auth-page';
export { FAULT_KINDS } from './types';
export type {
  AlipaySimulator,
  AlipaySimulatorOptions,
  AuthorizeInput,
  AuthorizeResult,
  CancelResult,
  FaultInput,
  FaultKind,
  NotifyResult,
  SimulatorAppInput,
  SimulatorAppRegistration,
  SimulatorControls,
  SimulatorStats,
} from './types';
