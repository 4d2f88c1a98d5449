// The Alipay simulator package, reached through this file only: simulation mode imports it lazily, so the
// Alipay path never loads the simulator (and a build rewrites a static import's package name, not a dynamic one's).
export { startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
