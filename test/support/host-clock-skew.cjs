// Preloaded (`node -r`) by a worker process whose host clock must run ahead: HOST_CLOCK_SKEW_MS.
'use strict';
const skew = Number(process.env.HOST_CLOCK_SKEW_MS || 0);
if (skew) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skew;
}
