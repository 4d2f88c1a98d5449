export { startAlipaySimulator } from './simulator';
export { TOKEN_PATH, QUERY_PATH, TRADE_QUERY_PATH } from './gateway-routes';
export { AUTH_PAGE_PATH, BATCH_AUTH_PAGE_PATH } from './auth-page';
export { DEFAULT_BEHAVIOUR } from './behaviour';
export { FAULT_KINDS } from './types';
export type {
  AlipaySimulator,
  AlipaySimulatorOptions,
  AuthNotifyInput,
  AuthNotifyResult,
  AuthorizeInput,
  AuthorizeResult,
  CancelResult,
  FaultInput,
  FaultKind,
  NotificationRecord,
  NotifyAttempt,
  NotifyResult,
  SimulatorAppInput,
  SimulatorAppRegistration,
  SimulatorBehaviour,
  SimulatorControls,
  SimulatorStats,
} from './types';
