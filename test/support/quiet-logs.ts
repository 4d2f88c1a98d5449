/**
 * Loaded before every spec (jest.config.js, setupFilesAfterEnv). Suites provoke failures on purpose (a
 * refused refresh, a dropped connection, a forged notification), and the library logs each one at WARN or
 * ERROR as it should: in a test run those lines are expected and only hide a real failure's report. They
 * are silenced here; `ALIPAY_TEST_LOGS=1 npm test -- <path>` shows them. A spec that asserts on a log line
 * spies on `Logger.prototype`, which still sees every call.
 */
import { Logger } from '@nestjs/common';
import { TestingModuleBuilder } from '@nestjs/testing';

if (!process.env.ALIPAY_TEST_LOGS) {
  Logger.overrideLogger(false);
  // `Test.createTestingModule(...).compile()` installs Nest's TestingLogger, which prints errors: keep it
  // quiet too, unless the spec chose a logger of its own (`setLogger`).
  const builder = TestingModuleBuilder.prototype as unknown as { applyLogger(this: { testingLogger?: unknown }): void };
  const applyLogger = builder.applyLogger;
  builder.applyLogger = function (this: { testingLogger?: unknown }) {
    if (this.testingLogger) applyLogger.call(this);
    else Logger.overrideLogger(false);
  };
}
