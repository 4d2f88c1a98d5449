export { startAlipaySimulator } from './simulator';
// Alipay's routes, defined by the protocol; re-exported for `controls.addFault({ route })` and page links.
export { TOKEN_PATH, QUERY_PATH, TRADE_QUERY_PATH, IMAGE_UPLOAD_PATH, AUTH_PAGE_PATH, BATCH_AUTH_PAGE_PATH, TASK_PAGE_PATH } from 'nestjs-alipay-auth/protocol';
export { DEFAULT_BEHAVIOUR } from './behaviour';
export { TASK_LAUNCH_PATH } from './task-page';
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
