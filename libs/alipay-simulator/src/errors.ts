/** An error the gateway answers in Alipay's v3 shape: HTTP status + `{ code, message, links }`. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A bad argument to the admin API or to `controls` (answered as 400 by the admin API). */
export class SimulatorInputError extends Error {}
